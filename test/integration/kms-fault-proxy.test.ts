/**
 * The fault-injecting KMS proxy against moto, driven by a plain KMSClient that never retries:
 * what the client gets, what moto ends up holding, and what the proxy recorded.
 */
import {
  DescribeKeyCommand,
  KMSClient,
  ListAliasesCommand,
  UpdateAliasCommand,
  type ListAliasesCommandInput,
  type ListAliasesCommandOutput,
} from '@aws-sdk/client-kms'
import {NodeHttpHandler} from '@smithy/node-http-handler'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {startKmsFaultProxy, type KmsFaultProxy, type ServerFault} from '../support/kms-fault-proxy.js'
import {FAKE_CREDENTIALS, MotoKms, TEST_REGION} from '../support/moto.js'
import {useMoto} from '../support/moto-per-test.js'
import {ABSENT_KEY_ID, aliasAndTarget, ALIAS, OTHER_REGION, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()

let proxy: KmsFaultProxy
/** Set by freezeTime(): the proxy's clock then moves only when a test advances it. */
let frozenAt: number | undefined
const clients: KMSClient[] = []

beforeAll(async () => {
  proxy = await startKmsFaultProxy(motoUrl, {clock: () => frozenAt ?? Date.now()})
})

beforeEach(() => proxy.reset())

afterEach(() => {
  frozenAt = undefined
  for (const client of clients.splice(0)) client.destroy()
})

afterAll(() => proxy.close())

function freezeTime(): void {
  frozenAt = Date.now()
}

function advanceTime(ms: number): void {
  frozenAt = (frozenAt ?? Date.now()) + ms
}

interface ClientOptions {
  region?: string
  /** Milliseconds the client waits for an answer to arrive before giving up. */
  socketTimeout?: number
}

/** A client of the proxy that tries each call once, so that no fault is hidden by a retry. */
function proxyClient({region = TEST_REGION, socketTimeout}: ClientOptions = {}): KMSClient {
  const client = new KMSClient({
    region,
    endpoint: proxy.url,
    credentials: FAKE_CREDENTIALS,
    maxAttempts: 1,
    ...(socketTimeout === undefined ? {} : {requestHandler: new NodeHttpHandler({socketTimeout})}),
  })
  clients.push(client)
  return client
}

interface SdkError extends Error {
  code?: string
  $metadata?: {httpStatusCode?: number}
}

/** The error that `call` rejects with; fails the test if it resolves. */
async function failureOf(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call
  } catch (error) {
    return error as SdkError
  }

  throw new Error('the call was expected to fail, and it succeeded')
}

/** moto's own ListAliases answer, which is never paged. */
async function motoAliasNames(): Promise<string[]> {
  const {Aliases = []} = await kms.client.send(new ListAliasesCommand({}))
  return Aliases.map((alias) => alias.AliasName ?? '')
}

/** Aliases in moto until ListAliases lists `total` of them (moto always adds the AWS ones). */
async function givenAliasesInAll(total: number): Promise<void> {
  const missing = total - (await motoAliasNames()).length
  const perKey = 50
  for (let first = 0; first < missing; first += perKey) {
    const key = await kms.createKey()
    const count = Math.min(perKey, missing - first)
    const names = Array.from({length: count}, (_, index) => `alias/app-${String(first + index).padStart(3, '0')}`)
    await Promise.all(names.map((name) => kms.createAlias(name, key.KeyId)))
  }
}

/** Every ListAliases page through the proxy, following NextMarker. */
async function listPages(client: KMSClient, input: ListAliasesCommandInput): Promise<ListAliasesCommandOutput[]> {
  const pages: ListAliasesCommandOutput[] = []
  let marker: string | undefined
  do {
    const page = await client.send(new ListAliasesCommand({...input, Marker: marker}))
    pages.push(page)
    marker = page.NextMarker
  } while (marker !== undefined)

  return pages
}

/** Where ListAliases through the proxy says ALIAS points, and whether it lists it at all. */
async function listedTarget(client: KMSClient, keyId?: string): Promise<string | undefined> {
  const {Aliases = []} = await client.send(new ListAliasesCommand({KeyId: keyId, Limit: 100}))
  return Aliases.find((alias) => alias.AliasName === ALIAS)?.TargetKeyId
}

async function describedKeyId(client: KMSClient, keyId: string): Promise<string | undefined> {
  const {KeyMetadata} = await client.send(new DescribeKeyCommand({KeyId: keyId}))
  return KeyMetadata?.KeyId
}

