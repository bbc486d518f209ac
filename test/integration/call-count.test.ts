/**
 * Which calls a rotation makes, counted at the fault proxy in front of moto: --preflight basic
 * with --no-canary makes the four a hand-written runbook would, and the default keeps every
 * safety read and the caller identity for the journal.
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import type {JournalEntry} from '../../src/lib/journal.js'
import type {RotationReport} from '../../src/lib/report.js'
import {runCli} from '../support/cli.js'
import {MOTO_ACCOUNT, startKmsFaultProxy, type KmsFaultProxy} from '../support/kms-fault-proxy.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
let proxy: KmsFaultProxy
let directory: string

beforeAll(async () => {
  proxy = await startKmsFaultProxy(motoUrl)
})

beforeEach(() => {
  proxy.reset()
  directory = mkdtempSync(join(tmpdir(), 'kms-rotate-call-count-'))
})

afterEach(() => {
  rmSync(directory, {recursive: true, force: true})
})

afterAll(async () => {
  await proxy.close()
})

async function rotate(...more: string[]) {
  const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
  const journal = join(directory, 'journal.jsonl')
  const run = await runCli([
    'update-alias',
    ...['--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', proxy.url],
    ...['--yes', '--output', 'json', '--journal', journal, ...more],
  ])
  const lines = readFileSync(journal, 'utf8').trim().split('\n')
  return {
    given,
    run,
    report: JSON.parse(run.stdout) as RotationReport,
    entry: JSON.parse(lines.at(-1) as string) as JournalEntry,
    operations: proxy.requests.map((call) => call.operation).sort(),
  }
}

describe('calls made per rotation', () => {
  it('--preflight basic --no-canary: DescribeKey twice, UpdateAlias and one ListAliases, nothing else', async () => {
    // given an alias on one key and a matching target, with the move visible at once
    // when the alias is rotated in the lean mode
    const {given, run, report, entry, operations} = await rotate('--preflight', 'basic', '--no-canary')
    // then it is rotated after exactly four calls
    expect(run.exitCode).toBe(0)
    expect(report.outcome).toBe('rotated')
    expect(operations).toEqual(['DescribeKey', 'DescribeKey', 'ListAliases', 'UpdateAlias'])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    // and the journal line is written, its identity not asked and its account from the key ARN
    expect(entry.outcome).toBe('rotated')
    expect(entry.identity).toMatchObject({arn: null, error: expect.stringContaining('--preflight basic')})
    expect(entry.account).toBe(MOTO_ACCOUNT)
  })

  it('the default: every safety read, the canary and GetCallerIdentity besides the four', async () => {
    // given the same alias and target
    // when the alias is rotated with the default flags
    const {run, report, entry, operations} = await rotate()
    // then the preflight read policies, grants and the new key's aliases, and the journal has the caller
    expect(run.exitCode).toBe(0)
    expect(report.outcome).toBe('rotated')
    expect(operations).toEqual([
      'Decrypt',
      'DescribeKey',
      'DescribeKey',
      'Encrypt',
      'GetCallerIdentity',
      'GetKeyPolicy',
      'GetKeyPolicy',
      'ListAliases',
      'ListAliases',
      'ListGrants',
      'ListGrants',
      'UpdateAlias',
    ])
    expect(entry.identity.error).toBeNull()
    expect(entry.identity.account).toBe(MOTO_ACCOUNT)
  })
})
