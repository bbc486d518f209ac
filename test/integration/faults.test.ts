/**
 * The built CLI through a fault-injecting proxy in front of moto: lag, paging, throttling,
 * server errors, lost answers, Ctrl-C while polling and unreachable endpoints. Each test
 * checks the outcome and exit code, what reached the server, and where the alias ended up.
 */
import {once} from 'node:events'
import {createServer, type Server} from 'node:net'
import type {AddressInfo} from 'node:net'
import {setTimeout} from 'node:timers/promises'

import {UpdateAliasCommand} from '@aws-sdk/client-kms'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {EXIT, OUTCOMES} from '../../src/lib/outcomes.js'
import type {RotationReport} from '../../src/lib/report.js'
import {cliEnvironment, closedLoopbackUrl, linesOf, runCli, startCli} from '../support/cli.js'
import {startKmsFaultProxy, type KmsCall, type KmsFaultProxy} from '../support/kms-fault-proxy.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
let proxy: KmsFaultProxy

beforeAll(async () => {
  proxy = await startKmsFaultProxy(motoUrl)
})

beforeEach(() => {
  proxy.reset()
})

afterAll(async () => {
  await proxy.close()
})

/** The visibility poll's ListAliases calls: not the preflight's, which is filtered by the new key. */
function polls(): KmsCall[] {
  return proxy.callsTo('ListAliases').filter((call) => call.input.KeyId === undefined)
}

function rotationArgs(alias: string, target: string, ...more: string[]): string[] {
  return ['update-alias', '--alias-name', alias, '--target-key-id', target, '--yes', '--output', 'json', ...more]
}

async function rotateThroughProxy(...more: string[]) {
  const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
  const run = await runCli(rotationArgs(ALIAS, given.target, '--endpoint-url', proxy.url, ...more))
  const report = run.stdout === '' ? undefined : (JSON.parse(run.stdout) as RotationReport)
  return {given, run, report}
}

