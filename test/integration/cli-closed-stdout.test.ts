/**
 * Runs whose output cannot be written: a reader that stopped reading, as `kms-rotate … | head -1`
 * leaves stdout or stderr, and a stdout on a full device. Nothing is cut short, no trace is
 * printed, and the exit code is the one the run would have had.
 */
import {spawn} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {cliEnvironment, startCli, type CliResult} from '../support/cli.js'
import {REPO_ROOT} from '../support/moto.js'
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

/** The CLI with the reading end of its stdout (or of both streams) closed before it writes. */
function runIntoClosedPipe(
  args: string[],
  env: NodeJS.ProcessEnv = cliEnvironment(),
  {stderrToo = false} = {},
): Promise<CliResult> {
  const started = startCli(args, env)
  started.child.stdout?.destroy()
  if (stderrToo) started.child.stderr?.destroy()
  return started.finished
}

/** The CLI with its stdout on /dev/full, where every write fails with ENOSPC. */
function runIntoFullDevice(args: string[]): Promise<{exitCode: number | null; stderr: string}> {
  const full = openSync('/dev/full', 'w')
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], {
    env: cliEnvironment(),
    stdio: ['ignore', full, 'pipe'],
  })
  closeSync(full)
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve) => child.once('close', (exitCode) => resolve({exitCode, stderr})))
}

function rotationArgs(target: string): string[] {
  return [
    'update-alias',
    ...['--alias-name', ALIAS, '--target-key-id', target, '--endpoint-url', motoUrl],
    ...['--yes', '--output', 'json', '--journal', journal],
  ]
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
    const run = await runIntoClosedPipe(rotationArgs(given.target))

    // then the alias moved, the outcome's exit code stands, and no trace reached stderr
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    expect(run.exitCode).toBe(0)
    expect(run.stderr).not.toMatch(/EPIPE|at .*:\d+:\d+/)
  })

  it('still exits with a refusal’s code when the refused report cannot be printed', async () => {
    // given an alias and a target of another KeyUsage
    const given = await aliasAndTarget(kms, SYMMETRIC, {keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY'})

    // when
    const run = await runIntoClosedPipe(rotationArgs(given.target))

    // then refused, exit 3, and the alias stayed
    expect(run.exitCode).toBe(3)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it.each([
    ['an unknown command', ['nosuch'], 252],
    ['a missing alias', ['update-alias', '--alias-name', 'alias/none', '--target-key-id', '1234abcd-12ab-34cd-56ef-1234567890ab'], 254],
  ])('keeps the exit code of %s when stderr is closed too', async (_, args, exitCode) => {
    const run = await runIntoClosedPipe([...args, '--endpoint-url', motoUrl, '--journal', journal], cliEnvironment(), {
      stderrToo: true,
    })
    expect(run.exitCode).toBe(exitCode)
  })
})

describe('a run whose stdout is a full device', () => {
  it('rotates, says once on stderr that the report was not written, and keeps the outcome’s exit code', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await runIntoFullDevice(rotationArgs(given.target))

    // then
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe("kms-rotate: stdout could not be written (ENOSPC); what went there is lost.\n")
  })

  it('says nothing when the run writes nothing there (--output off)', async () => {
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const run = await runIntoFullDevice([...rotationArgs(given.target), '--output', 'off'])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe('')
  })

  it('says the same for --version, exit 0', async () => {
    const run = await runIntoFullDevice(['--version'])
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe("kms-rotate: stdout could not be written (ENOSPC); what went there is lost.\n")
  })
})
