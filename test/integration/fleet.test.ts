/**
 * plan and apply of rotation files against moto behind the fault proxy, which throttles at the
 * KMS request quotas per account and Region and records every call.
 */
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {OUTCOMES} from '../../src/lib/outcomes.js'
import {MAX_ROTATION_ENTRIES} from '../../src/lib/rotation-file.js'
import {cliEnvironment, runCli, runOnTerminal, startCli} from '../support/cli.js'
import {createFleet, destroyFleet, entriesOffTarget, writeRotationFile, type Fleet} from '../support/fleet.js'
import {startKmsFaultProxy, type KmsCall, type KmsFaultProxy} from '../support/kms-fault-proxy.js'
import {useMoto} from '../support/moto-per-test.js'
import {parseFleetReport} from '../support/report-schema.js'
import {OTHER_REGION} from '../support/scenarios.js'

const {motoUrl} = useMoto()
let proxy: KmsFaultProxy
let fleet: Fleet | undefined

beforeAll(async () => {
  proxy = await startKmsFaultProxy(motoUrl)
})

beforeEach(() => {
  proxy.reset()
})

afterEach(() => {
  if (fleet) {
    destroyFleet(fleet)
    rmSync(fleet.directory, {recursive: true, force: true})
  }

  fleet = undefined
})

afterAll(async () => {
  await proxy.close()
})

function journalOf(current: Fleet): string {
  return join(current.directory, 'journal.jsonl')
}

function applyArgs(current: Fleet, ...more: string[]): string[] {
  return ['apply', '-f', current.file, '--yes', '--output', 'json', '--endpoint-url', proxy.url, '--journal', journalOf(current), ...more]
}

function throttled(): KmsCall[] {
  return proxy.requests.filter((call) => call.handling === 'throttled')
}

/** The most UpdateAlias calls that arrived within any one second, per Region. */
function busiestSecond(calls: KmsCall[]): number {
  let most = 0
  for (const [index, call] of calls.entries()) {
    const within = calls.slice(index).filter((later) => later.region === call.region && later.at - call.at < 1000)
    most = Math.max(most, within.length)
  }

  return most
}

