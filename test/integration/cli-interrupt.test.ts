/**
 * The built CLI against an endpoint that stalls or drops a call: Ctrl-C and lost answers must
 * never leave the alias's state unspoken.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {linesOf, startCli} from '../support/cli.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'
import {startStallingEndpoint, type Misbehaviour, type StallingEndpoint} from '../support/stalling-endpoint.js'

const {motoUrl, kms} = useMoto()
let endpoint: StallingEndpoint | undefined

afterEach(async () => {
  await endpoint?.close()
  endpoint = undefined
})

async function givenEndpointThat(misbehave: Record<string, Misbehaviour>) {
  const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
  endpoint = await startStallingEndpoint(motoUrl, misbehave)
  const args = ['update-alias', '--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', endpoint.url]
  return {given, endpoint, args}
}

async function waitForStderr(read: () => string, text: string): Promise<void> {
  for (let tries = 0; tries < 100 && !read().includes(text); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('Ctrl-C', () => {
  it('during the preflight ends with exit 130 and a report saying nothing was sent', async () => {
    // given a DescribeKey that is never answered
    const {given, endpoint, args} = await givenEndpointThat({DescribeKey: 'stall'})
    const cli = startCli([...args, '--yes', '--output', 'json'])
    await endpoint.arrived('DescribeKey')

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
    const {endpoint, args} = await givenEndpointThat({UpdateAlias: 'stall'})
    const cli = startCli([...args, '--yes'])
    await endpoint.arrived('UpdateAlias')

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
    // given an endpoint that closes the connection on UpdateAlias without passing it on
    const {given, args} = await givenEndpointThat({UpdateAlias: 'cut'})

    // when
    const run = await startCli([...args, '--yes', '--wait-timeout', '1', '--output', 'json']).finished

    // then the alias was read back, still on the old key, and the report says so
    expect(run.exitCode).toBe(4)
    const report = JSON.parse(run.stdout)
    expect(report).toMatchObject({outcome: 'unconfirmed', updateSent: true, updateAccepted: false})
    expect(report.apiCalls.UpdateAlias).toBe(1)
    expect(report.verification.lastSeenTarget).toBe(given.currentKeyId)
    expect(linesOf(run.stderr)).toEqual([report.summary])
    expect(run.stderr).toContain('closed before UpdateAlias was answered')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})