describe('a call the proxy leaves alone', () => {
  it('reaches moto, gets moto’s answer, and is recorded with its input, Region and status', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const keyId = await describedKeyId(proxyClient(), given.targetKeyId)

    // then
    expect(keyId).toBe(given.targetKeyId)
    expect(proxy.requests).toEqual([
      expect.objectContaining({
        operation: 'DescribeKey',
        input: {KeyId: given.targetKeyId},
        region: TEST_REGION,
        handling: 'forwarded',
        forwarded: true,
        serverStatus: 200,
        status: 200,
        delayMs: 0,
      }),
    ])
  })

  it('passes moto’s error answer through and records its code', async () => {
    // when
    const error = await failureOf(proxyClient().send(new DescribeKeyCommand({KeyId: ABSENT_KEY_ID})))

    // then
    expect(error.name).toBe('NotFoundException')
    expect(proxy.callsTo('DescribeKey')).toEqual([
      expect.objectContaining({
        handling: 'forwarded',
        forwarded: true,
        status: 400,
        errorCode: 'NotFoundException',
      }),
    ])
  })

  it('records the Region of the credential scope', async () => {
    // when
    await proxyClient({region: OTHER_REGION}).send(new ListAliasesCommand({}))

    // then
    expect(proxy.callsTo('ListAliases')).toEqual([expect.objectContaining({region: OTHER_REGION})])
  })
})

describe('ListAliases is paged as KMS pages it', () => {
  it('237 aliases with Limit 100 come in pages of 100, 100 and 37 that list each alias once', async () => {
    // given
    await givenAliasesInAll(237)

    // when
    const pages = await listPages(proxyClient(), {Limit: 100})

    // then
    expect(pages.map((page) => page.Aliases?.length)).toEqual([100, 100, 37])
    expect(pages.map((page) => page.Truncated)).toEqual([true, true, false])
    expect(pages.at(-1)?.NextMarker).toBeUndefined()
    const listed = pages.flatMap((page) => page.Aliases ?? []).map((alias) => alias.AliasName)
    expect(listed.toSorted()).toEqual((await motoAliasNames()).toSorted())
    expect(proxy.callsTo('ListAliases').map((call) => call.handling)).toEqual(['paged', 'paged', 'paged'])
  })

  it('without a Limit, a page holds 50 aliases', async () => {
    // given
    await givenAliasesInAll(60)

    // when
    const page = await proxyClient().send(new ListAliasesCommand({}))

    // then
    expect(page.Aliases).toHaveLength(50)
    expect(page.Truncated).toBe(true)
    expect(page.NextMarker).toEqual(expect.any(String))
  })

  it.each([0, 101, 2.5])('refuses Limit %s with ValidationException, without asking moto', async (limit) => {
    // when
    const error = await failureOf(proxyClient().send(new ListAliasesCommand({Limit: limit})))

    // then
    expect(error.name).toBe('ValidationException')
    expect(error.$metadata?.httpStatusCode).toBe(400)
    expect(proxy.callsTo('ListAliases')).toEqual([
      expect.objectContaining({handling: 'rejected', forwarded: false, errorCode: 'ValidationException'}),
    ])
  })

  it('refuses a Marker that no answer gave out, with InvalidMarkerException, without asking moto', async () => {
    // when
    const error = await failureOf(proxyClient().send(new ListAliasesCommand({Marker: 'made-up'})))

    // then
    expect(error.name).toBe('InvalidMarkerException')
    expect(error.$metadata?.httpStatusCode).toBe(400)
    expect(proxy.callsTo('ListAliases')).toEqual([
      expect.objectContaining({handling: 'rejected', forwarded: false, errorCode: 'InvalidMarkerException'}),
    ])
  })

  it('breakNextPage(): the next page is Truncated with no NextMarker; the one after is whole', async () => {
    // given
    proxy.breakNextPage()
    const client = proxyClient()

    // when
    const broken = await client.send(new ListAliasesCommand({Limit: 100}))
    const next = await client.send(new ListAliasesCommand({Limit: 100}))

    // then
    expect([broken.Truncated, broken.NextMarker]).toEqual([true, undefined])
    expect(broken.Aliases?.length).toBeGreaterThan(0)
    expect([next.Truncated, next.NextMarker]).toEqual([false, undefined])
    expect(proxy.callsTo('ListAliases').map((call) => call.handling)).toEqual(['broken-page', 'paged'])
  })

  it('paging(false) passes moto’s single answer through, whatever the Limit', async () => {
    // given
    proxy.paging(false)
    const all = await motoAliasNames()

    // when
    const page = await proxyClient().send(new ListAliasesCommand({Limit: 1}))

    // then
    expect(page.Aliases).toHaveLength(all.length)
    expect(page.Truncated).toBe(false)
    expect(proxy.callsTo('ListAliases')).toEqual([expect.objectContaining({handling: 'forwarded'})])
  })
})