describe('apply', () => {
  it('moves 200 aliases across 2 Regions to their targets with no ThrottlingException reaching the client', async () => {
    // given 100 aliases in each of two Regions, and an UpdateAlias quota raised to 40 per second
    fleet = await createFleet(motoUrl, ['us-east-1', OTHER_REGION], 100)
    proxy.throttle('UpdateAlias', {perSecond: 40})
    // when
    const run = await runCli(applyArgs(fleet, '--rate', 'UpdateAlias=40'))
    // then
    expect(run.exitCode).toBe(0)
    const report = parseFleetReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.totals.outcomes).toEqual({rotated: 200})
    expect(await entriesOffTarget(fleet)).toEqual([])
    expect(throttled()).toEqual([])
    expect(proxy.callsTo('UpdateAlias')).toHaveLength(200)
    const lines = readFileSync(journalOf(fleet), 'utf8').trim().split('\n').map((line) => JSON.parse(line))
    expect(lines).toHaveLength(200)
    expect(new Set(lines.map((line) => line.run.id))).toEqual(new Set([report.runId]))
    expect(lines.every((line) => line.command === 'apply' && line.outcome === 'rotated')).toBe(true)
  }, 60_000)

  it('sends no more UpdateAlias in any one second than --rate allows, at the quota of 5 per second', async () => {
    // given 12 aliases and the proxy at the published UpdateAlias quota
    fleet = await createFleet(motoUrl, ['us-east-1'], 12)
    // when
    const run = await runCli(applyArgs(fleet, '--rate', 'UpdateAlias=3', '--no-canary'))
    // then
    expect(run.exitCode).toBe(0)
    const updates = proxy.callsTo('UpdateAlias')
    expect(updates).toHaveLength(12)
    // One more than the rate allows for timers that fire a little early.
    expect(busiestSecond(updates)).toBeLessThanOrEqual(4)
    expect(throttled()).toEqual([])
  })

  it('resumes after a SIGKILL without a second UpdateAlias for any alias, and ends with all on target', async () => {
    // given 30 aliases, and a run killed once 10 UpdateAlias calls have reached the server
    fleet = await createFleet(motoUrl, ['us-east-1'], 30)
    proxy.throttle('UpdateAlias', {perSecond: 10})
    const first = startCli(applyArgs(fleet, '--rate', 'UpdateAlias=10'), cliEnvironment())
    while (proxy.callsTo('UpdateAlias').length < 10) await sleep(20)
    first.child.kill('SIGKILL')
    await first.finished
    const sentBefore = proxy.callsTo('UpdateAlias').length
    expect(sentBefore).toBeLessThan(30)
    // when
    const run = await runCli(applyArgs(fleet, '--rate', 'UpdateAlias=10', '--resume'))
    // then
    expect(run.exitCode).toBe(0)
    const report = parseFleetReport(run.stdout)
    const aliases = proxy.callsTo('UpdateAlias').map((call) => call.input.AliasName)
    expect(aliases).toHaveLength(new Set(aliases).size)
    expect(aliases).toHaveLength(30)
    expect(report.totals.updateAliasSent).toBe(30 - sentBefore)
    expect(await entriesOffTarget(fleet)).toEqual([])
  })

  it('ends partial, exit 6, with one stderr line for the refused entry, when the others rotate', async () => {
    // given three aliases, one of them on a target key that is disabled
    fleet = await createFleet(motoUrl, ['us-east-1'], 2)
    const kms = fleet.clients.get('us-east-1')
    const disabled = await kms!.createKey()
    await kms!.createAlias('alias/refused', fleet.entries[0].currentKeyId)
    await kms!.disableKey(disabled.KeyId)
    writeRotationFile(fleet.file, [...fleet.entries, {alias: 'alias/refused', region: 'us-east-1', targetKeyId: disabled.KeyId}])
    // when
    const run = await runCli(applyArgs(fleet, '--no-canary'))
    // then
    expect(run.exitCode).toBe(OUTCOMES.partial.exitCode)
    const report = parseFleetReport(run.stdout)
    expect(report.totals.outcomes).toEqual({rotated: 2, refused: 1})
    expect(run.stderr).toMatch(/^entry 3 \(alias\/refused in us-east-1\): refused: /m)
    expect(proxy.callsTo('UpdateAlias').map((call) => call.input.AliasName)).not.toContain('alias/refused')
  })

  it('with --fail-fast sends no UpdateAlias after an entry is refused', async () => {
    // given a refused entry first, then five that would rotate, with one UpdateAlias a second
    fleet = await createFleet(motoUrl, ['us-east-1'], 5)
    const kms = fleet.clients.get('us-east-1')
    const disabled = await kms!.createKey()
    await kms!.createAlias('alias/refused', fleet.entries[0].currentKeyId)
    await kms!.disableKey(disabled.KeyId)
    writeRotationFile(fleet.file, [{alias: 'alias/refused', region: 'us-east-1', targetKeyId: disabled.KeyId}, ...fleet.entries])
    // when
    const run = await runCli(applyArgs(fleet, '--no-canary', '--fail-fast', '--rate', 'UpdateAlias=1'))
    // then
    const report = parseFleetReport(run.stdout)
    expect(report.entries[0].outcome).toBe('refused')
    const skipped = report.entries.filter((entry) => entry.skipped === 'fail-fast')
    expect(skipped.length).toBeGreaterThanOrEqual(4)
    expect(proxy.callsTo('UpdateAlias').length).toBe(5 - skipped.length)
    expect(run.exitCode).not.toBe(0)
  })
})

describe('plan', () => {
  it('checks every entry, sends no UpdateAlias, writes no journal, and exits 3 when one would be refused', async () => {
    // given two aliases that would rotate and one whose target is disabled
    fleet = await createFleet(motoUrl, ['us-east-1'], 2)
    const kms = fleet.clients.get('us-east-1')
    const disabled = await kms!.createKey()
    await kms!.disableKey(disabled.KeyId)
    await kms!.createAlias('alias/refused', fleet.entries[0].currentKeyId)
    writeRotationFile(fleet.file, [...fleet.entries, {alias: 'alias/refused', region: 'us-east-1', targetKeyId: disabled.KeyId}])
    const env = {...cliEnvironment(), KMS_ROTATE_JOURNAL: journalOf(fleet)}
    // when
    const run = await runCli(['plan', '-f', fleet.file, '--output', 'json', '--endpoint-url', proxy.url], env)
    // then
    expect(run.exitCode).toBe(OUTCOMES.refused.exitCode)
    const report = parseFleetReport(run.stdout)
    expect(report.totals.outcomes).toEqual({planned: 2, refused: 1})
    expect(proxy.callsTo('UpdateAlias')).toEqual([])
    expect(proxy.callsTo('DescribeKey').length).toBeGreaterThanOrEqual(6)
    expect(existsSync(journalOf(fleet))).toBe(false)
    expect(await entriesOffTarget(fleet)).toHaveLength(2)
  })
})

