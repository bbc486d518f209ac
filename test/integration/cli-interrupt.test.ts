/**
 * The built CLI against a KMS proxy that stalls a call or loses its answer: Ctrl-C and lost
 * answers must never leave the alias's state unspoken.
 */
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {linesOf, startCli} from '../support/cli.js'
import {startKmsFaultProxy, type KmsFaultProxy} from '../support/kms-fault-proxy.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
let proxy: KmsFaultProxy

beforeAll(async () => {
  proxy = await startKmsFaultProxy(motoUrl)
})

beforeEach(() => proxy.reset())

afterAll(() => proxy.close())

/** ALIAS and a target in moto, and the CLI's arguments to move it through the proxy. */
async function givenRotationThroughProxy() {
  const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
  const args = ['update-alias', '--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', proxy.url]
  return {given, args}
}

async function waitForStderr(read: () => string, text: string): Promise<void> {
  for (let tries = 0; tries < 100 && !read().includes(text); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('Ctrl-C', () => {
  it('during the preflight ends with exit 130 and a report saying nothing was sent', async () => {
    // given a DescribeKey that is never answered
    const {given, args} = await givenRotationThroughProxy()
    proxy.stall('DescribeKey')
    const cli = startCli([...args, '--yes', '--output', 'json'])
    await proxy.arrived('DescribeKey')

    // when
    cli.child.kill('SIGINT')
    const run = await cli.finished

    // then
    expect(run.exitCode).toBe(130)
    const report = JSON.parse(run.stdout) as {outcome: string; updateSent: boolean}
    expect(report).toMatchObject({outcome: 'interrupted', updateSent: false})
    expect(linesOf(run.stderr).at(-1)).toContain('nothing was changed')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('while UpdateAlias is unanswered waits and says so; a second Ctrl-C stops, saying the state is unknown', async () => {
    // given an UpdateAlias that is never answered
    const {args} = await givenRotationThroughProxy()
    proxy.stall('UpdateAlias')
    const cli = startCli([...args, '--yes'])
    await proxy.arrived('UpdateAlias')

    // when Ctrl-C is pressed once
    cli.child.kill('SIGINT')
    await waitForStderr(cli.stderrSoFar, 'press Ctrl-C again')

    // then the run says it is waiting for KMS
    expect(cli.stderrSoFar()).toContain('Waiting for KMS to answer UpdateAlias')

    // when Ctrl-C is pressed again
    cli.child.kill('SIGINT')
    const run = await cli.finished

    // then it stops at once and says the alias may or may not have moved
    expect(run.exitCode).toBe(130)
    expect(linesOf(run.stderr).at(-1)).toContain(`${ALIAS} may or may not have moved`)
  })
})

describe('a connection closed without an answer', () => {
  it('on an UpdateAlias that never reached KMS: read back, unconfirmed, exit 4, and no second write', async () => {
    // given an UpdateAlias that is held unanswered, and never passed on, until the read timeout
    const {given, args} = await givenRotationThroughProxy()
    proxy.stall('UpdateAlias')

    // when
    const run = await startCli([...args, '--yes', '--cli-read-timeout', '1', '--wait-timeout', '1', '--output', 'json'])
      .finished

    // then the alias was read back, still on the old key, and the report says so
    expect(run.exitCode).toBe(4)
    const report = JSON.parse(run.stdout)
    expect(report).toMatchObject({outcome: 'unconfirmed', updateSent: true, updateAccepted: false})
    expect(report.apiCalls.UpdateAlias).toBe(1)
    expect(report.verification.lastSeenTarget).toBe(given.currentKeyId)
    expect(linesOf(run.stderr)).toEqual([report.summary])
    expect(run.stderr).toContain('its answer was lost (Read timeout on endpoint URL')
    expect(proxy.callsTo('UpdateAlias')).toHaveLength(1)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})
