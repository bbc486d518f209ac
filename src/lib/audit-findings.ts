/**
 * What `audit` reports about an alias: every finding id with its severity and the condition it
 * names, and the rules that turn an alias and its key into findings. Help, the README, the
 * report schema and the tests read the ids and severities from here.
 */
import type {KeyMetadata} from '@aws-sdk/client-kms'

/** Most urgent first; the order of the human table and of --fail-on. */
export const SEVERITIES = ['critical', 'high', 'medium', 'info'] as const
export type Severity = (typeof SEVERITIES)[number]

export const FINDINGS = {
  'key-pending-deletion': {
    severity: 'critical',
    when: 'the key is scheduled for deletion (PendingDeletion or PendingReplicaDeletion)',
  },
  'key-missing': {severity: 'high', when: 'DescribeKey says the key the alias points at does not exist'},
  'key-disabled': {severity: 'high', when: 'the key is Disabled'},
  'key-pending-import': {severity: 'high', when: 'the key has no key material yet (PendingImport)'},
  'key-unavailable': {severity: 'high', when: 'the key is Unavailable (its custom key store is disconnected)'},
  'key-material-expiring': {
    severity: 'high',
    when: 'imported key material expires (ValidTo) within 30 days, or has expired',
  },
  'alias-purpose-conflict': {severity: 'medium', when: 'the key has other aliases that --expect gives another purpose'},
  'target-aws-managed': {severity: 'info', when: 'the alias points at an AWS managed key'},
  'predefined-alias-unused': {severity: 'info', when: 'a predefined alias/aws/ alias has no key yet'},
} as const satisfies Record<string, {severity: Severity; when: string}>

export type FindingId = keyof typeof FINDINGS
export const FINDING_IDS = Object.keys(FINDINGS) as FindingId[]

/** Imported key material that expires sooner than this is a finding. */
export const EXPIRY_WARNING_DAYS = 30
const DAY_MS = 86_400_000

/** One finding about one alias, with the facts that a runbook matches on. */
export interface Finding {
  id: FindingId
  severity: Severity
  message: string
  profile: string | null
  account: string | null
  region: string
  aliasName: string
  aliasArn: string | null
  /** The key the alias points at; null for a predefined alias with no key. */
  targetKeyId: string | null
  keyArn: string | null
  keyState: string | null
  /** ISO 8601, for key-pending-deletion. */
  deletionDate: string | null
  /** ISO 8601, for key-material-expiring. */
  validTo: string | null
}

/** An alias as ListAliases gave it, with where it was read. */
export interface AliasEntry {
  aliasName: string
  aliasArn: string | null
  targetKeyId: string | null
  profile: string | null
  account: string | null
  region: string
}

/** --fail-on: a severity, or none to never fail on findings. */
export const FAIL_ON_LEVELS = [...SEVERITIES, 'none'] as const
export type FailOn = (typeof FAIL_ON_LEVELS)[number]

/** Whether a finding of `severity` ends the run with a failure at this --fail-on level. */
export function reachesFailOn(severity: Severity, failOn: FailOn): boolean {
  if (failOn === 'none') return false
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(failOn)
}

function iso(date: Date | undefined): string | null {
  return date === undefined ? null : date.toISOString()
}

function finding(
  id: FindingId,
  alias: AliasEntry,
  key: KeyMetadata | undefined,
  message: string,
  dates: {deletionDate?: Date; validTo?: Date} = {},
): Finding {
  return {
    id,
    severity: FINDINGS[id].severity,
    message,
    profile: alias.profile,
    account: alias.account,
    region: alias.region,
    aliasName: alias.aliasName,
    aliasArn: alias.aliasArn,
    targetKeyId: alias.targetKeyId,
    keyArn: key?.Arn ?? null,
    keyState: key?.KeyState ?? null,
    deletionDate: iso(dates.deletionDate),
    validTo: iso(dates.validTo),
  }
}

/** A whole number of days from `now` to `date`, rounded down; negative once it has passed. */
function daysUntil(date: Date, now: Date): number {
  return Math.floor((date.getTime() - now.getTime()) / DAY_MS)
}

