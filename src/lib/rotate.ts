import type {KeyMetadata} from '@aws-sdk/client-kms'
import pRetry from 'p-retry'

import {assessAccess, type AccessFacts, type KeyAccessReads, type Read} from './access.js'
import {runCanary} from './canary.js'
import {checkExpectedCurrent, runChecks, type AliasListing, type KeyLookup, type PreflightFacts} from './checks.js'
import {IncompleteListingError, KmsRotateError, ServiceError, UpdateAnswerLostError} from './errors.js'
import {isReservedAliasName, placeDifferences, type TargetKeyReference} from './identifiers.js'
import type {KmsGateway} from './kms.js'
import type {PreflightMode} from './formats.js'
import {EXIT, type Outcome} from './outcomes.js'
import {rollBack} from './rollback.js'
import {
  describeOutcome,
  notFoundCheck,
  summarizeKey,
  UNKNOWN_KEY,
  type RotationReport,
  type Verification,
} from './report.js'

export interface RotationRequest {
  aliasName: string
  target: TargetKeyReference
  /** The Region the client talks to; a target ARN in another Region is refused. */
  region: string
  dryRun: boolean
  allowKeySpecChange: boolean
  /** 0 skips the visibility poll once KMS has accepted the update. */
  waitTimeoutSeconds: number
  /** Read only the first ListAliases page on each poll. */
  onePagePerPoll?: boolean
  /** UpdateAlias is sent only if the alias still points at this key just before it. */
  expectedCurrentKey?: TargetKeyReference
  /** Move an asymmetric or HMAC key's alias although old signatures, MACs or ciphertext break. */
  acknowledgeVerifyBreak?: boolean
  /** access-parity warns instead of failing. */
  allowAccessLoss?: boolean
  /** Once the alias is seen on the new key, use it once through the alias; move it back if that fails. */
  canary?: boolean
  /** One Region of --regions: the multi-region check is run too. */
  multiRegion?: boolean
  /** basic: no key policies, grants or alias count are read; their checks are skipped. Default full. */
  preflight?: PreflightMode
}

/** Why --preflight basic leaves a check unevaluated. */
const BASIC_PREFLIGHT = '--preflight basic'

export interface RotationHooks {
  /** Asked once every check has passed, before UpdateAlias; absent means do not ask. */
  confirm?: (plan: RotationReport) => Promise<boolean>
  /** Called with true as UpdateAlias goes out, and with false once it has an answer or failed. */
  onUpdateInFlight?: (inFlight: boolean) => void
  onWaitStart?: () => void
  onPoll?: (poll: number) => void
  onWaitEnd?: (seen: boolean) => void
  /** Aborting stops the run at the next step; the report then says whether UpdateAlias was sent. */
  signal?: AbortSignal
}

/** The visibility poll's backoff: first poll at once, then about 250 ms growing to about 5 s. */
export const POLL_BACKOFF = {minTimeout: 250, maxTimeout: 5000, factor: 2, randomize: true} as const

class AliasNotVisibleYet extends Error {}
class AliasMovedElsewhere extends Error {}

async function lookUp(describe: () => Promise<KeyMetadata>): Promise<KeyLookup> {
  try {
    return {found: true, key: await describe()}
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'NotFoundException') {
      // KMS's answer as the AWS CLI would print it: the report's summary repeats it.
      return {found: false, reason: 'missing', message: error.message}
    }

    throw error
  }
}

