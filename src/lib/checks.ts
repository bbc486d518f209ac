import type {KeyMetadata} from '@aws-sdk/client-kms'

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
  'access-parity': 'someone loses access (--allow-access-loss: a warning)',
  'alias-abac': 'a key policy bases access on aliases (a warning only)',
} as const

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

export interface PreflightFacts {
  aliasName: string
  region: string
  target: TargetKeyReference
  currentKey: KeyLookup
  targetKey: KeyLookup
  allowKeySpecChange: boolean
  /** The key policies and grants of both keys, compared; absent when they were not read. */
  access?: AccessFacts
  allowAccessLoss?: boolean
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

function checkAliasExists({aliasName, currentKey, region}: PreflightFacts): CheckResult {
  const id = 'alias-exists'
  if (currentKey.found) return {id, status: 'pass', message: `${aliasName} points at ${currentKey.key.KeyId}`}
  if (currentKey.reason === 'not-looked-up') return {id, status: 'skip', message: currentKey.message}
  return {id, status: 'fail', message: `${aliasName} does not exist in ${region}: ${currentKey.message}`}
}

function checkTargetExists({target, targetKey, region}: PreflightFacts): CheckResult {
  const id = 'target-exists'
  if (targetKey.found) return {id, status: 'pass', message: `${targetKey.key.Arn ?? targetKey.key.KeyId} exists`}
  if (targetKey.reason === 'not-looked-up') return {id, status: 'skip', message: targetKey.message}
  return {id, status: 'fail', message: `no key ${target.given} in ${region}: ${targetKey.message}`}
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
  'access-parity': (facts) => checkAccessParity(facts.access, facts.allowAccessLoss ?? false),
  'alias-abac': (facts) => checkAliasAbac(facts.access),
}

/** Runs every check; one failure never hides another. */
export function runChecks(facts: PreflightFacts): CheckResult[] {
  return CHECK_IDS.map((id) => EVALUATORS[id](facts))
}
