/**
 * Runs whose reader has stopped reading, as `kms-rotate … | head -1` leaves them: stdout is a
 * pipe with nobody at the other end. Nothing is cut short, no trace is printed, and the exit
 * code is the one the run would have had.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {cliEnvironment, startCli, type CliResult} from '../support/cli.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
let journal: string

beforeEach(() => {
  journal = join(mkdtempSync(join(tmpdir(), 'kms-rotate-closed-stdout-')), 'journal.jsonl')
})

afterEach(() => {
  rmSync(join(journal, '..'), {recursive: true, force: true})
})

/** The CLI with the reading end of its stdout closed before it writes anything. */
function runIntoClosedPipe(args: string[], env: NodeJS.ProcessEnv = cliEnvironment()): Promise<CliResult> {
  const started = startCli(args, env)
  started.child.stdout?.destroy()
  return started.finished
}

describe('a run whose stdout reader has gone', () => {
  it.each([
    ['--version', ['--version'], {}],
    ['help from the pages built with the package', ['update-alias', '--help'], {}],
    ['help rendered by oclif', ['update-alias', '--help'], {OCLIF_COLUMNS: '100'}],
    ['the root help rendered by oclif', ['--help'], {OCLIF_COLUMNS: '100'}],
  ])('%s exits 0 without a word on stderr', async (_, args, extra) => {
    const run = await runIntoClosedPipe(args, {...cliEnvironment(), ...extra})

    expect(run.stderr).toBe('')
    expect(run.exitCode).toBe(0)
  })

  it('still rotates and exits with the outcome: the report it could not print stops nothing', async () => {
    // given an alias and a matching target
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when the rotation's report goes to a closed pipe
    const run = await runIntoClosedPipe([
      'update-alias',
      ...['--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', motoUrl],
      ...['--yes', '--output', 'json', '--journal', journal],
    ])

    // then the alias moved, the outcome's exit code stands, and no trace reached stderr
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    expect(run.exitCode).toBe(0)
    expect(run.stderr).not.toMatch(/EPIPE|at .*:\d+:\d+/)
  })

  it('still exits with a refusal’s code when the refused report cannot be printed', async () => {
    // given an alias and a target of another KeyUsage
    const given = await aliasAndTarget(kms, SYMMETRIC, {keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY'})

    // when
    const run = await runIntoClosedPipe([
      'update-alias',
      ...['--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', motoUrl],
      ...['--yes', '--output', 'json', '--journal', journal],
    ])

    // then refused, exit 3, and the alias stayed
    expect(run.exitCode).toBe(3)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})