describe('lag after UpdateAlias', () => {
  it('while it lasts, ListAliases and DescribeKey show the previous key; moto has the new one', async () => {
    // given
    freezeTime()
    proxy.lag(1000)
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const client = proxyClient()
    const {Aliases = []} = await kms.client.send(new ListAliasesCommand({}))
    const aliasArn = Aliases.find((alias) => alias.AliasName === ALIAS)?.AliasArn ?? ''

    // when
    await client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: given.targetKeyId}))

    // then moto has moved the alias
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    // and readers through the proxy still see the previous key
    expect(await listedTarget(client)).toBe(given.currentKeyId)
    expect(await listedTarget(client, given.targetKeyId)).toBeUndefined()
    expect(await listedTarget(client, given.currentKeyId)).toBe(given.currentKeyId)
    const currentKeyArn = given.targetArn.replace(given.targetKeyId, String(given.currentKeyId))
    expect(await listedTarget(client, currentKeyArn)).toBe(given.currentKeyId)
    expect(await describedKeyId(client, ALIAS)).toBe(given.currentKeyId)
    expect(await describedKeyId(client, aliasArn)).toBe(given.currentKeyId)
    expect(proxy.requests.map((call) => [call.operation, call.handling])).toEqual([
      ['UpdateAlias', 'forwarded'],
      ['ListAliases', 'lagged'],
      ['ListAliases', 'lagged'],
      ['ListAliases', 'lagged'],
      ['ListAliases', 'lagged'],
      ['DescribeKey', 'lagged'],
      ['DescribeKey', 'lagged'],
    ])
  })

  it('once it has passed, every read shows the new key', async () => {
    // given
    freezeTime()
    proxy.lag(1000)
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const client = proxyClient()
    await client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: given.targetKeyId}))

    // when
    advanceTime(1000)

    // then
    expect(await listedTarget(client)).toBe(given.targetKeyId)
    expect(await listedTarget(client, given.targetKeyId)).toBe(given.targetKeyId)
    expect(await listedTarget(client, given.currentKeyId)).toBeUndefined()
    expect(await describedKeyId(client, ALIAS)).toBe(given.targetKeyId)
    expect(proxy.requests.filter((call) => call.handling === 'lagged')).toEqual([])
  })

  it('runs on the real clock by default: the previous key at once, the new one after the lag', async () => {
    // given
    proxy.lag(300)
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const client = proxyClient()

    // when
    await client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: given.targetKeyId}))
    const during = await listedTarget(client)
    await sleep(400)
    const after = await listedTarget(client)

    // then
    expect(during).toBe(given.currentKeyId)
    expect(after).toBe(given.targetKeyId)
  })

  it('does not start when moto refuses the UpdateAlias', async () => {
    // given
    proxy.lag(60_000)
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const client = proxyClient()

    // when
    const update = new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: ABSENT_KEY_ID})
    const error = await failureOf(client.send(update))

    // then
    expect(error.name).toBe('NotFoundException')
    expect(await describedKeyId(client, ALIAS)).toBe(given.currentKeyId)
    expect(proxy.callsTo('DescribeKey')).toEqual([expect.objectContaining({handling: 'forwarded'})])
  })
})

