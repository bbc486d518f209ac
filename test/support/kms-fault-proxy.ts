/**
 * A KMS endpoint on 127.0.0.1 that passes calls on to moto and misbehaves the way real KMS can,
 * when a test asks it to. http-proxy-3 does the forwarding; this file only decides what to do
 * with each call, and rewrites the few answers that KMS gives differently from moto.
 *
 *   const proxy = await startKmsFaultProxy(motoUrl)     // point the client at proxy.url
 *   proxy.lag(300)              // after UpdateAlias, ListAliases and DescribeKey show the old key
 *   proxy.throttle('UpdateAlias', {perSecond: 1, burst: 2})
 *   proxy.failNext('UpdateAlias', 2, 'DependencyTimeoutException')
 *   proxy.loseResponse('UpdateAlias')     // moto applies it, then the client's connection is cut
 *   proxy.stall('DescribeKey'); await proxy.arrived('DescribeKey')   // held until close()
 *   proxy.latency({min: 10, max: 50})
 *   proxy.breakNextPage()       // the next ListAliases page: Truncated true, no NextMarker
 *   proxy.predefinedAliasesWithoutKeys()   // alias/aws/* listed with no TargetKeyId, as KMS lists unused ones
 *   proxy.kmsMultiRegionIds()   // moto's mrk-UUID ids shown as KMS's mrk- + 32 hex digits, both ways
 *   proxy.multiRegionKey({'us-east-1': motoId1, 'us-west-2': motoId2})   // one mrk id for both keys
 *   proxy.callsTo('UpdateAlias')          // each call: input, what was done, whether moto saw it
 *   proxy.reset()               // between tests;  await proxy.close() at the end
 *
 * Without any of these it still behaves as KMS does where moto does not: ListAliases is paged
 * (Limit 1 to 100, default 50, opaque markers; entries in AliasName order) and each operation
 * with a published request quota is throttled at that quota, per account and Region.
 *
 * Each call is checked in this order: stall, latency, throttling, failNext, ListAliases
 * Limit and Marker, then forwarding. Time (lag, throttling) comes from `clock`, so a test can
 * pass a clock it moves itself; latency always waits in real time.
 */
import {randomUUID} from 'node:crypto'
import {once} from 'node:events'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {Readable} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'

import {createProxyServer} from 'http-proxy-3'

/** The account moto gives every request whose access key it did not issue itself. */
export const MOTO_ACCOUNT = '123456789012'
/** moto's Region for a request that names none (an unsigned one). */
const MOTO_DEFAULT_REGION = 'us-east-1'

/**
 * Requests per second, as in the "Request quotas" table of the KMS documentation, for the
 * operations that tests send. KMS publishes no burst; a bucket holds one second of requests.
 */
export const KMS_REQUEST_QUOTAS: Readonly<Record<string, number>> = {
  CancelKeyDeletion: 5,
  CreateAlias: 5,
  CreateKey: 5,
  DeleteAlias: 15,
  DescribeKey: 2000,
  DisableKey: 5,
  EnableKey: 5,
  ListAliases: 500,
  ListKeys: 500,
  ScheduleKeyDeletion: 15,
  UpdateAlias: 5,
}

const LIST_ALIASES_DEFAULT_LIMIT = 50
const LIST_ALIASES_MAX_LIMIT = 100
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1'

/** Server-side errors that KMS answers and that clients may retry. */
export type ServerFault = 'KMSInternalException' | 'DependencyTimeoutException'

const SERVER_FAULTS: Record<ServerFault, {status: number; message: string}> = {
  KMSInternalException: {status: 500, message: 'KMS failed internally; the request can be retried.'},
  DependencyTimeoutException: {status: 503, message: 'A service that KMS depends on did not answer in time.'},
}

/**
 * What the proxy did with a call. `paged` and `lagged` were forwarded and their answers
 * rewritten (`lagged` wins when the lag changed what the client saw); `rejected` is a
 * ListAliases Limit or Marker that KMS would refuse.
 */
export type Handling =
  | 'forwarded'
  | 'paged'
  | 'lagged'
  | 'broken-page'
  | 'rejected'
  | 'throttled'
  | 'failed'
  | 'lost'
  | 'stalled'