async function lookUpKeys(kms: KmsGateway, request: RotationRequest, signal?: AbortSignal) {
  const {aliasName, target, region} = request
  const currentKey: Promise<KeyLookup> = isReservedAliasName(aliasName)
    ? Promise.resolve({
        found: false,
        reason: 'not-looked-up',
        // DescribeKey on a predefined AWS alias that has no key yet creates its AWS managed key.
        message: 'not looked up: DescribeKey on an AWS alias can create its AWS managed key',
      })
    : lookUp(() => kms.describeKey(aliasName, signal))

  // A key in another Region is not found from here; the ARN alone says it is the wrong one.
  const elsewhere = target.arn ? placeDifferences(target.arn, region) : []
  const targetKey: Promise<KeyLookup> =
    elsewhere.length > 0
      ? Promise.resolve({
          found: false,
          reason: 'not-looked-up',
          message: `not looked up: the ARN names ${elsewhere.join(' and ')}`,
        })
      : lookUp(() => kms.describeKey(target.given, signal))

  const [current, next] = await Promise.allSettled([currentKey, targetKey])
  if (current.status === 'rejected') throw current.reason
  if (next.status === 'fulfilled') return {currentKey: current.value, targetKey: next.value}

  // Another account's key may be hidden from us; same-account-region already explains why.
  const aliasAccount = current.value.found ? current.value.key.AWSAccountId : undefined
  if (target.arn && aliasAccount && target.arn.account !== aliasAccount && next.reason instanceof ServiceError) {
    const message = `not looked up: ${next.reason.code} for a key in account ${target.arn.account}`
    return {currentKey: current.value, targetKey: {found: false, reason: 'not-looked-up', message} as KeyLookup}
  }

  throw next.reason
}

/** The aliases already on the new key, for alias-quota; a listing KMS refuses only skips that check. */
async function listTargetAliases(
  kms: KmsGateway,
  {currentKey, targetKey}: {currentKey: KeyLookup; targetKey: KeyLookup},
  signal?: AbortSignal,
): Promise<AliasListing> {
  if (!targetKey.found) return {listed: false, message: 'not counted: the target key could not be described'}
  if (currentKey.found && currentKey.key.KeyId === targetKey.key.KeyId) {
    return {listed: false, message: 'not counted: the alias already points at the new key'}
  }

  const aliasAccount = currentKey.found ? currentKey.key.AWSAccountId : undefined
  if (aliasAccount && targetKey.key.AWSAccountId !== aliasAccount) {
    return {listed: false, message: `not counted: ListAliases lists only aliases in account ${aliasAccount}`}
  }

  try {
    return {listed: true, aliases: await kms.listAliasesOfKey(targetKey.key.Arn ?? targetKey.key.KeyId ?? '', signal)}
  } catch (error) {
    const refused = error instanceof ServiceError && (error.httpStatusCode ?? 400) < 500
    if (refused || error instanceof IncompleteListingError) {
      return {listed: false, message: `not counted: ${(error as Error).message}`}
    }

    throw error
  }
}

/** A read that KMS refuses, AccessDeniedException above all, leaves its check unevaluated, not the run. */
async function readOrError<T>(read: () => Promise<T>): Promise<Read<T>> {
  try {
    return {read: true, value: await read()}
  } catch (error) {
    if (error instanceof ServiceError) return {read: false, error: `${error.code}: ${error.detail}`}
    throw error
  }
}

/** The key policy and grants of both keys, all read at once, when there are two keys to compare. */
async function readAccess(
  kms: KmsGateway,
  {currentKey, targetKey}: {currentKey: KeyLookup; targetKey: KeyLookup},
  signal?: AbortSignal,
): Promise<AccessFacts> {
  if (!currentKey.found || !targetKey.found) {
    const missing = [!currentKey.found && 'the current key', !targetKey.found && 'the target key'].filter(Boolean)
    return {compared: false, reason: `not compared: ${missing.join(' and ')} could not be described`}
  }

  if (currentKey.key.KeyId === targetKey.key.KeyId) {
    return {compared: false, reason: 'not compared: the alias already points at the new key'}
  }

  signal?.throwIfAborted()
  const readKey = async (key: KeyMetadata): Promise<KeyAccessReads> => {
    const keyId = key.Arn ?? (key.KeyId as string)
    const [policy, grants] = await Promise.all([
      readOrError(() => kms.getKeyPolicy(keyId, signal)),
      readOrError(() => kms.listGrants(keyId, signal)),
    ])
    return {policy, grants}
  }

  const [current, target] = await Promise.all([readKey(currentKey.key), readKey(targetKey.key)])
  return assessAccess({key: currentKey.key, reads: current}, {key: targetKey.key, reads: target})
}