describe('apply interrupted', () => {
  it('on Ctrl-C sends no new UpdateAlias, lets those on their way finish, reports, and exits 130', async () => {
    // given 20 aliases at 2 UpdateAlias a second, and Ctrl-C once 3 have reached the server
    fleet = await createFleet(motoUrl, ['us-east-1'], 20)
    const started = startCli(applyArgs(fleet, '--rate', 'UpdateAlias=2', '--no-canary'), cliEnvironment())
    while (proxy.callsTo('UpdateAlias').length < 3) await sleep(20)
    started.child.kill('SIGINT')
    // when
    const run = await started.finished
    // then
    expect(run.exitCode).toBe(OUTCOMES.interrupted.exitCode)
    const report = parseFleetReport(run.stdout)
    expect(report.outcome).toBe('interrupted')
    const sent = proxy.callsTo('UpdateAlias').map((call) => call.input.AliasName)
    // The 3 seen, and at most the 2 that had already passed the point where a stop holds entries back.
    expect(sent.length).toBeLessThanOrEqual(5)
    expect(report.totals.updateAliasSent).toBe(sent.length)
    const rotated = report.entries.filter((entry) => entry.outcome === 'rotated').map((entry) => entry.alias)
    expect(rotated.sort()).toEqual([...sent].sort())
    expect(report.entries.filter((entry) => entry.outcome === 'interrupted')).toHaveLength(20 - sent.length)
    expect(await entriesOffTarget(fleet)).toHaveLength(20 - sent.length)
  })
})

describe('apply with a journal that opens but cannot take a line (a full disk)', () => {
  it('stops as Ctrl-C would after the first line fails, reports every entry, and exits 253', async () => {
    // given 10 aliases at 2 UpdateAlias a second, and a journal that is always full
    fleet = await createFleet(motoUrl, ['us-east-1'], 10)
    const args = ['apply', '-f', fleet.file, '--yes', '--output', 'json', '--endpoint-url', proxy.url]

    // when
    const run = await runCli([...args, '--journal', '/dev/full', '--rate', 'UpdateAlias=2', '--no-canary'])

    // then the report still says which aliases moved, and those are the ones that did
    const report = parseFleetReport(run.stdout)
    const sent = proxy.callsTo('UpdateAlias').map((call) => call.input.AliasName)
    expect(sent.length).toBeGreaterThanOrEqual(1)
    expect(sent.length).toBeLessThan(10)
    const rotated = report.entries.filter((entry) => entry.outcome === 'rotated').map((entry) => entry.alias)
    expect(rotated.sort()).toEqual([...sent].sort())
    expect(await entriesOffTarget(fleet)).toHaveLength(10 - sent.length)
    // and the run ends on the journal, saying how it would have ended
    expect(run.exitCode).toBe(253)
    expect(run.stderr).toMatch(/^The journal '\/dev\/full' could not be written: no space left on the device\. /m)
    expect(run.stderr).toMatch(/The run itself ended interrupted \(exit 130 otherwise\)/)
  })
})

