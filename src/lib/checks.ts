import type {AliasListEntry, KeyMetadata} from '@aws-sdk/client-kms'

import {checkAccessParity, checkAliasAbac, type AccessFacts} from './access.js'
import {isReservedAliasName, placeDifferences, RESERVED_ALIAS_PREFIX, type TargetKeyReference} from './identifiers.js'

/**
 * The preflight checks, in the order they are reported, each with the condition that fails it.
 * Their ids are part of the interface: runbooks match on them, so an id never changes meaning.
 */
export const CHECKS = {
  'alias-not-reserved': `the alias name is under ${RESERVED_ALIAS_PREFIX}`,
  'alias-exists': 'no such alias in this account and Region',
  'target-exists': 'DescribeKey finds no such new key',
  'same-account-region': 'a target ARN names another account or Region',
  'key-usage-match': 'KeyUsage differs',
  'key-family-match': 'family differs (symmetric/RSA/ECC/SM2/ML-DSA/HMAC)',
  'key-spec-match': 'KeySpec differs (--allow-key-spec-change: a warning)',
  'target-enabled': 'the new key is not Enabled',
  'target-customer-managed': 'the new key is AWS managed',
  'current-key-enabled': 'the current key is not Enabled (a warning only)',
  'alias-quota': 'the new key has 50 or more other aliases (KMS quota)',
  'alias-verify-break': 'asymmetric or HMAC key, no --acknowledge-verify-break',
  'expected-current': 'the alias is not on --expected-current-key',
  'access-parity': 'someone loses access (--allow-access-loss: a warning)',
  'alias-abac': 'a key policy bases access on aliases (a warning only)',
  'multi-region': 'with --regions: the current or the new key is not multi-Region',
} as const

/** KMS's default "Aliases per KMS key" quota. */
export const ALIASES_PER_KEY_QUOTA = 50

export type CheckId = keyof typeof CHECKS
export const CHECK_IDS = Object.keys(CHECKS) as CheckId[]

export const CHECK_STATUSES = ['pass', 'fail', 'warn', 'skip'] as const
export type CheckStatus = (typeof CHECK_STATUSES)[number]

export interface CheckResult {
  id: CheckId
  status: CheckStatus
  message: string
}

/** What DescribeKey told us about a key, or why we do not know. */
export type KeyLookup =
  | {found: true; key: KeyMetadata}
  | {found: false; reason: 'missing' | 'not-looked-up'; message: string}

/** What ListAliases filtered by the new key answered, or why it was not asked. */
export type AliasListing = {listed: true; aliases: AliasListEntry[]} | {listed: false; message: string}

export interface PreflightFacts {
  aliasName: string
  region: string
  target: TargetKeyReference
  currentKey: KeyLookup
  targetKey: KeyLookup
  allowKeySpecChange: boolean
  /** --expected-current-key, when given. */
  expectedCurrentKey?: TargetKeyReference
  /** The aliases that already point at the new key. */
  targetAliases?: AliasListing
  acknowledgeVerifyBreak?: boolean
  /** The key policies and grants of both keys, compared; absent when they were not read. */
  access?: AccessFacts
  allowAccessLoss?: boolean
  /** A run of --regions: both keys must be multi-Region, and multi-region is reported. */
  multiRegion?: boolean
}

/** How KMS groups keys for UpdateAlias: it refuses to move an alias between these kinds. */
type KeyKind = 'symmetric' | 'asymmetric' | 'HMAC'

interface KeyFamily {
  name: string
  kind: KeyKind | 'unknown'
}

export function keySpecOf(key: KeyMetadata): string | undefined {
  // CustomerMasterKeySpec is the deprecated name; some KMS emulators still send only it.
  return key.KeySpec ?? key.CustomerMasterKeySpec
}

/**
 * KMS always reports KeyUsage; moto leaves it out for keys created without one. The algorithms a
 * key lists tell the same thing, so fall back on them.
 */