/**
 * Reads the alias again just before UpdateAlias and compares it with --expected-current-key,
 * replacing the preflight's expected-current result. DescribeKey on the alias name answers with
 * its key in one call; ListAliases would have to be read page by page to find the alias.
 */
async function stillOnExpectedKey(
  kms: KmsGateway,
  report: RotationReport,
  facts: PreflightFacts,
  signal?: AbortSignal,
): Promise<boolean> {
  const currentKey = await lookUp(() => kms.describeKey(facts.aliasName, signal))
  const result = checkExpectedCurrent({...facts, currentKey}, true)
  report.checks = report.checks.map((check) => (check.id === result.id ? result : check))
  return result.status !== 'fail'
}

/**
 * Where the alias points, from ListAliases pages read until it turns up: a key id, or null when
 * no page lists it.
 */
async function readAliasTarget(
  kms: KmsGateway,
  aliasName: string,
  options: {signal?: AbortSignal; onePage: boolean; countPage: () => void},
): Promise<string | null> {
  let marker: string | undefined
  for (let page = 1; ; page++) {
    const {aliases, truncated, nextMarker} = await kms.listAliasesPage(marker, options.signal)
    options.countPage()
    const entry = aliases.find((alias) => alias.AliasName === aliasName)
    if (entry) return entry.TargetKeyId ?? null
    if (!truncated) return null
    // Polling on could not tell "not visible yet" from "on a page left unread".
    if (options.onePage) {
      throw new KmsRotateError(
        `${aliasName} is not on the first ListAliases page, and --no-paginate leaves the others unread`,
        EXIT.other,
      )
    }

    if (!nextMarker) throw new IncompleteListingError('ListAliases', page)

    marker = nextMarker
  }
}

export interface WaitOptions {
  timeoutSeconds: number
  /** Read only the first ListAliases page on each poll, as --no-paginate asks. */
  onePagePerPoll?: boolean
  /** The key the alias left: a read that shows neither it nor the new key ends the wait. */
  previousKeyId?: string
}

/**
 * Polls ListAliases until the alias shows `keyId`, `timeoutSeconds` pass, the signal aborts, or
 * the alias shows a third key; the verification says where it pointed at the last read in every case.
 */
export async function waitUntilAliasTargets(
  kms: KmsGateway,
  aliasName: string,
  keyId: string,
  {timeoutSeconds, onePagePerPoll = false, previousKeyId}: WaitOptions,
  hooks: Pick<RotationHooks, 'onPoll' | 'signal'> = {},
): Promise<{seen: boolean; interrupted?: boolean; overwritten?: boolean; verification: Verification}> {
  const startedAt = performance.now()
  const progress = {polls: 0, pagesRead: 0, lastSeenTarget: null as string | null}
  const result = (seen: boolean, error: string | null = null) => ({
    seen,
    verification: {...progress, waitedMs: Math.round(performance.now() - startedAt), error},
  })

  // The deadline bounds the whole wait, a read that hangs included; 0 still allows one read.
  const deadline = timeoutSeconds > 0 ? AbortSignal.timeout(timeoutSeconds * 1000) : undefined
  const readSignal = deadline && hooks.signal ? AbortSignal.any([hooks.signal, deadline]) : (deadline ?? hooks.signal)

  try {
    await pRetry(
      async () => {
        hooks.onPoll?.(progress.polls + 1)
        const targetKeyId = await readAliasTarget(kms, aliasName, {
          signal: readSignal,
          onePage: onePagePerPoll,
          countPage: () => progress.pagesRead++,
        })
        // Only reads that finished count, so that lastSeenTarget always comes from one of them.
        progress.polls++
        progress.lastSeenTarget = targetKeyId
        if (targetKeyId === keyId) return
        // A lagging read shows the previous key; only another writer can show a third one.
        const elsewhere = previousKeyId !== undefined && targetKeyId !== null && targetKeyId !== previousKeyId
        throw elsewhere ? new AliasMovedElsewhere() : new AliasNotVisibleYet()
      },
      {
        ...POLL_BACKOFF,
        retries: Number.POSITIVE_INFINITY,
        maxRetryTime: timeoutSeconds * 1000,
        signal: hooks.signal,
        // Throttling and server errors were already retried by the SDK client.
        shouldRetry: ({error}) => error instanceof AliasNotVisibleYet,
      },
    )
    return result(true)
  } catch (error) {
    if (hooks.signal?.aborted) return {...result(false), interrupted: true}
    if (error instanceof AliasMovedElsewhere) return {...result(false), overwritten: true}
    if (error instanceof AliasNotVisibleYet) return result(false)
    if (deadline?.aborted) return result(false, `ListAliases did not answer within the ${timeoutSeconds} s deadline`)

    return result(false, error instanceof Error ? error.message : String(error))
  }
}

