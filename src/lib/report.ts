import type {KeyMetadata} from '@aws-sdk/client-kms'

import type {AccessChange} from './access.js'
import type {CanaryResult} from './canary.js'
import {keySpecOf, keyUsageOf, type CheckResult} from './checks.js'
import type {Outcome} from './outcomes.js'

/** What the report says about a key; every field is null when the key could not be described. */
export interface KeySummary {
  keyId: string | null
  arn: string | null
  keySpec: string | null
  keyUsage: string | null
  keyState: string | null
  keyManager: string | null
}

export interface Verification {
  /** ListAliases reads that finished, until the alias showed the new key or the deadline passed. */
  polls: number
  pagesRead: number
  waitedMs: number
  /** Why polling stopped early, when a ListAliases call failed. */
  error: string | null
  /** The key the alias pointed at in the last ListAliases read; null when it was not listed. */
  lastSeenTarget: string | null
}

/** Moving the alias back to the old key after a failed canary. */
export interface Rollback {
  /** UpdateAlias to the old key was sent; false when the alias was no longer on the new key. */
  sent: boolean
  /** ListAliases showed the alias on the old key again. */
  seen: boolean
  /** Where the alias pointed at the last read (DescribeKey, then ListAliases); null when unknown. */
  aliasTarget: string | null
  error: string | null
}

/** The machine report; schema/report.schema.json describes it for consumers. */
export interface RotationReport {
  alias: string
  region: string
  outcome: Outcome
  summary: string
  dryRun: boolean
  updateSent: boolean
  /** KMS answered UpdateAlias with success. */
  updateAccepted: boolean
  /** Why UpdateAlias, although sent, has no answer: the connection closed or the read timed out. */
  updateError: string | null
  from: KeySummary
  to: KeySummary
  checks: CheckResult[]
  /** Who may use the current key and may not use the new one, per the key policies and grants. */
  accessChanges: AccessChange[]
  verification: Verification | null
  /** The round trip through the alias after it was seen on the new key; null when none was due. */
  canary: CanaryResult | null
  rollback: Rollback | null
  apiCalls: Record<string, number>
  /** Attempts the SDK client retried after throttling or server errors, per operation. */
  apiRetries: Record<string, number>
  elapsedMs: number
}

export const UNKNOWN_KEY: KeySummary = Object.freeze({
  keyId: null,
  arn: null,
  keySpec: null,
  keyUsage: null,
  keyState: null,
  keyManager: null,
})

export function summarizeKey(key: KeyMetadata | undefined): KeySummary {
  if (!key) return {...UNKNOWN_KEY}
  return {
    keyId: key.KeyId ?? null,
    arn: key.Arn ?? null,
    keySpec: keySpecOf(key) ?? null,
    keyUsage: keyUsageOf(key) ?? null,
    keyState: key.KeyState ?? null,
    keyManager: key.KeyManager ?? null,
  }
}

function failedCheckIds(report: Pick<RotationReport, 'checks'>): string[] {
  return report.checks.filter((check) => check.status === 'fail').map((check) => check.id)
}

/** The failed alias-exists or target-exists check, whose message is KMS's NotFoundException. */
export function notFoundCheck(report: Pick<RotationReport, 'checks'>): CheckResult | undefined {
  return report.checks.find(
    (check) => (check.id === 'alias-exists' || check.id === 'target-exists') && check.status === 'fail',
  )
}