/** One call as the proxy saw it; the fields after `at` fill in as the call is handled. */
export interface KmsCall {
  operation: string
  /** The JSON body the client sent ({} when it was not JSON). */
  input: Record<string, unknown>
  /** From the credential scope of the Authorization header. */
  region: string
  /** clock() when the call arrived. */
  at: number
  handling: Handling
  /** Whether the call was sent on to moto, and so may have changed its state. */
  forwarded: boolean
  /** The latency added, in milliseconds. */
  delayMs: number
  /** moto's HTTP status, when it answered. */
  serverStatus?: number
  /** The HTTP status the client got; undefined while held, and for lost or stalled calls. */
  status?: number
  /** The `__type` of an error answer. */
  errorCode?: string
}

/** A token bucket: `burst` calls at once, refilled at `perSecond`. */
export interface Rate {
  perSecond: number
  /** Defaults to one second of calls, and to at least 1. */
  burst?: number
}

/** A fixed delay in milliseconds, or one drawn evenly from min..max for each call. */
export type Delay = number | {min: number; max: number}

export interface KmsFaultProxyOptions {
  /** Milliseconds since the epoch; Date.now unless a test moves time itself. */
  clock?: () => number
}

interface AliasEntry {
  AliasName?: string
  AliasArn?: string
  TargetKeyId?: string
  [field: string]: unknown
}

/** An alias whose readers still see its previous entry until `until`. */
interface Lag {
  region: string
  entry: AliasEntry & {AliasName: string}
  until: number
}

interface Bucket {
  tokens: number
  updatedAt: number
}

interface Exchange {
  req: IncomingMessage
  res: ServerResponse
  body: Buffer
  call: KmsCall
}

interface ServerAnswer {
  status: number
  headers: IncomingMessage['headers']
  body: Buffer
}

/**
 * KMS names the operation in X-Amz-Target; STS, which moto serves on the same port, sends a
 * form body with Action=, so that a count of calls can name GetCallerIdentity too.
 */
function operationOf(request: IncomingMessage, body: Buffer): string {
  const target = request.headers['x-amz-target']
  if (typeof target === 'string') return target.replace(/^TrentService\./, '')
  const form = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString('latin1'))
  return form?.[1] ?? ''
}

/** The Region in `Credential=AKID/DATE/REGION/kms/aws4_request`. */
function regionOf(request: IncomingMessage): string {
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(request.headers.authorization ?? '')
  return scope?.[1] ?? MOTO_DEFAULT_REGION
}