/** Preflight, update and verify one alias; every outcome comes back as a report. */
export async function rotateAlias(
  kms: KmsGateway,
  request: RotationRequest,
  hooks: RotationHooks = {},
): Promise<RotationReport> {
  const startedAt = performance.now()
  const {aliasName} = request
  const {signal} = hooks
  const report: RotationReport = {
    alias: aliasName,
    region: request.region,
    outcome: 'refused',
    summary: '',
    dryRun: request.dryRun,
    updateSent: false,
    updateAccepted: false,
    updateError: null,
    from: {...UNKNOWN_KEY},
    to: {...UNKNOWN_KEY},
    checks: [],
    accessChanges: [],
    verification: null,
    canary: null,
    rollback: null,
    apiCalls: kms.apiCalls,
    apiRetries: kms.apiRetries,
    elapsedMs: 0,
  }
  const finish = (outcome: Outcome): RotationReport => {
    report.outcome = outcome
    report.elapsedMs = Math.round(performance.now() - startedAt)
    report.summary = describeOutcome(report)
    return report
  }

  try {
    const keys = await lookUpKeys(kms, request, signal)
    const [access, targetAliases]: [AccessFacts, AliasListing] =
      request.preflight === 'basic'
        ? [
            {compared: false, reason: `not compared: ${BASIC_PREFLIGHT} reads no key policies or grants`},
            {listed: false, message: `not counted: ${BASIC_PREFLIGHT} does not list the new key's aliases`},
          ]
        : await Promise.all([readAccess(kms, keys, signal), listTargetAliases(kms, keys, signal)])
    const facts: PreflightFacts = {
      ...keys,
      aliasName,
      region: request.region,
      target: request.target,
      allowKeySpecChange: request.allowKeySpecChange,
      expectedCurrentKey: request.expectedCurrentKey,
      targetAliases,
      acknowledgeVerifyBreak: request.acknowledgeVerifyBreak,
      access,
      allowAccessLoss: request.allowAccessLoss ?? false,
      multiRegion: request.multiRegion,
    }
    report.from = summarizeKey(facts.currentKey.found ? facts.currentKey.key : undefined)
    report.to = summarizeKey(facts.targetKey.found ? facts.targetKey.key : undefined)
    report.checks = runChecks(facts)
    report.accessChanges = (access.compared && access.changes) || []

    // Already there: nothing to write, so nothing to refuse; the report still shows every check.
    // Only a failed --expected-current-key still refuses: the alias is not where the caller thought.
    const alreadyThere = report.from.keyId !== null && report.from.keyId === report.to.keyId
    const expectationFailed = report.checks.some((check) => check.id === 'expected-current' && check.status === 'fail')
    if (alreadyThere && !expectationFailed) return finish('unchanged')
    if (report.checks.some((check) => check.status === 'fail')) {
      return finish(notFoundCheck(report) ? 'not-found' : 'refused')
    }

    if (request.dryRun) return finish('planned')
    if (hooks.confirm && !(await hooks.confirm(finish('planned')))) return finish('declined')
    signal?.throwIfAborted()
    // After the prompt, which can wait for minutes: the alias is compared as late as possible.
    if (request.expectedCurrentKey && !(await stillOnExpectedKey(kms, report, facts, signal))) {
      return finish('refused')
    }

    report.updateAccepted = await sendUpdate(kms, report, request.target.given, hooks)
    // An answer that never came is settled by reading the alias back, even with --wait-timeout 0.
    if (report.updateAccepted && request.waitTimeoutSeconds === 0) return finish('submitted')

    hooks.onWaitStart?.()
    let seen = false
    try {
      const waited = await waitUntilAliasTargets(
        kms,
        aliasName,
        report.to.keyId as string,
        {
          timeoutSeconds: request.waitTimeoutSeconds,
          onePagePerPoll: request.onePagePerPoll,
          previousKeyId: report.from.keyId ?? undefined,
        },
        hooks,
      )
      seen = waited.seen
      report.verification = waited.verification
      if (waited.interrupted) return finish('interrupted')
      if (waited.overwritten) return finish('overwritten')
    } finally {
      hooks.onWaitEnd?.(seen)
    }

    if (!seen) return finish('unconfirmed')
    if (!request.canary || !facts.targetKey.found) return finish('rotated')
    const moved = {previous: report.from, next: report.to}
    report.canary = await runCanary(kms, aliasName, {...moved, nextMetadata: facts.targetKey.key}, signal)
    if (report.canary.status !== 'failed') return finish('rotated')
    report.rollback = await rollBack(kms, aliasName, moved, async (keyId, previousKeyId) =>
      waitUntilAliasTargets(
        kms,
        aliasName,
        keyId,
        {timeoutSeconds: request.waitTimeoutSeconds, onePagePerPoll: request.onePagePerPoll, previousKeyId},
        {},
      ),
    )
    return finish(report.rollback.seen ? 'rolled-back' : 'rollback-failed')
  } catch (error) {
    // An answer from KMS says what happened, even if Ctrl-C came while it was on its way.
    if (signal?.aborted && !(error instanceof ServiceError)) return finish('interrupted')
    throw error
  }
}