describe('throttling', () => {
  it('lets a burst through, then answers ThrottlingException without asking moto, and refills', async () => {
    // given
    freezeTime()
    proxy.throttle('DescribeKey', {perSecond: 1, burst: 2})
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const client = proxyClient()

    // when
    await describedKeyId(client, given.targetKeyId)
    await describedKeyId(client, given.targetKeyId)
    const error = await failureOf(describedKeyId(client, given.targetKeyId))
    advanceTime(1000)
    const afterRefill = await describedKeyId(client, given.targetKeyId)

    // then
    expect(error.name).toBe('ThrottlingException')
    expect(error.message).toBe('Rate exceeded')
    expect(error.$metadata?.httpStatusCode).toBe(400)
    expect(afterRefill).toBe(given.targetKeyId)
    expect(proxy.callsTo('DescribeKey').map((call) => [call.handling, call.forwarded])).toEqual([
      ['forwarded', true],
      ['forwarded', true],
      ['throttled', false],
      ['forwarded', true],
    ])
  })

  it('holds UpdateAlias to its published quota of 5 a second by default', async () => {
    // given
    freezeTime()
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const client = proxyClient()
    const update = () => client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: given.targetKeyId}))

    // when
    for (let call = 1; call <= 5; call++) await update()
    const error = await failureOf(update())

    // then
    expect(error.name).toBe('ThrottlingException')
    expect(proxy.callsTo('UpdateAlias').filter((call) => call.forwarded)).toHaveLength(5)
  })

  it('keeps one bucket per Region', async () => {
    // given
    freezeTime()
    proxy.throttle('ListAliases', {perSecond: 1, burst: 1})
    const east = proxyClient()
    await east.send(new ListAliasesCommand({}))

    // when
    const eastError = await failureOf(east.send(new ListAliasesCommand({})))
    const west = await proxyClient({region: OTHER_REGION}).send(new ListAliasesCommand({}))

    // then
    expect(eastError.name).toBe('ThrottlingException')
    expect(west.Aliases).toBeDefined()
  })

  it('unthrottled() lifts every quota, the published ones too', async () => {
    // given
    freezeTime()
    proxy.unthrottled()
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const client = proxyClient()

    // when
    for (let call = 1; call <= 8; call++) {
      await client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: given.targetKeyId}))
    }

    // then
    expect(proxy.callsTo('UpdateAlias').map((call) => call.handling)).toEqual(Array(8).fill('forwarded'))
  })
})

describe('failNext', () => {
  it.each<[ServerFault, number]>([
    ['KMSInternalException', 500],
    ['DependencyTimeoutException', 503],
  ])('fails the next calls with %s (HTTP %i) without asking moto; later calls pass', async (fault, status) => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    proxy.failNext('UpdateAlias', 2, fault)
    const client = proxyClient()
    const update = () => client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: given.targetKeyId}))

    // when
    const errors = [await failureOf(update()), await failureOf(update())]
    await update()

    // then
    expect(errors.map((error) => [error.name, error.$metadata?.httpStatusCode])).toEqual([
      [fault, status],
      [fault, status],
    ])
    expect(proxy.callsTo('UpdateAlias').map((call) => [call.handling, call.forwarded])).toEqual([
      ['failed', false],
      ['failed', false],
      ['forwarded', true],
    ])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})

describe('loseResponse', () => {
  it('lets moto move the alias, then cuts the client’s connection before any answer', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    proxy.loseResponse('UpdateAlias')

    // when
    const error = await failureOf(
      proxyClient().send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: given.targetKeyId})),
    )

    // then the client got no HTTP answer at all
    expect(error.$metadata?.httpStatusCode).toBeUndefined()
    expect(`${error.code} ${error.message}`).toMatch(/ECONNRESET|socket hang up/)
    // and moto, read directly, has the alias on the new key
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    const [call] = proxy.callsTo('UpdateAlias')
    expect(call).toMatchObject({handling: 'lost', forwarded: true, serverStatus: 200})
    expect(call.status).toBeUndefined()
  })

  it('with a count, loses only that many answers', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    proxy.loseResponse('DescribeKey', 1)
    const client = proxyClient()

    // when
    await failureOf(describedKeyId(client, given.targetKeyId))
    const second = await describedKeyId(client, given.targetKeyId)

    // then
    expect(second).toBe(given.targetKeyId)
    expect(proxy.callsTo('DescribeKey').map((call) => call.handling)).toEqual(['lost', 'forwarded'])
  })
})

describe('stall', () => {
  it('holds the call unanswered without asking moto, while other operations are answered', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    proxy.stall('DescribeKey')
    const client = proxyClient()
    const abort = new AbortController()
    let settled = false
    const stalled = client
      .send(new DescribeKeyCommand({KeyId: given.targetKeyId}), {abortSignal: abort.signal})
      .finally(() => (settled = true))

    // when
    const arrived = await proxy.arrived('DescribeKey')
    const listed = await client.send(new ListAliasesCommand({}))

    // then
    expect(arrived).toMatchObject({operation: 'DescribeKey', handling: 'stalled', forwarded: false})
    expect(listed.Aliases).toBeDefined()
    expect(settled).toBe(false)
    abort.abort()
    expect((await failureOf(stalled)).name).toBe('AbortError')
    expect(proxy.callsTo('DescribeKey')).toHaveLength(1)
    expect(arrived.status).toBeUndefined()
  })
})