export function keyUsageOf(key: KeyMetadata): string | undefined {
  if (key.KeyUsage) return key.KeyUsage
  if (key.EncryptionAlgorithms?.length) return 'ENCRYPT_DECRYPT'
  if (key.SigningAlgorithms?.length) return 'SIGN_VERIFY'
  if (key.MacAlgorithms?.length) return 'GENERATE_VERIFY_MAC'
  if (key.KeyAgreementAlgorithms?.length) return 'KEY_AGREEMENT'
  return undefined
}

export function keyFamily(keySpec: string): KeyFamily {
  if (keySpec === 'SYMMETRIC_DEFAULT') return {name: 'symmetric', kind: 'symmetric'}
  if (keySpec.startsWith('HMAC_')) return {name: 'HMAC', kind: 'HMAC'}
  if (keySpec.startsWith('RSA_')) return {name: 'RSA', kind: 'asymmetric'}
  if (keySpec.startsWith('ECC_')) return {name: 'ECC', kind: 'asymmetric'}
  if (keySpec.startsWith('ML_DSA_')) return {name: 'ML-DSA', kind: 'asymmetric'}
  if (keySpec === 'SM2') return {name: 'SM2', kind: 'asymmetric'}
  return {name: keySpec, kind: 'unknown'}
}

function formatDate(date: Date | undefined): string {
  return date ? date.toISOString().slice(0, 10) : 'an unknown date'
}

function describeState(key: KeyMetadata): string {
  if (key.KeyState === 'PendingDeletion' || key.KeyState === 'PendingReplicaDeletion') {
    return `${key.KeyState} (deletion on ${formatDate(key.DeletionDate)})`
  }

  return key.KeyState ?? 'in an unknown state'
}

function checkAliasNotReserved({aliasName}: PreflightFacts): CheckResult {
  const id = 'alias-not-reserved'
  return isReservedAliasName(aliasName)
    ? {id, status: 'fail', message: `${aliasName} is reserved for AWS managed keys and cannot be updated`}
    : {id, status: 'pass', message: `${aliasName} is not under ${RESERVED_ALIAS_PREFIX}`}
}

function checkAliasExists({aliasName, currentKey}: PreflightFacts): CheckResult {
  const id = 'alias-exists'
  if (currentKey.found) return {id, status: 'pass', message: `${aliasName} points at ${currentKey.key.KeyId}`}
  if (currentKey.reason === 'not-looked-up') return {id, status: 'skip', message: currentKey.message}
  return {id, status: 'fail', message: currentKey.message}
}

function checkTargetExists({targetKey}: PreflightFacts): CheckResult {
  const id = 'target-exists'
  if (targetKey.found) return {id, status: 'pass', message: `${targetKey.key.Arn ?? targetKey.key.KeyId} exists`}
  if (targetKey.reason === 'not-looked-up') return {id, status: 'skip', message: targetKey.message}
  return {id, status: 'fail', message: targetKey.message}
}

function checkSameAccountRegion({target, currentKey, region}: PreflightFacts): CheckResult {
  const id = 'same-account-region'
  if (!target.arn) {
    return {id, status: 'pass', message: 'the target is a key id, so it is looked up in the alias\'s account and Region'}
  }

  const differences = placeDifferences(target.arn, region)

  const aliasAccount = currentKey.found ? currentKey.key.AWSAccountId : undefined
  if (aliasAccount && target.arn.account !== aliasAccount) {
    differences.push(`account ${target.arn.account}, not ${aliasAccount}`)
  }

  if (differences.length > 0) {
    return {id, status: 'fail', message: `the target ARN names ${differences.join(' and ')}`}
  }

  if (!aliasAccount) {
    return {id, status: 'skip', message: `the Region matches; the alias's account is unknown, so the account was not compared`}
  }

  return {id, status: 'pass', message: `both in account ${aliasAccount}, ${region}`}
}