/**
 * Sends UpdateAlias once; true when KMS accepted it, false when its answer was lost on the way.
 * UpdateAlias is deliberately not given the abort signal: once the request is on the wire,
 * waiting for its answer is the only way to know whether the alias moved.
 */
async function sendUpdate(
  kms: KmsGateway,
  report: RotationReport,
  targetKeyId: string,
  hooks: Pick<RotationHooks, 'onUpdateInFlight'>,
): Promise<boolean> {
  report.updateSent = true
  hooks.onUpdateInFlight?.(true)
  try {
    await kms.updateAlias(report.alias, targetKeyId)
    return true
  } catch (error) {
    if (error instanceof UpdateAnswerLostError) {
      report.updateError = error.message
      return false
    }

    // A 4xx answer means KMS refused the change; a 5xx that outlasted the SDK's retries leaves it unknown.
    const refusedByKms = error instanceof ServiceError && (error.httpStatusCode ?? 400) < 500
    if (error instanceof KmsRotateError && !refusedByKms) {
      throw new KmsRotateError(
        `${error.message.replace(/\.$/, '')}. UpdateAlias was sent but not answered with success, so ` +
          `${report.alias} may or may not have moved: run the command again to see where it points.`,
        error.exitCode,
      )
    }

    throw error
  } finally {
    hooks.onUpdateInFlight?.(false)
  }
}