function parseInput(body: Buffer): Record<string, unknown> {
  try {
    const input: unknown = JSON.parse(body.toString('utf8'))
    const isObject = typeof input === 'object' && input !== null && !Array.isArray(input)
    return isObject ? (input as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/** A ListAliases KeyId filter as the key id that moto puts in TargetKeyId. */
function keyIdOf(keyId: string): string {
  const arn = /^arn:[^:]+:kms:[^:]*:[^:]*:key\/(.+)$/.exec(keyId)
  return arn?.[1] ?? keyId
}

/** The Region and alias name that a DescribeKey KeyId names, when it names an alias. */
function aliasOf(keyId: string, region: string): {region: string; aliasName: string} | undefined {
  if (keyId.startsWith('alias/')) return {region, aliasName: keyId}
  const arn = /^arn:[^:]+:kms:([^:]*):[^:]*:(alias\/.+)$/.exec(keyId)
  return arn ? {region: arn[1], aliasName: arn[2]} : undefined
}

function lagKey(region: string, aliasName: string): string {
  return `${region} ${aliasName}`
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
  return Buffer.concat(chunks)
}

function errorCodeOf(body: Buffer): string | undefined {
  const type = parseInput(body).__type
  // The JSON protocol allows a namespace before the code: "com.amazonaws.kms#NotFoundException".
  return typeof type === 'string' ? type.replace(/^.*#/, '') : undefined
}

/** moto's multi-Region key id: mrk- and a UUID with its dashes. KMS's has no dashes. */
const MOTO_MRK_ID = /\bmrk-([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\b/g
const KMS_MRK_ID = /\bmrk-([0-9a-f]{32})\b/g

function withoutPredefinedTarget(alias: AliasEntry): AliasEntry {
  if (!alias.AliasName?.startsWith('alias/aws/')) return alias
  const {TargetKeyId: _unused, ...rest} = alias
  return rest
}

function pickDelay(delay: Delay): number {
  return typeof delay === 'number' ? delay : delay.min + Math.random() * (delay.max - delay.min)
}

export class KmsFaultProxy {
  private readonly clock: () => number
  private readonly library: ReturnType<typeof createProxyServer>
  /** Where the library hands moto's answer for each forwarded request. */
  private readonly answers = new WeakMap<IncomingMessage, (answer: IncomingMessage) => void>()
  private readonly waiting: {operation: string; resolve: (call: KmsCall) => void}[] = []
  private calls: KmsCall[] = []

  private lagMs = 0
  private lags = new Map<string, Lag>()
  private pagingOn = true
  private brokenPages = 0
  private unusedPredefined = false
  private markers = new Map<string, string>()
  private rates = new Map<string, Rate>()
  private buckets = new Map<string, Bucket>()
  private faults = new Map<string, ServerFault[]>()
  private losses = new Map<string, number>()
  private stalled = new Set<string>()
  private delays = new Map<string, Delay>()
  private mrkIds = false
  /** Per Region: KMS-form mrk id to the moto id it stands for, from answers and multiRegionKey(). */
  private motoMrkIds = new Map<string, Map<string, string>>()
  /** Per Region: moto id to the KMS-form id given by multiRegionKey(). */
  private kmsMrkIds = new Map<string, Map<string, string>>()

  private constructor(
    private readonly motoUrl: string,
    private readonly server: ReturnType<typeof createServer>,
    options: KmsFaultProxyOptions,
  ) {
    this.clock = options.clock ?? Date.now
    this.library = createProxyServer({target: motoUrl})
    this.library.on('proxyRes', (answer, request) => this.answers.get(request)?.(answer))
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((error: unknown) => this.answerProxyFailure(res, error))
    })
    this.reset()
  }

  static async start(motoUrl: string, options: KmsFaultProxyOptions = {}): Promise<KmsFaultProxy> {
    const server = createServer()
    const proxy = new KmsFaultProxy(motoUrl, server, options)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return proxy
  }

  /** The endpoint URL to give the client, such as http://127.0.0.1:PORT. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** Every call since start or reset(), in the order they arrived. */
  get requests(): readonly KmsCall[] {
    return this.calls
  }

  callsTo(operation: string): KmsCall[] {
    return this.calls.filter((call) => call.operation === operation)
  }

  /** Resolves with the first call of `operation` since start or reset(), once it has arrived. */
  arrived(operation: string): Promise<KmsCall> {
    const seen = this.calls.find((call) => call.operation === operation)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => this.waiting.push({operation, resolve}))
  }

  /**
   * After each UpdateAlias that moto accepts, for `ms` milliseconds: ListAliases shows the
   * alias on its previous key (filtered by KeyId too), and DescribeKey of the alias's name or
   * ARN describes the previous key. 0 ends the lag for later updates.
   */
  lag(ms: number): this {
    this.lagMs = ms
    return this
  }

  /** false passes moto's single unpaged ListAliases answer through, as moto gives it. */
  paging(on: boolean): this {
    this.pagingOn = on
    return this
  }

  /** The next `times` ListAliases answers say Truncated: true and carry no NextMarker. */
  breakNextPage(times = 1): this {
    this.brokenPages = times
    return this
  }

  /**
   * ListAliases shows each predefined alias/aws/ alias without a TargetKeyId, as KMS lists one
   * whose AWS managed key no service has created yet. moto lists them with target ids that
   * DescribeKey does not know.
   */
  predefinedAliasesWithoutKeys(on = true): this {
    this.unusedPredefined = on
    return this
  }

  /** Replaces the quota of `operation` in every account and Region; buckets start full. */
  throttle(operation: string, rate: Rate): this {
    if (!(rate.perSecond >= 0) || !(rate.burst === undefined || rate.burst >= 1)) {
      throw new Error(`throttle(${operation}): perSecond must be 0 or more and burst 1 or more`)
    }

    this.rates.set(operation, rate)
    this.buckets.clear()
    return this
  }

  /** No quotas at all, not even the published ones, until reset(). */
  unthrottled(): this {
    this.rates.clear()
    this.buckets.clear()
    return this
  }

  /** The next `times` calls of `operation` get `fault` and never reach moto. */
  failNext(operation: string, times = 1, fault: ServerFault = 'KMSInternalException'): this {
    if (!Number.isInteger(times) || times < 0) {
      throw new Error(`failNext(${operation}): times must be a whole number`)
    }

    const queued = this.faults.get(operation) ?? []
    this.faults.set(operation, [...queued, ...Array<ServerFault>(times).fill(fault)])
    return this
  }

  /** The next `times` calls of `operation` (all, by default) reach moto, then lose their answer. */
  loseResponse(operation: string, times = Number.POSITIVE_INFINITY): this {
    this.losses.set(operation, times)
    return this
  }

  /** Calls of `operation` are held unanswered until close(); moto never sees them. */
  stall(operation: string): this {
    this.stalled.add(operation)
    return this
  }

  /** Waits this long before handling each call (of `operation` only, when given); 0 removes it. */
  latency(delay: Delay, operation = '*'): this {
    if (delay === 0) this.delays.delete(operation)
    else this.delays.set(operation, delay)
    return this
  }

  /**
   * Shows moto's multi-Region key ids (mrk- and a dashed UUID) in every answer as KMS writes them,
   * mrk- and 32 hex digits, and turns them back in requests, so that clients that check the
   * KMS form accept them. Not combined with lag(), whose remembered entries keep moto's form.
   */
  kmsMultiRegionIds(on = true): this {
    this.mrkIds = on
    return this
  }

  /**
   * Presents keys made separately in each Region (CreateKey MultiRegion=true, so each has its own
   * moto id) as the replicas of one multi-Region key, under one KMS-form id that it returns, and
   * turns kmsMultiRegionIds() on. moto's own ReplicateKey cannot stand in: its replica shares the
   * primary's alias table, so an alias made in one Region appears, and moves, in every Region.
   */
  multiRegionKey(motoIds: Record<string, string>): string {
    const [first] = Object.values(motoIds)
    const kmsId = `mrk-${first.slice('mrk-'.length).replaceAll('-', '')}`
    for (const [region, motoId] of Object.entries(motoIds)) {
      this.regionMap(this.motoMrkIds, region).set(kmsId, motoId)
      this.regionMap(this.kmsMrkIds, region).set(motoId, kmsId)
    }

    this.mrkIds = true
    return kmsId
  }

  /** Forgets the calls and every fault; quotas, paging and full buckets are as at start. */
  reset(): void {
    this.calls = []
    this.lagMs = 0
    this.lags.clear()
    this.pagingOn = true
    this.brokenPages = 0
    this.unusedPredefined = false
    this.markers.clear()
    this.rates = new Map(Object.entries(KMS_REQUEST_QUOTAS).map(([name, perSecond]) => [name, {perSecond}]))
    this.buckets.clear()
    this.faults.clear()
    this.losses.clear()
    this.stalled.clear()
    this.delays.clear()
    this.mrkIds = false
    this.motoMrkIds = new Map()
    this.kmsMrkIds = new Map()
  }

  /** Stops listening and drops every connection, stalled calls included. */
  async close(): Promise<void> {
    if (!this.server.listening) return
    const closed = once(this.server, 'close')
    this.server.close()
    this.server.closeAllConnections()
    await closed
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readAll(req)
    const call: KmsCall = {
      operation: operationOf(req, body),
      input: parseInput(body),
      region: regionOf(req),
      at: this.clock(),
      handling: 'forwarded',
      forwarded: false,
      delayMs: 0,
    }
    this.calls.push(call)
    this.announce(call)
    const exchange: Exchange = {req, res, body: this.mrkIds ? this.toMotoIds(body, call.region) : body, call}

    if (this.stalled.has(call.operation)) {
      call.handling = 'stalled'
      return
    }

    const delay = this.delays.get(call.operation) ?? this.delays.get('*')
    if (delay !== undefined) {
      call.delayMs = pickDelay(delay)
      await sleep(call.delayMs)
    }

    if (!this.takeToken(call)) {
      call.handling = 'throttled'
      return this.answerError(exchange, 400, 'ThrottlingException', 'Rate exceeded')
    }

    const fault = this.faults.get(call.operation)?.shift()
    if (fault !== undefined) {
      call.handling = 'failed'
      return this.answerError(exchange, SERVER_FAULTS[fault].status, fault, SERVER_FAULTS[fault].message)
    }

    if (call.operation === 'ListAliases' && this.pagingOn) {
      const refusal = this.pageRefusal(call.input)
      if (refusal !== undefined) {
        call.handling = 'rejected'
        return this.answerError(exchange, 400, refusal.code, refusal.message)
      }
    }

    await this.forward(exchange)
  }

  private announce(call: KmsCall): void {
    for (let index = this.waiting.length - 1; index >= 0; index--) {
      if (this.waiting[index].operation !== call.operation) continue
      this.waiting[index].resolve(call)
      this.waiting.splice(index, 1)
    }
  }

  private takeToken(call: KmsCall): boolean {
    const rate = this.rates.get(call.operation)
    if (rate === undefined) return true
    const burst = rate.burst ?? Math.max(1, rate.perSecond)
    const key = `${MOTO_ACCOUNT} ${call.region} ${call.operation}`
    const now = this.clock()
    const bucket = this.buckets.get(key) ?? {tokens: burst, updatedAt: now}
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate.perSecond)
    bucket.updatedAt = now
    this.buckets.set(key, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Why KMS would refuse this ListAliases Limit or Marker, if it would. */
  private pageRefusal(input: Record<string, unknown>): {code: string; message: string} | undefined {
    const {Limit: limit, Marker: marker} = input
    const max = LIST_ALIASES_MAX_LIMIT
    if (limit !== undefined && !(Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= max)) {
      const message = `Limit must be a whole number from 1 to ${max}; got ${JSON.stringify(limit)}.`
      return {code: 'ValidationException', message}
    }

    if (marker !== undefined && !(typeof marker === 'string' && this.markers.has(marker))) {
      const message = `Marker ${JSON.stringify(marker)} was not given out by a ListAliases answer.`
      return {code: 'InvalidMarkerException', message}
    }

    return undefined
  }

  private async forward(exchange: Exchange): Promise<void> {
    const {call} = exchange
    const aliasName = typeof call.input.AliasName === 'string' ? call.input.AliasName : undefined
    const lagging = call.operation === 'UpdateAlias' && this.lagMs > 0 && aliasName !== undefined
    const lose = (this.losses.get(call.operation) ?? 0) > 0
    const rewrite = call.operation === 'ListAliases' || this.mrkIds

    if (call.operation === 'DescribeKey') this.describePreviousKey(exchange)
    const previous = lagging ? await this.previousEntry(exchange, aliasName) : undefined

    if (!lose && !rewrite && !lagging) {
      // The library streams moto's answer straight back to the client.
      await this.send(exchange, false)
      return
    }

    const answer = await this.ask(exchange)
    if (answer === undefined) return
    if (previous !== undefined && answer.status === 200) {
      this.lags.set(lagKey(call.region, previous.AliasName), {
        region: call.region,
        entry: previous,
        until: this.clock() + this.lagMs,
      })
    }

    if (lose) {
      this.losses.set(call.operation, (this.losses.get(call.operation) ?? 0) - 1)
      call.handling = 'lost'
      exchange.req.socket.destroy()
      return
    }

    if (this.mrkIds) answer.body = this.toKmsIds(answer.body, call.region)
    const paged = call.operation === 'ListAliases' && answer.status === 200
    const body = paged ? this.aliasesPage(call, answer) : answer.body
    this.answer(exchange, answer.status, body, answer.headers)
  }

  private regionMap(maps: Map<string, Map<string, string>>, region: string): Map<string, string> {
    const map = maps.get(region) ?? new Map<string, string>()
    maps.set(region, map)
    return map
  }

  private toKmsIds(body: Buffer, region: string): Buffer {
    const known = this.regionMap(this.kmsMrkIds, region)
    const seen = this.regionMap(this.motoMrkIds, region)
    const text = body.toString('utf8').replaceAll(MOTO_MRK_ID, (motoId: string, ...parts: string[]) => {
      const kmsId = known.get(motoId) ?? `mrk-${parts.slice(0, 5).join('')}`
      if (!seen.has(kmsId)) seen.set(kmsId, motoId)
      return kmsId
    })
    return Buffer.from(text)
  }

  private toMotoIds(body: Buffer, region: string): Buffer {
    const known = this.regionMap(this.motoMrkIds, region)
    const text = body.toString('utf8').replaceAll(KMS_MRK_ID, (kmsId: string, hex: string) => {
      const dashed = [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
      return known.get(kmsId) ?? `mrk-${dashed.join('-')}`
    })
    return Buffer.from(text)
  }

  /** During a lag, DescribeKey of the alias asks moto about the key the alias used to name. */
  private describePreviousKey(exchange: Exchange): void {
    const {call} = exchange
    if (typeof call.input.KeyId !== 'string') return
    const alias = aliasOf(call.input.KeyId, call.region)
    const lag = alias && this.activeLag(alias.region, alias.aliasName)
    if (lag?.entry.TargetKeyId === undefined) return
    exchange.body = Buffer.from(JSON.stringify({...call.input, KeyId: lag.entry.TargetKeyId}))
    call.handling = 'lagged'
  }

  private activeLag(region: string, aliasName: string): Lag | undefined {
    const lag = this.lags.get(lagKey(region, aliasName))
    if (lag === undefined || lag.until > this.clock()) return lag
    this.lags.delete(lagKey(region, aliasName))
    return undefined
  }

  /**
   * What readers should go on seeing while the update spreads: during a lag, the entry they
   * already see; otherwise the alias as moto lists it now, read with the caller's signature so
   * that moto answers for the same account and Region.
   */
  private async previousEntry(exchange: Exchange, aliasName: string): Promise<Lag['entry'] | undefined> {
    const lagged = this.activeLag(exchange.call.region, aliasName)
    if (lagged) return lagged.entry

    const headers = new Headers({'content-type': JSON_CONTENT_TYPE, 'x-amz-target': 'TrentService.ListAliases'})
    for (const name of ['authorization', 'x-amz-date', 'x-amz-security-token']) {
      const value = exchange.req.headers[name]
      if (typeof value === 'string') headers.set(name, value)
    }

    const response = await fetch(new URL('/', this.motoUrl), {method: 'POST', headers, body: '{}'})
    const listed = (await response.json()) as {Aliases?: AliasEntry[]}
    const entry = listed.Aliases?.find((alias) => alias.AliasName === aliasName)
    return entry === undefined ? undefined : {...entry, AliasName: aliasName}
  }

  /** The ListAliases answer the client gets: moto's entries, as the lag shows them, one page at a time. */
  private aliasesPage(call: KmsCall, answer: ServerAnswer): Buffer {
    const listed = (parseInput(answer.body).Aliases ?? []) as AliasEntry[]
    const aliases = this.unusedPredefined ? listed.map((alias) => withoutPredefinedTarget(alias)) : listed
    const filter = typeof call.input.KeyId === 'string' ? keyIdOf(call.input.KeyId) : undefined
    if (this.showPreviousTargets(aliases, call.region, filter)) call.handling = 'lagged'
    if (!this.pagingOn) return Buffer.from(JSON.stringify({...parseInput(answer.body), Aliases: aliases}))

    aliases.sort((a, b) => (a.AliasName ?? '').localeCompare(b.AliasName ?? ''))
    const after = typeof call.input.Marker === 'string' ? this.markers.get(call.input.Marker) : undefined
    const start =
      after === undefined ? 0 : aliases.findIndex((alias) => (alias.AliasName ?? '').localeCompare(after) > 0)
    const rest = start < 0 ? [] : aliases.slice(start)
    const limit = typeof call.input.Limit === 'number' ? call.input.Limit : LIST_ALIASES_DEFAULT_LIMIT
    const page = rest.slice(0, limit)
    if (call.handling !== 'lagged') call.handling = 'paged'

    if (this.brokenPages > 0) {
      this.brokenPages--
      call.handling = 'broken-page'
      return Buffer.from(JSON.stringify({Aliases: page, Truncated: true}))
    }

    if (page.length === rest.length) return Buffer.from(JSON.stringify({Aliases: page, Truncated: false}))
    const marker = randomUUID()
    this.markers.set(marker, page.at(-1)?.AliasName ?? '')
    return Buffer.from(JSON.stringify({Aliases: page, Truncated: true, NextMarker: marker}))
  }

  /** Puts each lagging alias back on its previous key, in place; true when that changed the list. */
  private showPreviousTargets(aliases: AliasEntry[], region: string, filter: string | undefined): boolean {
    let changed = false
    for (const lag of [...this.lags.values()]) {
      if (lag.region !== region || this.activeLag(region, lag.entry.AliasName) === undefined) continue
      const index = aliases.findIndex((alias) => alias.AliasName === lag.entry.AliasName)
      const current = index < 0 ? undefined : aliases[index]
      const visible = filter === undefined || lag.entry.TargetKeyId === filter
      if (visible) {
        changed ||= current?.TargetKeyId !== lag.entry.TargetKeyId
        if (index < 0) aliases.push(lag.entry)
        else aliases[index] = lag.entry
      } else if (current !== undefined) {
        changed = true
        aliases.splice(index, 1)
      }
    }

    return changed
  }

  /** Sends the call to moto and hands back moto's whole answer, which the client has not seen yet. */
  private async ask(exchange: Exchange): Promise<ServerAnswer | undefined> {
    const answer = await this.send(exchange, true)
    if (answer === undefined) return undefined
    return {status: answer.statusCode ?? 502, headers: answer.headers, body: await readAll(answer)}
  }

  private send(exchange: Exchange, selfHandleResponse: boolean): Promise<IncomingMessage | undefined> {
    const {req, res, body, call} = exchange
    call.forwarded = true
    req.headers['content-length'] = String(body.length)
    return new Promise((resolve) => {
      this.answers.set(req, (answer) => {
        call.serverStatus = answer.statusCode
        if (!selfHandleResponse) {
          call.status = answer.statusCode
          // Listening now, before the library's pipe starts the flow, so that no chunk is missed.
          if ((answer.statusCode ?? 0) >= 400) this.noteErrorCode(answer, call)
        }

        resolve(answer)
      })
      this.library.web(req, res, {buffer: Readable.from([body]), selfHandleResponse}, (error) => {
        call.status = 502
        this.answerProxyFailure(res, error)
        resolve(undefined)
      })
    })
  }

  private noteErrorCode(answer: IncomingMessage, call: KmsCall): void {
    const chunks: Buffer[] = []
    answer.on('data', (chunk: Buffer) => chunks.push(chunk))
    answer.on('end', () => (call.errorCode = errorCodeOf(Buffer.concat(chunks))))
  }

  private answerError(exchange: Exchange, status: number, code: string, message: string): void {
    exchange.call.errorCode = code
    this.answer(exchange, status, Buffer.from(JSON.stringify({__type: code, message})))
  }

  private answer(exchange: Exchange, status: number, body: Buffer, headers: ServerAnswer['headers'] = {}) {
    exchange.call.status = status
    if (status >= 400) exchange.call.errorCode ??= errorCodeOf(body)
    exchange.res.writeHead(status, {
      'content-type': headers['content-type'] ?? JSON_CONTENT_TYPE,
      'content-length': body.length,
      'x-amzn-requestid': headers['x-amzn-requestid'] ?? randomUUID(),
    })
    exchange.res.end(body)
  }

  /** moto unreachable, or a fault in this file: a 502 that no client takes for a KMS answer. */
  private answerProxyFailure(res: ServerResponse, error: unknown): void {
    if (res.headersSent || res.destroyed) return
    res.writeHead(502, {'content-type': 'text/plain'})
    res.end(`kms-fault-proxy: ${error instanceof Error ? error.message : String(error)}\n`)
  }
}

/** A proxy in front of the moto server at `motoUrl`, listening on a free loopback port. */
export function startKmsFaultProxy(motoUrl: string, options?: KmsFaultProxyOptions): Promise<KmsFaultProxy> {
  return KmsFaultProxy.start(motoUrl, options)
}