/** The comparisons need both keys; this says which one is missing. */
function bothKeys(facts: PreflightFacts): [KeyMetadata, KeyMetadata] | string {
  const {currentKey, targetKey} = facts
  if (currentKey.found && targetKey.found) return [currentKey.key, targetKey.key]
  const missing = [!currentKey.found && 'the current key', !targetKey.found && 'the target key'].filter(Boolean)
  return `not compared: ${missing.join(' and ')} could not be described`
}

function checkKeyUsageMatch(facts: PreflightFacts): CheckResult {
  const id = 'key-usage-match'
  const keys = bothKeys(facts)
  if (typeof keys === 'string') return {id, status: 'skip', message: keys}
  const [current, target] = keys.map((key) => keyUsageOf(key) ?? 'unknown')
  return current === target
    ? {id, status: 'pass', message: `both ${current}`}
    : {id, status: 'fail', message: `the current key is ${current}, the target ${target}`}
}

function checkKeyFamilyMatch(facts: PreflightFacts): CheckResult {
  const id = 'key-family-match'
  const keys = bothKeys(facts)
  if (typeof keys === 'string') return {id, status: 'skip', message: keys}
  const [currentSpec, targetSpec] = keys.map((key) => keySpecOf(key) ?? 'unknown')
  const [current, target] = [keyFamily(currentSpec), keyFamily(targetSpec)]
  if (current.name === target.name) return {id, status: 'pass', message: `both ${current.name}`}
  const consequence =
    current.kind === target.kind
      ? 'callers of the alias would need other algorithms'
      : `KMS does not move an alias between ${current.kind} and ${target.kind} keys`
  return {
    id,
    status: 'fail',
    message: `the current key is ${current.name} (${currentSpec}), the target ${target.name} (${targetSpec}): ${consequence}`,
  }
}

function checkKeySpecMatch(facts: PreflightFacts): CheckResult {
  const id = 'key-spec-match'
  const keys = bothKeys(facts)
  if (typeof keys === 'string') return {id, status: 'skip', message: keys}
  const [currentSpec, targetSpec] = keys.map((key) => keySpecOf(key) ?? 'unknown')
  if (currentSpec === targetSpec) return {id, status: 'pass', message: `both ${currentSpec}`}
  if (keyFamily(currentSpec).name !== keyFamily(targetSpec).name) {
    return {id, status: 'skip', message: 'not compared: the families differ (see key-family-match)'}
  }

  const difference = `the current key is ${currentSpec}, the target ${targetSpec}`
  return facts.allowKeySpecChange
    ? {id, status: 'warn', message: `${difference}; accepted by --allow-key-spec-change`}
    : {id, status: 'fail', message: `${difference}; pass --allow-key-spec-change if this is intended`}
}

function checkTargetEnabled({targetKey}: PreflightFacts): CheckResult {
  const id = 'target-enabled'
  if (!targetKey.found) return {id, status: 'skip', message: 'not checked: the target key could not be described'}
  return targetKey.key.KeyState === 'Enabled'
    ? {id, status: 'pass', message: 'the target key is Enabled'}
    : {id, status: 'fail', message: `the target key is ${describeState(targetKey.key)}`}
}

function checkTargetCustomerManaged({targetKey}: PreflightFacts): CheckResult {
  const id = 'target-customer-managed'
  if (!targetKey.found) return {id, status: 'skip', message: 'not checked: the target key could not be described'}
  return targetKey.key.KeyManager === 'AWS'
    ? {id, status: 'fail', message: 'the target key is AWS managed; an alias of yours can only point at a customer managed key'}
    : {id, status: 'pass', message: 'the target key is customer managed'}
}