/** The findings about one alias from its own key alone: state, expiry, manager. */
export function keyFindings(
  alias: AliasEntry,
  key: KeyMetadata | undefined,
  now: Date,
  {keyMissing = false}: {keyMissing?: boolean} = {},
): Finding[] {
  const {aliasName, targetKeyId} = alias
  const predefined = aliasName.startsWith('alias/aws/')
  if (targetKeyId === null) {
    return predefined
      ? [finding('predefined-alias-unused', alias, key, `${aliasName} is predefined and has no key yet`)]
      : []
  }

  // A predefined alias can name an AWS managed key that is only created on first use.
  if (keyMissing) {
    return predefined
      ? [finding('predefined-alias-unused', alias, key, `${aliasName} names ${targetKeyId}, which does not exist yet`)]
      : [finding('key-missing', alias, key, `${aliasName} points at ${targetKeyId}, which DescribeKey says does not exist`)]
  }

  if (key === undefined) return []
  const keyId = key.KeyId ?? alias.targetKeyId
  const found: Finding[] = []
  switch (key.KeyState) {
    case 'PendingDeletion':
    case 'PendingReplicaDeletion': {
      const when = key.DeletionDate ? ` on ${key.DeletionDate.toISOString()}` : ''
      const message = `${aliasName} points at ${keyId}, ${key.KeyState}: it will be deleted${when}`
      found.push(finding('key-pending-deletion', alias, key, message, {deletionDate: key.DeletionDate}))
      break
    }

    case 'Disabled': {
      found.push(finding('key-disabled', alias, key, `${aliasName} points at ${keyId}, which is Disabled`))
      break
    }

    case 'PendingImport': {
      const message = `${aliasName} points at ${keyId}, PendingImport: it has no key material`
      found.push(finding('key-pending-import', alias, key, message))
      break
    }

    case 'Unavailable': {
      const message = `${aliasName} points at ${keyId}, Unavailable: its custom key store is disconnected`
      found.push(finding('key-unavailable', alias, key, message))
      break
    }

    default: {
      break
    }
  }

  const expires = key.Origin === 'EXTERNAL' && key.ExpirationModel === 'KEY_MATERIAL_EXPIRES'
  if (expires && key.ValidTo !== undefined) {
    const days = daysUntil(key.ValidTo, now)
    if (days < EXPIRY_WARNING_DAYS) {
      const when = key.ValidTo.toISOString()
      const message =
        days < 0
          ? `${aliasName} points at ${keyId}, whose imported key material expired on ${when}`
          : `${aliasName} points at ${keyId}, whose imported key material expires on ${when} (in ${days} days)`
      found.push(finding('key-material-expiring', alias, key, message, {validTo: key.ValidTo}))
    }
  }

  if (key.KeyManager === 'AWS') {
    found.push(finding('target-aws-managed', alias, key, `${aliasName} points at ${keyId}, an AWS managed key`))
  }

  return found
}

/** A purpose and the alias names it covers, from --expect PURPOSE=GLOB. */
export interface Purpose {
  name: string
  glob: string
  pattern: RegExp
}

/** The purpose of an alias: the first --expect, in the order given, whose glob matches it. */
export function purposeOf(aliasName: string, purposes: readonly Purpose[]): string | undefined {
  return purposes.find((purpose) => purpose.pattern.test(aliasName))?.name
}

/**
 * alias-purpose-conflict for every alias of one key, when that key's aliases have two or more
 * purposes between them. Aliases that no --expect matches take no side.
 */
export function purposeFindings(
  aliases: readonly AliasEntry[],
  key: KeyMetadata | undefined,
  purposes: readonly Purpose[],
): Finding[] {
  if (aliases.length < 2 || purposes.length === 0) return []
  const withPurpose = aliases
    .map((alias) => ({alias, purpose: purposeOf(alias.aliasName, purposes)}))
    .filter((entry): entry is {alias: AliasEntry; purpose: string} => entry.purpose !== undefined)
  const distinct = new Set(withPurpose.map((entry) => entry.purpose))
  if (distinct.size < 2) return []

  return withPurpose.map(({alias, purpose}) => {
    const others = withPurpose
      .filter((entry) => entry.purpose !== purpose)
      .map((entry) => `${entry.alias.aliasName} (${entry.purpose})`)
    const message =
      `${alias.aliasName} (${purpose}) shares ${alias.targetKeyId} with ${others.join(', ')}`
    return finding('alias-purpose-conflict', alias, key, message)
  })
}

/** Most severe first, then by Region, account and alias name, so that runs compare line by line. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
    (a.account ?? '').localeCompare(b.account ?? '') ||
    a.region.localeCompare(b.region) ||
    a.aliasName.localeCompare(b.aliasName) ||
    a.id.localeCompare(b.id)
  )
}
