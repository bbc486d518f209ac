import type {AbsoluteLocation, DeserializeHandlerOptions, DeserializeMiddleware} from '@smithy/types'
import pThrottle from 'p-throttle'

import {shown, UsageError} from './errors.js'

/**
 * KMS request quotas per account and Region, in requests per second, for every operation a
 * rotation sends (the "Request quotas" page of the KMS Developer Guide). UpdateAlias shares its
 * quota with CreateAlias. The cryptographic operations of the canary share one quota per key
 * type (symmetric at least 5,500, HMAC 2,000, RSA 500, ECC 300); one bucket at the lowest keeps
 * under each of them whatever the keys are.
 */
export const KMS_QUOTAS = {
  UpdateAlias: 5,
  DescribeKey: 2000,
  ListAliases: 500,
  GetKeyPolicy: 1000,
  ListGrants: 100,
  cryptographic: 300,
} as const

export type RateName = keyof typeof KMS_QUOTAS
export type Rates = Record<RateName, number>

export const RATE_NAMES = Object.keys(KMS_QUOTAS) as RateName[]

const CRYPTOGRAPHIC_OPERATIONS = ['Encrypt', 'Decrypt', 'Sign', 'Verify', 'GenerateMac', 'VerifyMac']

/** The rate that paces `operation`, or undefined for an operation that is not paced. */
export function rateNameOf(operation: string): RateName | undefined {
  if (CRYPTOGRAPHIC_OPERATIONS.includes(operation)) return 'cryptographic'
  return (RATE_NAMES as string[]).includes(operation) ? (operation as RateName) : undefined
}

/** `--rate NAME=PER_SECOND`, repeatable; the last value for a name wins, the others keep the quota. */
export function parseRates(values: readonly string[] = []): Rates {
  const rates: Rates = {...KMS_QUOTAS}
  for (const value of values) {
    const match = /^([A-Za-z]+)=(\d+(?:\.\d+)?)$/.exec(value)
    const name = match?.[1] as RateName | undefined
    const perSecond = Number(match?.[2])
    if (!match || !RATE_NAMES.includes(name as RateName) || !(perSecond > 0)) {
      throw new UsageError(
        `--rate ${shown(value)} is not NAME=REQUESTS_PER_SECOND with a number above 0 and NAME one of ` +
          `${RATE_NAMES.join(', ')}: for example --rate UpdateAlias=2.`,
      )
    }

    rates[name as RateName] = perSecond
  }

  return rates
}

/**
 * Spaces requests so that no one-second window holds more than the rate. Up to 20 per second the
 * requests go evenly, one per 1/rate seconds, so a server's one-second bucket never runs dry
 * even when they arrive bunched; above that, in 50 ms windows, as timers are too coarse to space
 * single requests under a millisecond apart.
 */
function throttleFor(perSecond: number): () => Promise<void> {
  const options =
    perSecond <= 20 ? {limit: 1, interval: 1000 / perSecond} : {limit: Math.floor(perSecond / 20), interval: 50}
  return pThrottle(options)(async () => {})
}

/** One account and Region's pacing: a throttle per rate name, shared by every client there. */
export class Pacer {
  private readonly throttles = new Map<RateName, () => Promise<void>>()
  private readonly admissions = new Map<RateName, () => Promise<void>>()

  constructor(readonly rates: Rates) {}

  /** Resolves when `operation` may be sent; operations without a quota go at once. */
  async wait(operation: string): Promise<void> {
    await this.take(this.throttles, operation)
  }

  /**
   * Resolves when a caller may go on to send `operation`, at the same rate as `wait`: a caller
   * that can still be stopped waits here, so that the wait before sending is short.
   */
  async admit(operation: string): Promise<void> {
    await this.take(this.admissions, operation)
  }

  private async take(throttles: Map<RateName, () => Promise<void>>, operation: string): Promise<void> {
    const name = rateNameOf(operation)
    if (name === undefined) return
    let throttle = throttles.get(name)
    if (!throttle) {
      throttle = throttleFor(this.rates[name])
      throttles.set(name, throttle)
    }

    await throttle()
  }
}

/** One Pacer per account and Region: quotas apply there, whichever profile or client sends. */
export class PacerRegistry {
  private readonly pacers = new Map<string, Pacer>()

  constructor(readonly rates: Rates) {}

  forPlace(account: string, region: string): Pacer {
    const key = `${account} ${region}`
    let pacer = this.pacers.get(key)
    if (!pacer) {
      pacer = new Pacer(this.rates)
      this.pacers.set(key, pacer)
    }

    return pacer
  }
}

/**
 * Waits for the pacer before each attempt. In the deserialize step it runs inside the SDK's retry
 * loop, so a retry after throttling or a server error is paced like a first attempt.
 */
export function pacingMiddleware<Input extends object, Output extends object>(
  pacer: Pacer,
): DeserializeMiddleware<Input, Output> {
  return (next, context) => async (args) => {
    await pacer.wait((context.commandName ?? '').replace(/Command$/, ''))
    return next(args)
  }
}

export const PACING: DeserializeHandlerOptions & AbsoluteLocation = {
  step: 'deserialize',
  priority: 'high',
  name: 'kmsRotatePacing',
}