function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)} s`
}

function updateState({alias, to, updateAccepted, updateError}: Omit<RotationReport, 'summary'>): string {
  const change = `${alias} -> ${to.keyId ?? 'the target key'}`
  if (updateAccepted) return `UpdateAlias was accepted for ${change}`
  return `UpdateAlias was sent for ${change} and its answer was lost (${updateError?.replace(/\.$/, '')})`
}

function lastRead({verification}: Omit<RotationReport, 'summary'>): string {
  if (!verification || verification.polls === 0) return ''
  const where = verification.lastSeenTarget ?? 'no key (the alias was not listed)'
  return `; at the last read (poll ${verification.polls}) it pointed at ${where}`
}

/** After `rotated`: what the canary showed, or a warning when it could not run. */
function canaryNote({canary}: Omit<RotationReport, 'summary'>): string {
  if (!canary) return ''
  if (canary.status === 'passed') return ` Canary: ${canary.message}.`
  return ` Warning: the canary was ${canary.message.replace(/\.$/, '')}; the new key was not tried.`
}

/** One sentence that says what happened and, when the alias state is not settled, what to do. */
export function describeOutcome(report: Omit<RotationReport, 'summary'>): string {
  const {alias, from, to, verification} = report
  const target = to.keyId ?? 'the target key'
  switch (report.outcome) {
    case 'rotated': {
      const polls = verification ? ` (seen on poll ${verification.polls}, after ${seconds(verification.waitedMs)})` : ''
      const lost = report.updateAccepted ? '' : ' The answer to UpdateAlias was lost; the alias was read back.'
      return `${alias} now points at ${target}${polls}.${lost}${canaryNote(report)}`
    }

    case 'unchanged': {
      const failed = failedCheckIds(report)
      const note = failed.length > 0 ? ` Note: ${failed.join(', ')} failed.` : ''
      return `${alias} already points at ${target}; nothing was changed.${note}`
    }

    case 'planned': {
      return `Dry run: no check failed; ${alias} would move from ${from.keyId} to ${target}.`
    }

    case 'submitted': {
      return `UpdateAlias was accepted for ${alias} -> ${target}; not waiting for it to be visible (--wait-timeout 0).`
    }

    case 'refused': {
      return `Refused: ${failedCheckIds(report).join(', ')} failed; nothing was changed.`
    }

    case 'not-found': {
      return notFoundCheck(report)?.message ?? 'Refused: the alias or the new key does not exist; nothing was changed.'
    }

    case 'declined': {
      return 'Not confirmed; nothing was changed.'
    }

    case 'unconfirmed': {
      const reason = verification?.error
        ? `polling stopped: ${verification.error.replace(/\.$/, '')}`
        : `it was not seen on ${target} within ${seconds(verification?.waitedMs ?? 0)}`
      return `${updateState(report)}, but ${reason}${lastRead(report)}; run the command again to confirm.`
    }

    case 'interrupted': {
      return report.updateSent
        ? `Interrupted: ${updateState(report)}${lastRead(report)}; run the command again to confirm.`
        : 'Interrupted before UpdateAlias was sent; nothing was changed.'
    }

    case 'overwritten': {
      const where = verification?.lastSeenTarget ?? 'another key'
      const poll = verification ? `poll ${verification.polls}` : 'the last read'
      return (
        `${updateState(report)}, but ${poll} showed ${alias} on ${where}, neither the old key ` +
        `${from.keyId ?? ''} nor the new one: someone else moved it, and that change was left in place; ` +
        'find out who before running the command again.'
      )
    }

    case 'rolled-back': {
      return (
        `Canary failed: ${report.canary?.message ?? 'no answer'}. ${alias} was moved back to ${from.keyId} ` +
        `and seen there; ${target} was left as it is: find out why it fails before trying again.`
      )
    }

    case 'rollback-failed': {
      const where = report.rollback?.aliasTarget ?? 'an unknown key'
      const why = report.rollback?.error ? ` (${report.rollback.error.replace(/\.$/, '')})` : ''
      return (
        `Canary failed: ${report.canary?.message ?? 'no answer'}. ${alias} was not moved back to ` +
        `${from.keyId ?? 'the old key'}${why}; at the last read it pointed at ${where}: check it before anything else.`
      )
    }

    case 'partial': {
      // Only the report of a --regions run, which has its own summary, ends this way.
      return 'The Regions ended differently; see the report of each Region.'
    }
  }
}