function checkCurrentKeyEnabled({currentKey, targetKey}: PreflightFacts): CheckResult {
  const id = 'current-key-enabled'
  if (!currentKey.found) return {id, status: 'skip', message: 'not checked: the alias has no known current key'}
  if (currentKey.key.KeyState === 'Enabled') return {id, status: 'pass', message: 'the current key is Enabled'}
  const staying = targetKey.found && targetKey.key.KeyId === currentKey.key.KeyId
  const advice = staying ? 'and the alias stays on it' : 'moving the alias away from it is the repair'
  return {id, status: 'warn', message: `the current key is ${describeState(currentKey.key)}; ${advice}`}
}

function checkAliasQuota({aliasName, targetKey, targetAliases}: PreflightFacts): CheckResult {
  const id = 'alias-quota'
  if (!targetKey.found) return {id, status: 'skip', message: 'not counted: the target key could not be described'}
  if (!targetAliases?.listed) {
    const message = targetAliases?.message ?? 'not counted: the new key\'s aliases were not listed'
    return {id, status: 'skip', message}
  }

  // AWS's own aliases and the alias being moved do not use up the quota that the move needs.
  const others = targetAliases.aliases.filter(
    (entry) =>
      entry.TargetKeyId === targetKey.key.KeyId &&
      entry.AliasName !== aliasName &&
      !isReservedAliasName(entry.AliasName ?? ''),
  ).length
  const quota = ALIASES_PER_KEY_QUOTA
  if (others < quota) {
    const count = `${others} other alias${others === 1 ? '' : 'es'}`
    return {id, status: 'pass', message: `the new key has ${count}; KMS allows ${quota}`}
  }

  return {
    id,
    status: 'fail',
    message:
      `the new key already has ${others} other aliases and KMS allows ${quota} per key: delete one, ` +
      'or have the "Aliases per KMS key" quota raised, first',
  }
}

/** What stops working, for data made with the old key, once the alias names another key. */
function whatBreaks(key: KeyMetadata): string | undefined | null {
  switch (keyUsageOf(key)) {
    case 'SIGN_VERIFY': {
      return 'signatures made with the old key will no longer verify through the alias'
    }

    case 'GENERATE_VERIFY_MAC': {
      return 'MACs made with the old key will no longer verify through the alias'
    }

    case 'KEY_AGREEMENT': {
      return 'peers that hold the old public key will derive other shared secrets through the alias'
    }

    case 'ENCRYPT_DECRYPT': {
      const spec = keySpecOf(key)
      if (spec === undefined) return null
      // Symmetric ciphertext carries the id of its key, so Decrypt finds the old key by itself.
      if (spec === 'SYMMETRIC_DEFAULT') return undefined
      return 'ciphertext made with the old public key decrypts only with the old key, not through the alias'
    }

    default: {
      return null
    }
  }
}

function checkAliasVerifyBreak({currentKey, targetKey, acknowledgeVerifyBreak}: PreflightFacts): CheckResult {
  const id = 'alias-verify-break'
  // Callers depend on what the current key does; the target only stands in when it is unknown.
  const key = currentKey.found ? currentKey.key : targetKey.found ? targetKey.key : undefined
  if (!key) return {id, status: 'skip', message: 'not checked: neither key could be described'}
  const breaks = whatBreaks(key)
  if (breaks === null) {
    return {id, status: 'skip', message: 'not checked: the key\'s KeyUsage or KeySpec is unknown'}
  }

  if (breaks === undefined) {
    return {id, status: 'pass', message: 'symmetric ciphertext names its key, so old ciphertext still decrypts'}
  }

  return acknowledgeVerifyBreak
    ? {id, status: 'warn', message: `${breaks}; accepted by --acknowledge-verify-break`}
    : {
        id,
        status: 'fail',
        message: `${breaks}: make such callers name the old key, then pass --acknowledge-verify-break`,
      }
}