describe('eventual consistency', () => {
  it('polls with growing delays through a 3 s lag, then reports rotated with the polls counted', async () => {
    // given a KMS that shows the old key for 3 s after UpdateAlias
    proxy.lag(3000)
    // when
    const {given, run, report} = await rotateThroughProxy()
    // then
    expect(run.exitCode).toBe(0)
    expect(report?.outcome).toBe('rotated')
    const reads = polls()
    expect(report?.verification?.polls).toBe(reads.length)
    expect(reads.length).toBeGreaterThanOrEqual(3)
    const gaps = reads.slice(1).map((call, index) => call.at - reads[index].at)
    for (const [index, gap] of gaps.slice(1).entries()) {
      // Each wait is at least the one before it (jittered between 1x and 2x of a doubling step).
      expect(gap).toBeGreaterThanOrEqual(gaps[index] - 50)
    }

    expect(proxy.callsTo('UpdateAlias')).toHaveLength(1)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('reports unconfirmed, exit 4, with UpdateAlias accepted, when the lag outlasts --wait-timeout', async () => {
    // given a lag far longer than the deadline
    proxy.lag(60_000)
    // when
    const {given, run, report} = await rotateThroughProxy('--wait-timeout', '1')
    // then
    expect(run.exitCode).toBe(OUTCOMES.unconfirmed.exitCode)
    expect(report).toMatchObject({outcome: 'unconfirmed', updateSent: true, updateAccepted: true})
    expect(report?.verification?.lastSeenTarget).toBe(given.currentKeyId)
    expect(report?.summary).toContain('UpdateAlias was accepted')
    expect(linesOf(run.stderr)).toEqual([report?.summary])
    expect(proxy.callsTo('UpdateAlias')).toHaveLength(1)
  })
})

describe('the --wait-timeout deadline', () => {
  it('also ends a ListAliases that never answers: unconfirmed, exit 4, saying so', async () => {
    // given a poll whose ListAliases is held unanswered, far longer than the deadline (the
    // preflight's ListAliases passes; the stall begins while UpdateAlias is on its way)
    proxy.latency(300, 'UpdateAlias')
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const cli = startCli(rotationArgs(ALIAS, given.target, '--endpoint-url', proxy.url, '--wait-timeout', '2'))
    await proxy.arrived('UpdateAlias')
    proxy.stall('ListAliases')
    // when
    const run = await cli.finished
    const report = JSON.parse(run.stdout) as RotationReport
    // then the run ends at the deadline, not after the read timeout and its retries
    expect(run.exitCode).toBe(OUTCOMES.unconfirmed.exitCode)
    expect(report.outcome).toBe('unconfirmed')
    expect(report.verification?.error).toBe('ListAliases did not answer within the 2 s deadline')
    expect(proxy.callsTo('ListAliases').filter((call) => call.handling === 'stalled')).toHaveLength(1)
    expect(proxy.callsTo('UpdateAlias')).toHaveLength(1)
  })
})

describe('ListAliases paging', () => {
  const LAST_ALIAS = 'alias/zz-app'

  /** LAST_ALIAS and a target in moto, with `others` aliases that are all listed before it. */
  async function givenAliasListedAfter(others: number) {
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const currentKeyId = given.currentKeyId as string
    await kms.createAlias(LAST_ALIAS, currentKeyId)
    await Promise.all(
      Array.from({length: others}, (_, index) =>
        kms.createAlias(`alias/filler-${String(index).padStart(3, '0')}`, currentKeyId),
      ),
    )
    return given
  }

  it('finds the alias on the last of three pages among 237 aliases', async () => {
    // given 236 other aliases, all listed before ours
    const given = await givenAliasListedAfter(236)
    // when
    const run = await runCli(rotationArgs(LAST_ALIAS, given.target, '--endpoint-url', proxy.url))
    // then one poll read three pages, the last one naming our alias
    expect(run.exitCode).toBe(0)
    const report = JSON.parse(run.stdout) as RotationReport
    expect(report.outcome).toBe('rotated')
    expect(report.verification).toMatchObject({polls: 1, pagesRead: 3})
    const pages = polls()
    expect(pages).toHaveLength(3)
    expect(pages[0].input.Marker).toBeUndefined()
    expect(pages[2].input.Marker).toBeDefined()
    expect(await kms.aliasTarget(LAST_ALIAS)).toBe(given.targetKeyId)
  })

  it('stops with an error naming the page that says Truncated without a marker', async () => {
    // given an alias beyond the first page, and first pages that are truncated with no marker
    const given = await givenAliasListedAfter(120)
    proxy.breakNextPage(1000)
    // when
    const run = await runCli(rotationArgs(LAST_ALIAS, given.target, '--endpoint-url', proxy.url, '--wait-timeout', '5'))
    // then polling stopped after that one page instead of looping
    expect(run.exitCode).toBe(OUTCOMES.unconfirmed.exitCode)
    const report = JSON.parse(run.stdout) as RotationReport
    expect(report.verification?.error).toBe('ListAliases page 1 says Truncated but gives no NextMarker')
    expect(polls()).toHaveLength(1)
    // The preflight's count met a broken page too: it is skipped, not trusted.
    expect(report.checks).toContainEqual({
      id: 'alias-quota',
      status: 'skip',
      message: 'not counted: ListAliases page 1 says Truncated but gives no NextMarker',
    })
  })
})

describe('throttling and server errors', () => {
  it('retries throttled DescribeKey and ListAliases calls with backoff, and succeeds', async () => {
    // given one DescribeKey and one ListAliases per second
    proxy.throttle('DescribeKey', {perSecond: 1, burst: 1}).throttle('ListAliases', {perSecond: 1, burst: 1})
    proxy.lag(200)
    // when
    const {given, run, report} = await rotateThroughProxy()
    // then
    expect(run.exitCode).toBe(0)
    expect(report?.outcome).toBe('rotated')
    const throttled = proxy.requests.filter((call) => call.handling === 'throttled')
    expect(throttled.map((call) => call.operation)).toContain('DescribeKey')
    expect(report?.apiRetries.DescribeKey).toBe(proxy.callsTo('DescribeKey').length - 2)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('retries UpdateAlias after three KMSInternalException answers, and counts the retries', async () => {
    // given three 500 answers to UpdateAlias, then the real one
    proxy.failNext('UpdateAlias', 3, 'KMSInternalException')
    // when
    const {given, run, report} = await rotateThroughProxy()
    // then
    expect(run.exitCode).toBe(0)
    expect(report?.outcome).toBe('rotated')
    expect(report?.apiRetries.UpdateAlias).toBe(3)
    const updates = proxy.callsTo('UpdateAlias')
    expect(updates.map((call) => call.status)).toEqual([500, 500, 500, 200])
    expect(updates.filter((call) => call.forwarded)).toHaveLength(1)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('gives up after the last attempt on DependencyTimeoutException, saying the alias may have moved', async () => {
    // given an UpdateAlias that always times out inside KMS
    proxy.failNext('UpdateAlias', 100, 'DependencyTimeoutException')
    // when
    const {given, run} = await rotateThroughProxy()
    // then
    expect(run.exitCode).toBe(EXIT.service)
    expect(linesOf(run.stderr)).toHaveLength(1)
    expect(run.stderr).toContain('(DependencyTimeoutException) when calling the UpdateAlias operation')
    expect(run.stderr).toContain('may or may not have moved')
    expect(proxy.callsTo('UpdateAlias')).toHaveLength(5)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('a lost answer to UpdateAlias', () => {
  it('reads the alias back and reports rotated, with one write and never refused', async () => {
    // given a KMS that applies UpdateAlias and then drops the connection
    proxy.loseResponse('UpdateAlias')
    // when
    const {given, run, report} = await rotateThroughProxy()
    // then
    expect(run.exitCode).toBe(0)
    expect(report).toMatchObject({outcome: 'rotated', updateSent: true, updateAccepted: false})
    expect(report?.updateError).toContain('closed before UpdateAlias was answered')
    expect(proxy.callsTo('UpdateAlias')).toHaveLength(1)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('keeps reading through a lag after the lost answer until the alias shows the new key', async () => {
    // given a lost answer and a 1 s lag
    proxy.loseResponse('UpdateAlias').lag(1000)
    // when
    const {given, run, report} = await rotateThroughProxy()
    // then
    expect(run.exitCode).toBe(0)
    expect(report?.outcome).toBe('rotated')
    expect(report?.verification?.polls).toBeGreaterThan(1)
    expect(proxy.callsTo('UpdateAlias')).toHaveLength(1)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('does not overwrite a concurrent writer that moved the alias after the lost answer: overwritten', async () => {
    // given a lost answer, and another writer that moves the alias to a third key meanwhile
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const third = await kms.createKey()
    proxy.loseResponse('UpdateAlias').lag(500)
    const cli = startCli(rotationArgs(ALIAS, given.target, '--endpoint-url', proxy.url, '--wait-timeout', '3'))
    const update = await proxy.arrived('UpdateAlias')
    while (update.serverStatus === undefined) await setTimeout(10)
    await kms.client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: third.KeyId}))
    // when
    const run = await cli.finished
    // then the other writer's change stands, and the report says where the alias was last seen
    expect(run.exitCode).toBe(OUTCOMES.overwritten.exitCode)
    const report = JSON.parse(run.stdout) as RotationReport
    expect(report.outcome).toBe('overwritten')
    expect(report.verification?.lastSeenTarget).toBe(third.KeyId)
    expect(proxy.callsTo('UpdateAlias')).toHaveLength(1)
    expect(await kms.aliasTarget(ALIAS)).toBe(third.KeyId)
  })
})

describe('a concurrent writer', () => {
  it('that moves the alias while ListAliases lags behind our UpdateAlias: overwritten, exit 4', async () => {
    // given a lag after UpdateAlias, and another writer that moves the alias to a third key in moto
    // as soon as our UpdateAlias has been applied there
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const third = await kms.createKey()
    proxy.lag(1500)
    const cli = startCli(rotationArgs(ALIAS, given.target, '--endpoint-url', proxy.url, '--wait-timeout', '20'))
    const update = await proxy.arrived('UpdateAlias')
    while (update.status === undefined) await setTimeout(10)
    await kms.client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: third.KeyId}))

    // when
    const run = await cli.finished

    // then the first read past the lag shows the third key, and the run says someone else moved it
    expect(run.exitCode).toBe(OUTCOMES.overwritten.exitCode)
    const report = JSON.parse(run.stdout) as RotationReport
    expect(report).toMatchObject({outcome: 'overwritten', updateSent: true, updateAccepted: true})
    expect(report.verification?.lastSeenTarget).toBe(third.KeyId)
    expect(report.verification?.polls).toBe(polls().length)
    expect(polls().at(-1)?.handling).not.toBe('lagged')
    expect(report.summary).toContain(`showed ${ALIAS} on ${third.KeyId}`)
    expect(report.summary).toContain('someone else moved it')
    expect(linesOf(run.stderr)).toEqual([report.summary])
    expect(proxy.callsTo('UpdateAlias')).toHaveLength(1)
    expect(await kms.aliasTarget(ALIAS)).toBe(third.KeyId)
  })

  it('that moves the alias between the preflight and UpdateAlias is caught by --expected-current-key', async () => {
    // given a preflight slowed at its ListAliases, and another writer that moves the alias meanwhile
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const third = await kms.createKey()
    proxy.latency(2000, 'ListAliases')
    const args = ['--endpoint-url', proxy.url, '--expected-current-key', given.currentKeyId as string]
    const cli = startCli(rotationArgs(ALIAS, given.target, ...args))
    await proxy.arrived('ListAliases')
    await kms.client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: third.KeyId}))

    // when
    const run = await cli.finished

    // then the read just before UpdateAlias sees the move, and nothing is written
    expect(run.exitCode).toBe(OUTCOMES.refused.exitCode)
    const report = JSON.parse(run.stdout) as RotationReport
    expect(report.outcome).toBe('refused')
    expect(report.checks).toContainEqual({
      id: 'expected-current',
      status: 'fail',
      message:
        `${ALIAS} points at ${third.KeyId} (read again just before UpdateAlias), ` +
        `not at the expected key ${given.currentKeyId}`,
    })
    expect(proxy.callsTo('DescribeKey').filter((call) => call.input.KeyId === ALIAS)).toHaveLength(2)
    expect(proxy.callsTo('UpdateAlias')).toEqual([])
    expect(await kms.aliasTarget(ALIAS)).toBe(third.KeyId)
  })
})

describe('Ctrl-C while polling', () => {
  it('exits 130 at once; the report and stderr say UpdateAlias was accepted and where the alias pointed', async () => {
    // given a lag that keeps the alias on the old key
    proxy.lag(60_000)
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const cli = startCli(rotationArgs(ALIAS, given.target, '--endpoint-url', proxy.url))
    // the second poll is on its way only once the first read has been answered and taken in
    while (polls().length < 2) await setTimeout(20)
    // when
    cli.child.kill('SIGINT')
    const run = await cli.finished
    // then
    expect(run.exitCode).toBe(OUTCOMES.interrupted.exitCode)
    const report = JSON.parse(run.stdout) as RotationReport
    expect(report).toMatchObject({outcome: 'interrupted', updateSent: true, updateAccepted: true})
    expect(report.verification?.lastSeenTarget).toBe(given.currentKeyId)
    expect(report.verification?.polls).toBeGreaterThanOrEqual(1)
    const stderr = linesOf(run.stderr).at(-1)
    expect(stderr).toContain('UpdateAlias was accepted')
    expect(stderr).toContain(`it pointed at ${given.currentKeyId}`)
  })
})

describe('unreachable endpoints', () => {
  let silent: Server | undefined

  afterAll(() => {
    silent?.close()
  })

  async function expectOneLine(endpointUrl: string, text: string, ...more: string[]): Promise<void> {
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const run = await runCli(rotationArgs(ALIAS, given.target, '--endpoint-url', endpointUrl, ...more), cliEnvironment())
    expect(run.exitCode).toBe(EXIT.other)
    expect(linesOf(run.stderr)).toHaveLength(1)
    expect(run.stderr).toContain(text)
    expect(run.stderr).not.toMatch(/^\s+at /m)
    expect(run.stdout).toBe('')
  }

  it('that refuses connections: exit 255, one line', async () => {
    await expectOneLine(await closedLoopbackUrl(), 'Could not connect to the endpoint URL')
  })

  it('that does not speak TLS: exit 255, one line', async () => {
    await expectOneLine(proxy.url.replace('http:', 'https:'), 'SSL')
  })

  it('that accepts and never answers: exit 255 after the read timeout, one line', async () => {
    silent = createServer(() => {})
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
    await expectOneLine(url, 'Read timeout on endpoint URL', '--cli-read-timeout', '1')
  })
})