describe('apply at a terminal', () => {
  it('shows the plan, asks once, shows progress on stderr, and rollback undoes an entry from its journal line', async () => {
    // given two aliases
    fleet = await createFleet(motoUrl, ['us-east-1'], 2)
    const args = ['apply', '-f', fleet.file, '--endpoint-url', proxy.url, '--journal', journalOf(fleet), '--no-canary']
    // when the prompt is answered yes
    const run = await runOnTerminal(args, 'y')
    // then
    expect(run.exitCode).toBe(0)
    expect(run.text).toContain('? Move 2 aliases?')
    expect(run.text).toMatch(/2\/2 done, 0 failed, 0 left/)
    expect(await entriesOffTarget(fleet)).toEqual([])

    // and when the first entry is rolled back from the journal
    const [first] = fleet.entries
    const rollback = await runCli([
      'rollback', '--alias-name', first.alias, '--journal', journalOf(fleet), '--yes', '--no-canary',
      '--endpoint-url', proxy.url, '--output', 'json',
    ])
    expect(rollback.exitCode).toBe(0)
    expect(await fleet.clients.get('us-east-1')!.aliasTarget(first.alias)).toBe(first.currentKeyId)
  })

  it('sends nothing when the prompt is answered no', async () => {
    fleet = await createFleet(motoUrl, ['us-east-1'], 2)
    const run = await runOnTerminal(['apply', '-f', fleet.file, '--endpoint-url', proxy.url, '--journal', journalOf(fleet)], 'n')
    expect(run.exitCode).toBe(OUTCOMES.declined.exitCode)
    expect(proxy.callsTo('UpdateAlias')).toEqual([])
  })
})

describe('a bad rotation file', () => {
  it('is exit 252 with one line naming the file, entry and field, and nothing is sent', async () => {
    fleet = await createFleet(motoUrl, ['us-east-1'], 1)
    writeFileSync(fleet.file, 'rotations:\n  - {alias: alias/a, target: 1234abcd-12ab-34cd-56ef-1234567890ab, taget: x}\n')
    const applyOnly = ['--yes', '--journal', journalOf(fleet)]
    for (const command of ['plan', 'apply']) {
      const more = command === 'apply' ? applyOnly : []
      const run = await runCli([command, '-f', fleet.file, '--endpoint-url', proxy.url, ...more])
      expect(run.exitCode).toBe(252)
      expect(run.stderr.trim().split('\n')).toEqual([
        `'${fleet.file}', entry 1 ('alias/a'): unknown field 'taget': it takes alias, target, region, profile, expectedCurrent.`,
      ])
    }

    expect(proxy.requests).toEqual([])
  })

  it('names the entry and its profile field when that profile is in no config file, exit 253', async () => {
    fleet = await createFleet(motoUrl, ['us-east-1'], 1)
    const target = fleet.entries[0].targetKeyId
    writeFileSync(fleet.file, `rotations:\n  - {alias: alias/a, target: ${target}, profile: no-such-profile}\n`)
    const run = await runCli(['plan', '-f', fleet.file, '--endpoint-url', proxy.url])
    expect(run.exitCode).toBe(253)
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(`entry 1 ('alias/a'): The config profile (no-such-profile) named by its profile field`),
    ])
    expect(proxy.requests).toEqual([])
  })

  it('names a bad flag alone, not the entry it was resolved for', async () => {
    fleet = await createFleet(motoUrl, ['us-east-1'], 1)
    const run = await runCli(['plan', '-f', fleet.file, '--endpoint-url', 'notaurl'])
    expect(run.exitCode).toBe(252)
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^--endpoint-url 'notaurl'/)])
    expect(proxy.requests).toEqual([])
  })

  it(`refuses a file of more than ${MAX_ROTATION_ENTRIES} entries, exit 252, with one line and nothing sent`, async () => {
    fleet = await createFleet(motoUrl, ['us-east-1'], 1)
    const count = MAX_ROTATION_ENTRIES + 1
    const rows = Array.from({length: count}, (_, index) => ({alias: `alias/a${index}`, target: fleet!.entries[0].targetKeyId}))
    writeFileSync(fleet.file, JSON.stringify({rotations: rows}))
    const run = await runCli(['plan', '-f', fleet.file, '--endpoint-url', proxy.url])
    expect(run.exitCode).toBe(252)
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(`lists ${count} entries, more than the limit`)])
    expect(proxy.requests).toEqual([])
  })

  it('with --resume and no journal is exit 253 with one line, and nothing is sent', async () => {
    fleet = await createFleet(motoUrl, ['us-east-1'], 1)
    const journal = journalOf(fleet)
    const run = await runCli(applyArgs(fleet, '--resume'))
    expect(run.exitCode).toBe(253)
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Nothing to resume from: .* does not exist/)])
    expect(existsSync(journal)).toBe(false)
    expect(proxy.callsTo('UpdateAlias')).toEqual([])
  })
})