/** Whether the alias's key is the expected one: the same key id and, for an ARN, account and Region. */
function isExpectedKey(expected: TargetKeyReference, key: KeyMetadata, region: string): boolean {
  const expectedKeyId = expected.arn?.keyId ?? expected.given
  if (expectedKeyId.toLowerCase() !== key.KeyId?.toLowerCase()) return false
  if (!expected.arn) return true
  // An alias can only name a key in its own account and Region.
  return expected.arn.account === key.AWSAccountId && placeDifferences(expected.arn, region).length === 0
}

/**
 * Compares the alias's key with --expected-current-key: in the preflight, and again with `reread`
 * set, from a DescribeKey made just before UpdateAlias.
 */
export function checkExpectedCurrent(
  facts: Pick<PreflightFacts, 'aliasName' | 'region' | 'currentKey' | 'expectedCurrentKey'>,
  reread = false,
): CheckResult {
  const id = 'expected-current'
  const {aliasName, region, currentKey, expectedCurrentKey: expected} = facts
  if (!expected) {
    return {id, status: 'skip', message: 'no --expected-current-key was given, so any current key is accepted'}
  }

  const when = reread ? ' (read again just before UpdateAlias)' : ''
  if (!currentKey.found) {
    return reread
      ? {id, status: 'fail', message: `${aliasName} could not be read${when}: ${currentKey.message}`}
      : {id, status: 'skip', message: 'not compared: the alias has no known current key'}
  }

  const {key} = currentKey
  if (isExpectedKey(expected, key, region)) {
    return {id, status: 'pass', message: `${aliasName} points at the expected key ${expected.given}${when}`}
  }

  const actual = expected.arn ? (key.Arn ?? key.KeyId) : key.KeyId
  const message = `${aliasName} points at ${actual}${when}, not at the expected key ${expected.given}`
  return {id, status: 'fail', message}
}

const EVALUATORS: Record<CheckId, (facts: PreflightFacts) => CheckResult> = {
  'alias-not-reserved': checkAliasNotReserved,
  'alias-exists': checkAliasExists,
  'target-exists': checkTargetExists,
  'same-account-region': checkSameAccountRegion,
  'key-usage-match': checkKeyUsageMatch,
  'key-family-match': checkKeyFamilyMatch,
  'key-spec-match': checkKeySpecMatch,
  'target-enabled': checkTargetEnabled,
  'target-customer-managed': checkTargetCustomerManaged,
  'current-key-enabled': checkCurrentKeyEnabled,
  'alias-quota': checkAliasQuota,
  'alias-verify-break': checkAliasVerifyBreak,
  'expected-current': (facts) => checkExpectedCurrent(facts),
  'access-parity': (facts) => checkAccessParity(facts.access, facts.allowAccessLoss ?? false),
  'alias-abac': (facts) => checkAliasAbac(facts.access),
  'multi-region': checkMultiRegion,
}

/**
 * Both keys are multi-Region, so that each Region's alias can move to that Region's replica of
 * the same key. Only --regions asks for it; a single-Region run does not list it.
 */
export function checkMultiRegion({currentKey, targetKey}: PreflightFacts): CheckResult {
  const id = 'multi-region'
  if (!currentKey.found || !targetKey.found) {
    return {id, status: 'skip', message: 'not compared: a key could not be described'}
  }

  const single = [
    currentKey.key.MultiRegion !== true && `the current key ${currentKey.key.KeyId} is not multi-Region`,
    targetKey.key.MultiRegion !== true && `the target key ${targetKey.key.KeyId} is not multi-Region`,
  ].filter(Boolean)
  if (single.length > 0) {
    return {id, status: 'fail', message: `${single.join(' and ')}: --regions needs mrk- keys on both sides`}
  }

  return {id, status: 'pass', message: 'both keys are multi-Region'}
}

/** Runs every check; one failure never hides another. */
export function runChecks(facts: PreflightFacts): CheckResult[] {
  return CHECK_IDS.filter((id) => id !== 'multi-region' || facts.multiRegion).map((id) => EVALUATORS[id](facts))
}
