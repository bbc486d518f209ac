/**
 * `--help` at 80 columns is printed from pages that oclif rendered when the package was built;
 * it must read exactly as oclif prints it now, for every command and the root.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ROOT_HELP_PAGE} from '../../src/lib/help-pages.js'
import {cliEnvironment, runCli} from '../support/cli.js'
import {REPO_ROOT} from '../support/moto.js'

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, unknown>
}
const commandIds = Object.keys(manifest.commands)

/** The same request answered by oclif itself: OCLIF_COLUMNS keeps bin/run.js from using a page. */
function throughOclif(columns: number): NodeJS.ProcessEnv {
  return {...cliEnvironment(), OCLIF_COLUMNS: String(columns)}
}

describe('help pages rendered at build time', () => {
  it('has a page for the root and for every command of the manifest', () => {
    for (const name of [ROOT_HELP_PAGE, ...commandIds]) {
      expect(existsSync(join(REPO_ROOT, 'dist', 'help', `${name}.txt`)), name).toBe(true)
    }
  })

  it.each([[[] as string[]], ...commandIds.map((id) => [[id]])])(
    '%s --help prints what oclif prints at 80 columns, and exits 0',
    async (words) => {
      // given stdout that is not a terminal, so that oclif would wrap to 80 columns
      // when
      const fromPage = await runCli([...words, '--help'])
      const fromOclif = await runCli([...words, '--help'], throughOclif(80))
      // then
      expect(fromPage.exitCode).toBe(0)
      expect(fromOclif.exitCode).toBe(0)
      expect(fromPage.stderr).toBe('')
      expect(fromPage.stdout).toBe(fromOclif.stdout)
      expect(fromPage.stdout).toContain('USAGE')
    },
  )

  it('help update-alias prints the same page as update-alias --help', async () => {
    const viaHelp = await runCli(['help', 'update-alias'])
    const viaFlag = await runCli(['update-alias', '--help'])
    expect(viaHelp.exitCode).toBe(0)
    expect(viaHelp.stdout).toBe(viaFlag.stdout)
  })

  it('-h before any command prints the root page, as --help does', async () => {
    const short = await runCli(['-h'])
    const long = await runCli(['--help'])
    expect(short.exitCode).toBe(0)
    expect(short.stdout).toBe(long.stdout)
    expect(short.stdout).toContain('USAGE')
  })

  it('leaves another width to oclif, which wraps to it', async () => {
    const wide = await runCli(['update-alias', '--help'], throughOclif(120))
    const page = await runCli(['update-alias', '--help'])
    expect(wide.exitCode).toBe(0)
    expect(wide.stdout).not.toBe(page.stdout)
    expect(Math.max(...wide.stdout.split('\n').map((line) => line.length))).toBeGreaterThan(80)
  })

  it('leaves an unknown command to oclif, which names it as a usage error', async () => {
    const run = await runCli(['rotate-everything', '--help'])
    expect(run.stdout).toBe('')
    expect(run.exitCode).not.toBe(0)
  })
})