describe('latency', () => {
  it('waits before handling the call, so that a client with a shorter timeout gives up', async () => {
    // given
    proxy.latency(600)
    const client = proxyClient({socketTimeout: 100})

    // when
    const error = await failureOf(client.send(new ListAliasesCommand({})))

    // then
    expect(error.name).toBe('TimeoutError')
    expect(proxy.callsTo('ListAliases')).toEqual([expect.objectContaining({delayMs: 600})])
  })

  it('draws a delay from min..max for each call, and for one operation only when it is named', async () => {
    // given
    proxy.latency({min: 5, max: 25}, 'ListAliases')
    const client = proxyClient()

    // when
    for (let call = 1; call <= 5; call++) await client.send(new ListAliasesCommand({}))
    await failureOf(client.send(new DescribeKeyCommand({KeyId: ABSENT_KEY_ID})))

    // then
    for (const call of proxy.callsTo('ListAliases')) {
      expect(call.delayMs).toBeGreaterThanOrEqual(5)
      expect(call.delayMs).toBeLessThanOrEqual(25)
    }

    expect(proxy.callsTo('DescribeKey')).toEqual([expect.objectContaining({delayMs: 0})])
  })
})

describe('reset', () => {
  it('forgets the calls and every fault', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const client = proxyClient()
    await client.send(new ListAliasesCommand({}))
    proxy.lag(60_000).failNext('ListAliases', 5).loseResponse('DescribeKey').stall('UpdateAlias')
    proxy.throttle('ListAliases', {perSecond: 0, burst: 1}).latency(5000).paging(false).breakNextPage()

    // when
    proxy.reset()
    await client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: given.targetKeyId}))
    await client.send(new ListAliasesCommand({}))
    const page = await client.send(new ListAliasesCommand({Limit: 1}))
    const described = await describedKeyId(client, ALIAS)

    // then
    expect(page).toMatchObject({Truncated: true, NextMarker: expect.any(String)})
    expect(described).toBe(given.targetKeyId)
    expect(proxy.requests.map((call) => [call.operation, call.handling, call.delayMs])).toEqual([
      ['UpdateAlias', 'forwarded', 0],
      ['ListAliases', 'paged', 0],
      ['ListAliases', 'paged', 0],
      ['DescribeKey', 'forwarded', 0],
    ])
  })
})

describe('multi-Region key ids', () => {
  const KMS_MRK_ID = /^mrk-[0-9a-f]{32}$/

  it('shows moto mrk ids in the KMS form, and reaches the key when the client sends that form', async () => {
    // given a multi-Region key, whose moto id has dashes, and the rewriting on
    const key = await kms.createKey({multiRegion: true})
    proxy.kmsMultiRegionIds()
    const client = proxyClient()
    // when it is described by the id with its dashes left out
    const kmsId = `mrk-${key.KeyId.slice('mrk-'.length).replaceAll('-', '')}`
    const {KeyMetadata: described} = await client.send(new DescribeKeyCommand({KeyId: kmsId}))
    // then the answer names it in the KMS form, in the id and the ARN
    expect(key.KeyId).not.toMatch(KMS_MRK_ID)
    expect(described?.KeyId).toBe(kmsId)
    expect(described?.KeyId).toMatch(KMS_MRK_ID)
    expect(described?.Arn).toBe(`arn:aws:kms:${TEST_REGION}:123456789012:key/${kmsId}`)
  })

  it('presents a key of each Region as one multi-Region key, with aliases of their own per Region', async () => {
    // given a multi-Region key made in each Region, joined under one id, and an alias on each
    const west = new MotoKms(motoUrl, OTHER_REGION)
    const eastKey = await kms.createKey({multiRegion: true})
    const westKey = await west.createKey({multiRegion: true})
    const id = proxy.multiRegionKey({[TEST_REGION]: eastKey.KeyId, [OTHER_REGION]: westKey.KeyId})
    await kms.createAlias(ALIAS, eastKey.KeyId)
    // when each Region's client describes the joined id
    const inEast = await proxyClient().send(new DescribeKeyCommand({KeyId: id}))
    const inWest = await proxyClient({region: OTHER_REGION}).send(new DescribeKeyCommand({KeyId: id}))
    // then each Region answers with its own key, under the one id
    expect(inEast.KeyMetadata?.Arn).toBe(`arn:aws:kms:${TEST_REGION}:123456789012:key/${id}`)
    expect(inWest.KeyMetadata?.Arn).toBe(`arn:aws:kms:${OTHER_REGION}:123456789012:key/${id}`)
    expect(proxy.callsTo('DescribeKey').map((call) => call.input.KeyId)).toEqual([id, id])
    // and the alias made in us-east-1 is not seen in us-west-2
    expect(await west.aliasTarget(ALIAS)).toBeUndefined()
    expect(await kms.aliasTarget(ALIAS)).toBe(eastKey.KeyId)
    west.destroy()
  })
})
