/** Fixtures shared by the library and the CLI integration tests: which keys, which alias. */
import type {CheckId} from '../../src/lib/checks.js'
import {TEST_REGION, type KeyOptions, type MotoKms} from './moto.js'

export const ALIAS = 'alias/app'
export const OTHER_REGION = 'us-west-2'
export const OTHER_ACCOUNT = '111122223333'
/** A well-formed key id that no key in moto has. */
export const ABSENT_KEY_ID = '0badc0de-0000-4000-8000-000000000000'

export const SYMMETRIC: KeyOptions = {}
export const HMAC_256: KeyOptions = {keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC'}
export const RSA_2048_SIGN: KeyOptions = {keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY'}
export const RSA_2048_ENCRYPT: KeyOptions = {keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT'}
export const RSA_4096_SIGN: KeyOptions = {keySpec: 'RSA_4096', keyUsage: 'SIGN_VERIFY'}

/** What a test starts from: where the alias points (undefined: no alias) and what to pass as the target. */
export interface Given {
  currentKeyId: string | undefined
  target: string
  /** The key id the target names, when it names a key that exists. */
  targetKeyId?: string
  targetArn?: string
}

/** ALIAS on a new key of one kind, and a second key of another (or the same) kind. */
export async function aliasAndTarget(
  kms: MotoKms,
  current: KeyOptions,
  next: KeyOptions,
): Promise<Required<Given>> {
  const currentKey = await kms.createKey(current)
  const targetKey = await kms.createKey(next)
  await kms.createAlias(ALIAS, currentKey.KeyId)
  return {currentKeyId: currentKey.KeyId, target: targetKey.KeyId, targetKeyId: targetKey.KeyId, targetArn: targetKey.Arn}
}

export interface RotationCase {
  kind: string
  key: KeyOptions
  /** Old MACs or signatures stop verifying through the alias: --acknowledge-verify-break is needed. */
  breaksVerification: boolean
}

export const ROTATION_CASES: RotationCase[] = [
  {kind: 'symmetric', key: SYMMETRIC, breaksVerification: false},
  {kind: 'HMAC_256', key: HMAC_256, breaksVerification: true},
  {kind: 'RSA_2048 SIGN_VERIFY', key: RSA_2048_SIGN, breaksVerification: true},
]

/** The number of aliases KMS allows on one key by default. */
export const ALIASES_PER_KEY = 50

/** `count` aliases named alias/other-N on `keyId`. */
export async function aliasesOn(kms: MotoKms, keyId: string, count: number): Promise<void> {
  for (let index = 0; index < count; index++) await kms.createAlias(`alias/other-${index}`, keyId)
}

export interface RefusalCase {
  behaviour: string
  failingCheck: CheckId
  /** refused, unless KMS does not know the alias or the key: then not-found, as in the AWS CLI. */
  outcome: 'refused' | 'not-found'
  arrange: (kms: MotoKms) => Promise<Given>
}

export const REFUSAL_CASES: RefusalCase[] = [
  {
    behaviour: 'a target with another KeyUsage',
    failingCheck: 'key-usage-match',
    outcome: 'refused',
    arrange: (kms) => aliasAndTarget(kms, RSA_2048_SIGN, RSA_2048_ENCRYPT),
  },
  {
    behaviour: 'a target of another family (symmetric to HMAC)',
    failingCheck: 'key-family-match',
    outcome: 'refused',
    arrange: (kms) => aliasAndTarget(kms, SYMMETRIC, HMAC_256),
  },
  {
    behaviour: 'a target with another KeySpec of the same usage (RSA_2048 to RSA_4096)',
    failingCheck: 'key-spec-match',
    outcome: 'refused',
    arrange: (kms) => aliasAndTarget(kms, RSA_2048_SIGN, RSA_4096_SIGN),
  },
  {
    behaviour: 'a Disabled target',
    failingCheck: 'target-enabled',
    outcome: 'refused',
    async arrange(kms) {
      const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
      await kms.disableKey(given.target)
      return given
    },
  },
  {
    behaviour: 'a target pending deletion',
    failingCheck: 'target-enabled',
    outcome: 'refused',
    async arrange(kms) {
      const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
      await kms.scheduleKeyDeletion(given.target)
      return given
    },
  },
  {
    behaviour: 'an alias that does not exist',
    failingCheck: 'alias-exists',
    outcome: 'not-found',
    async arrange(kms) {
      const targetKey = await kms.createKey(SYMMETRIC)
      return {currentKeyId: undefined, target: targetKey.KeyId, targetKeyId: targetKey.KeyId}
    },
  },
  {
    behaviour: 'a target key that does not exist',
    failingCheck: 'target-exists',
    outcome: 'not-found',
    async arrange(kms) {
      const currentKey = await kms.createKey(SYMMETRIC)
      await kms.createAlias(ALIAS, currentKey.KeyId)
      return {currentKeyId: currentKey.KeyId, target: ABSENT_KEY_ID}
    },
  },
  {
    behaviour: 'a target ARN in another Region',
    failingCheck: 'same-account-region',
    outcome: 'refused',
    async arrange(kms) {
      const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
      return {...given, target: given.targetArn.replace(`:${TEST_REGION}:`, `:${OTHER_REGION}:`)}
    },
  },
  {
    behaviour: 'an HMAC_256 alias moved without --acknowledge-verify-break',
    failingCheck: 'alias-verify-break',
    outcome: 'refused',
    arrange: (kms) => aliasAndTarget(kms, HMAC_256, HMAC_256),
  },
  {
    behaviour: 'an RSA_2048 SIGN_VERIFY alias moved without --acknowledge-verify-break',
    failingCheck: 'alias-verify-break',
    outcome: 'refused',
    arrange: (kms) => aliasAndTarget(kms, RSA_2048_SIGN, RSA_2048_SIGN),
  },
  {
    behaviour: `a target that already has ${ALIASES_PER_KEY} other aliases`,
    failingCheck: 'alias-quota',
    outcome: 'refused',
    async arrange(kms) {
      const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
      await aliasesOn(kms, given.targetKeyId, ALIASES_PER_KEY)
      return given
    },
  },
  {
    behaviour: 'a target ARN in another account',
    failingCheck: 'same-account-region',
    outcome: 'refused',
    async arrange(kms) {
      const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
      return {...given, target: given.targetArn.replace(/:\d{12}:key\//, `:${OTHER_ACCOUNT}:key/`)}
    },
  },
]
