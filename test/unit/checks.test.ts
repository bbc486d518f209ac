import type {KeyMetadata, KeyState} from '@aws-sdk/client-kms'
import {describe, expect, it} from 'vitest'

import type {AliasListEntry} from '@aws-sdk/client-kms'

import {assessAccess, type KeyAccessReads} from '../../src/lib/access.js'
import {
  checkExpectedCurrent,
  CHECK_IDS,
  keyFamily,
  keyUsageOf,
  runChecks,
  type CheckId,
  type CheckResult,
  type KeyLookup,
  type PreflightFacts,
} from '../../src/lib/checks.js'
import {parseExpectedCurrentKey, parseTargetKeyId} from '../../src/lib/identifiers.js'
import {
  ACCOUNT,
  ALIAS,
  aliasEntry,
  CURRENT_KEY_ID,
  defaultKeyPolicy,
  keyArn,
  keyMetadata,
  OTHER_ACCOUNT,
  REGION,
  TARGET_KEY_ID,
} from '../support/kms-mock.js'

const found = (key: KeyMetadata): KeyLookup => ({found: true, key})
const missing: KeyLookup = {
  found: false,
  reason: 'missing',
  message: `An error occurred (NotFoundException) when calling the DescribeKey operation: Alias ${ALIAS} is not found.`,
}

const DEFAULT_ACCESS: KeyAccessReads = {policy: {read: true, value: defaultKeyPolicy()}, grants: {read: true, value: []}}

/**
 * Facts where every check passes: two Enabled customer managed symmetric keys in one account,
 * both with the default key policy and no grants, no other alias on the target, and the alias on
 * the key that was expected.
 */
function facts(overrides: Partial<PreflightFacts> = {}): PreflightFacts {
  return {
    aliasName: ALIAS,
    region: REGION,
    target: parseTargetKeyId(TARGET_KEY_ID),
    currentKey: found(keyMetadata(CURRENT_KEY_ID)),
    targetKey: found(keyMetadata(TARGET_KEY_ID)),
    allowKeySpecChange: false,
    expectedCurrentKey: parseExpectedCurrentKey(CURRENT_KEY_ID),
    targetAliases: {listed: true, aliases: []},
    acknowledgeVerifyBreak: false,
    access: assessAccess(
      {key: keyMetadata(CURRENT_KEY_ID), reads: DEFAULT_ACCESS},
      {key: keyMetadata(TARGET_KEY_ID), reads: DEFAULT_ACCESS},
    ),
    ...overrides,
  }
}

/** Facts for a current and a target key that differ from the defaults by `current` and `target`. */
function keys(current: Partial<KeyMetadata>, target: Partial<KeyMetadata>, allowKeySpecChange = false) {
  return facts({
    currentKey: found(keyMetadata(CURRENT_KEY_ID, current)),
    targetKey: found(keyMetadata(TARGET_KEY_ID, target)),
    allowKeySpecChange,
  })
}

function check(results: CheckResult[], id: CheckId): CheckResult {
  const result = results.find((candidate) => candidate.id === id)
  if (!result) throw new Error(`no result for ${id}`)
  return result
}

const RSA_SIGN = {KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY'} as const
const ECC_SIGN = {KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY'} as const
const RSA_ENCRYPT = {KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT'} as const
const HMAC = {KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC'} as const

describe('runChecks', () => {
  it('reports every check once, in the documented order, all passing for two matching keys', () => {
    // given two Enabled customer managed symmetric keys in the same account
    // when the checks run
    const results = runChecks(facts())
    // then every check but multi-region, which only --regions runs, is reported in order and passes
    expect(results.map((result) => result.id)).toEqual(CHECK_IDS.filter((id) => id !== 'multi-region'))
    expect(results.filter((result) => result.status !== 'pass')).toEqual([])
  })

  it('adds multi-region, failing, for a --regions run whose current key is single-Region', () => {
    // given a multi-Region target and a current key that is not multi-Region
    const given = keys({}, {MultiRegion: true})
    // when the checks of a --regions run are made
    const results = runChecks({...given, multiRegion: true})
    // then multi-region comes last and fails, naming the single-Region key
    const last = results.at(-1)
    expect(last?.id).toBe('multi-region')
    expect(last?.status).toBe('fail')
    expect(last?.message).toContain(`the current key ${CURRENT_KEY_ID} is not multi-Region`)
    expect(last?.message).not.toContain('the target key')
  })

  it('passes multi-region when both keys are multi-Region', () => {
    const results = runChecks({...keys({MultiRegion: true}, {MultiRegion: true}), multiRegion: true})
    expect(results.find((result) => result.id === 'multi-region')?.status).toBe('pass')
  })

  it('reports every failing check, not only the first', () => {
    // given a reserved alias name, a target ARN in another Region, and an AWS managed,
    // disabled HMAC target
    const results = runChecks({
      ...keys({}, {...HMAC, KeyManager: 'AWS', KeyState: 'Disabled'}),
      aliasName: 'alias/aws/app',
      target: parseTargetKeyId(keyArn(TARGET_KEY_ID, 'eu-west-1')),
    })
    // when the checks run / then each of those problems is a failure of its own
    const failed = results.filter((result) => result.status === 'fail').map((result) => result.id)
    expect(failed).toEqual([
      'alias-not-reserved',
      'same-account-region',
      'key-usage-match',
      'key-family-match',
      'target-enabled',
      'target-customer-managed',
    ])
  })

  describe('alias-not-reserved', () => {
    it('passes for an alias outside alias/aws/', () => {
      expect(check(runChecks(facts()), 'alias-not-reserved').status).toBe('pass')
    })

    it('fails for an alias under alias/aws/', () => {
      const result = check(runChecks(facts({aliasName: 'alias/aws/ebs'})), 'alias-not-reserved')
      expect(result).toMatchObject({status: 'fail', message: expect.stringContaining('alias/aws/ebs')})
    })
  })

  describe('alias-exists', () => {
    it('passes and names the current key when the alias was described', () => {
      const result = check(runChecks(facts()), 'alias-exists')
      expect(result).toMatchObject({status: 'pass', message: expect.stringContaining(CURRENT_KEY_ID)})
    })

    it("fails when DescribeKey found no such alias, with KMS's answer as the message", () => {
      // given an alias DescribeKey does not know
      const result = check(runChecks(facts({currentKey: missing})), 'alias-exists')
      // then the check fails and says what KMS said, as the AWS CLI would print it
      expect(result).toEqual({id: 'alias-exists', status: 'fail', message: missing.message})
    })

    it('is skipped when the alias was deliberately not looked up', () => {
      const currentKey: KeyLookup = {found: false, reason: 'not-looked-up', message: 'not looked up'}
      expect(check(runChecks(facts({currentKey})), 'alias-exists').status).toBe('skip')
    })
  })

  describe('target-exists', () => {
    it('passes when the target was described', () => {
      const result = check(runChecks(facts()), 'target-exists')
      expect(result).toMatchObject({status: 'pass', message: expect.stringContaining(TARGET_KEY_ID)})
    })

    it("fails when DescribeKey found no such key, with KMS's answer as the message", () => {
      const result = check(runChecks(facts({targetKey: missing})), 'target-exists')
      expect(result).toEqual({id: 'target-exists', status: 'fail', message: missing.message})
    })

    it('is skipped when the target was deliberately not looked up', () => {
      const targetKey: KeyLookup = {found: false, reason: 'not-looked-up', message: 'not looked up'}
      expect(check(runChecks(facts({targetKey})), 'target-exists').status).toBe('skip')
    })
  })

  describe('same-account-region', () => {
    it('passes for a bare key id', () => {
      expect(check(runChecks(facts()), 'same-account-region').status).toBe('pass')
    })

    it('passes for an ARN in the alias\'s account and Region', () => {
      const target = parseTargetKeyId(keyArn(TARGET_KEY_ID))
      const result = check(runChecks(facts({target})), 'same-account-region')
      expect(result).toMatchObject({status: 'pass', message: expect.stringContaining(ACCOUNT)})
    })

    it('fails for an ARN in another Region and says it is the Region that differs', () => {
      // given a target ARN in eu-west-1 while the client talks to us-east-1
      const target = parseTargetKeyId(keyArn(TARGET_KEY_ID, 'eu-west-1'))
      const result = check(runChecks(facts({target})), 'same-account-region')
      // then it fails naming both Regions and no account
      expect(result.status).toBe('fail')
      expect(result.message).toContain(`Region eu-west-1, not ${REGION}`)
      expect(result.message).not.toContain('account')
    })

    it('fails for an ARN in another account and says it is the account that differs', () => {
      const target = parseTargetKeyId(keyArn(TARGET_KEY_ID, REGION, OTHER_ACCOUNT))
      const result = check(runChecks(facts({target})), 'same-account-region')
      expect(result.status).toBe('fail')
      expect(result.message).toContain(`account ${OTHER_ACCOUNT}, not ${ACCOUNT}`)
      expect(result.message).not.toContain('Region')
    })

    it('names both differences when the Region and the account differ', () => {
      const target = parseTargetKeyId(keyArn(TARGET_KEY_ID, 'eu-west-1', OTHER_ACCOUNT))
      const result = check(runChecks(facts({target})), 'same-account-region')
      expect(result.status).toBe('fail')
      expect(result.message).toContain(`Region eu-west-1, not ${REGION}`)
      expect(result.message).toContain(`account ${OTHER_ACCOUNT}, not ${ACCOUNT}`)
    })

    it('is skipped when the Region matches but the alias\'s account is unknown', () => {
      const target = parseTargetKeyId(keyArn(TARGET_KEY_ID))
      const result = check(runChecks(facts({target, currentKey: missing})), 'same-account-region')
      expect(result.status).toBe('skip')
    })
  })

  describe('key-usage-match', () => {
    it('passes when both keys have the same KeyUsage', () => {
      expect(check(runChecks(keys(RSA_SIGN, RSA_SIGN)), 'key-usage-match').status).toBe('pass')
    })

    it('fails when KeyUsage differs and names both usages', () => {
      const results = runChecks(keys({KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT'}, RSA_SIGN))
      expect(check(results, 'key-usage-match')).toMatchObject({
        status: 'fail',
        message: 'the current key is ENCRYPT_DECRYPT, the target SIGN_VERIFY',
      })
    })

    it('is skipped when one key could not be described', () => {
      expect(check(runChecks(facts({targetKey: missing})), 'key-usage-match').status).toBe('skip')
    })
  })

  describe('key-family-match', () => {
    it.each<[string, Partial<KeyMetadata>, Partial<KeyMetadata>]>([
      ['symmetric', {}, {}],
      ['RSA of two sizes', {KeySpec: 'RSA_2048'}, {KeySpec: 'RSA_4096'}],
      ['ECC of two curves', {KeySpec: 'ECC_NIST_P256'}, {KeySpec: 'ECC_NIST_P384'}],
      ['HMAC of two sizes', {KeySpec: 'HMAC_256'}, {KeySpec: 'HMAC_512'}],
    ])('passes for two %s keys', (_, current, target) => {
      expect(check(runChecks(keys(current, target)), 'key-family-match').status).toBe('pass')
    })

    it.each<[string, Partial<KeyMetadata>, string, Partial<KeyMetadata>, string]>([
      ['symmetric', {}, 'HMAC', HMAC, 'between symmetric and HMAC keys'],
      ['HMAC', HMAC, 'symmetric', {}, 'between HMAC and symmetric keys'],
      ['symmetric', {}, 'RSA', RSA_ENCRYPT, 'between symmetric and asymmetric keys'],
      ['HMAC', HMAC, 'ECC', ECC_SIGN, 'between HMAC and asymmetric keys'],
      ['RSA', RSA_SIGN, 'ECC', ECC_SIGN, 'callers of the alias would need other algorithms'],
    ])('fails from %s to %s and says why', (_, current, __, target, consequence) => {
      const result = check(runChecks(keys(current, target)), 'key-family-match')
      expect(result.status).toBe('fail')
      expect(result.message).toContain(consequence)
    })

    it('reads the deprecated CustomerMasterKeySpec when KeySpec is absent', () => {
      // given a current key described only with the deprecated field, as some emulators do
      const current = {KeySpec: undefined, CustomerMasterKeySpec: 'HMAC_256'} as const
      const result = check(runChecks(keys(current, {})), 'key-family-match')
      // then its family is still known
      expect(result).toMatchObject({status: 'fail', message: expect.stringContaining('HMAC (HMAC_256)')})
    })
  })

  describe('key-spec-match', () => {
    it('passes when both keys have the same KeySpec', () => {
      expect(check(runChecks(keys(RSA_SIGN, RSA_SIGN)), 'key-spec-match').status).toBe('pass')
    })

    it('fails from RSA_2048 to RSA_4096 and points at --allow-key-spec-change', () => {
      const result = check(runChecks(keys(RSA_SIGN, {...RSA_SIGN, KeySpec: 'RSA_4096'})), 'key-spec-match')
      expect(result.status).toBe('fail')
      expect(result.message).toContain('RSA_2048, the target RSA_4096')
      expect(result.message).toContain('--allow-key-spec-change')
    })

    it('only warns from RSA_2048 to RSA_4096 with allowKeySpecChange', () => {
      const results = runChecks({...keys(RSA_SIGN, {...RSA_SIGN, KeySpec: 'RSA_4096'}, true), acknowledgeVerifyBreak: true})
      expect(check(results, 'key-spec-match').status).toBe('warn')
      expect(results.filter((result) => result.status === 'fail')).toEqual([])
    })

    it('fails from HMAC_256 to HMAC_512', () => {
      const result = check(runChecks(keys(HMAC, {...HMAC, KeySpec: 'HMAC_512'})), 'key-spec-match')
      expect(result.status).toBe('fail')
      expect(result.message).toContain('HMAC_256, the target HMAC_512')
    })

    it('only warns from HMAC_256 to HMAC_512 with allowKeySpecChange', () => {
      const result = check(runChecks(keys(HMAC, {...HMAC, KeySpec: 'HMAC_512'}, true)), 'key-spec-match')
      expect(result.status).toBe('warn')
    })

    it('is skipped when the families differ, leaving the failure to key-family-match', () => {
      const results = runChecks(keys(RSA_SIGN, ECC_SIGN, true))
      expect(check(results, 'key-spec-match').status).toBe('skip')
      expect(check(results, 'key-family-match').status).toBe('fail')
    })
  })

  describe('target-enabled', () => {
    it('passes for an Enabled target', () => {
      expect(check(runChecks(facts()), 'target-enabled').status).toBe('pass')
    })

    it.each<KeyState>([
      'Disabled',
      'PendingDeletion',
      'PendingImport',
      'Unavailable',
      'Creating',
      'Updating',
      'PendingReplicaDeletion',
    ])('fails for a %s target and names the state', (state) => {
      const result = check(runChecks(keys({}, {KeyState: state, Enabled: false})), 'target-enabled')
      expect(result.status).toBe('fail')
      expect(result.message).toContain(state)
    })

    it('gives the deletion date of a target pending deletion', () => {
      const target = {KeyState: 'PendingDeletion', DeletionDate: new Date('2030-05-06T00:00:00Z')} as const
      const result = check(runChecks(keys({}, target)), 'target-enabled')
      expect(result.message).toContain('PendingDeletion (deletion on 2030-05-06)')
    })

    it('is skipped when the target could not be described', () => {
      expect(check(runChecks(facts({targetKey: missing})), 'target-enabled').status).toBe('skip')
    })
  })

  describe('target-customer-managed', () => {
    it('passes for a customer managed target', () => {
      expect(check(runChecks(facts()), 'target-customer-managed').status).toBe('pass')
    })

    it('fails for an AWS managed target', () => {
      const result = check(runChecks(keys({}, {KeyManager: 'AWS'})), 'target-customer-managed')
      expect(result).toMatchObject({status: 'fail', message: expect.stringContaining('AWS managed')})
    })

    it('is skipped when the target could not be described', () => {
      expect(check(runChecks(facts({targetKey: missing})), 'target-customer-managed').status).toBe('skip')
    })
  })

  describe('current-key-enabled', () => {
    it('passes for an Enabled current key', () => {
      expect(check(runChecks(facts()), 'current-key-enabled').status).toBe('pass')
    })

    it.each<KeyState>(['Disabled', 'PendingDeletion'])(
      'only warns for a %s current key, so moving the alias away stays possible',
      (state) => {
        // given an alias whose current key is no longer usable
        const results = runChecks(keys({KeyState: state, Enabled: false}, {}))
        // then that is a warning and nothing fails
        expect(check(results, 'current-key-enabled')).toMatchObject({
          status: 'warn',
          message: expect.stringContaining(state),
        })
        expect(results.filter((result) => result.status === 'fail')).toEqual([])
      },
    )

    it('is skipped when the alias has no known current key', () => {
      expect(check(runChecks(facts({currentKey: missing})), 'current-key-enabled').status).toBe('skip')
    })
  })

  describe('alias-quota', () => {
    /** `count` customer aliases on the target, named alias/other-N, and then `more`. */
    function onTarget(count: number, ...more: AliasListEntry[]): Partial<PreflightFacts> {
      const others = Array.from({length: count}, (_, index) => aliasEntry(`alias/other-${index}`, TARGET_KEY_ID))
      return {targetAliases: {listed: true, aliases: [...others, ...more]}}
    }

    it('passes with 49 other aliases on the new key, and gives the count and the quota', () => {
      const result = check(runChecks(facts(onTarget(49))), 'alias-quota')
      expect(result).toEqual({id: 'alias-quota', status: 'pass', message: 'the new key has 49 other aliases; KMS allows 50'})
    })

    it('fails with 50 other aliases on the new key, and says what to do', () => {
      // given a target that already carries the quota of aliases
      const result = check(runChecks(facts(onTarget(50))), 'alias-quota')
      // then the check fails with the count and the quota
      expect(result.status).toBe('fail')
      expect(result.message).toContain('already has 50 other aliases and KMS allows 50 per key')
      expect(result.message).toContain('delete one')
    })

    it('does not count AWS aliases, the alias being moved, or aliases of other keys', () => {
      // given 49 aliases of ours on the target, and three entries that do not count
      const more = [
        aliasEntry('alias/aws/ebs', TARGET_KEY_ID),
        aliasEntry(ALIAS, TARGET_KEY_ID),
        aliasEntry('alias/elsewhere', CURRENT_KEY_ID),
      ]
      // when the checks run / then only the 49 are counted
      const result = check(runChecks(facts(onTarget(49, ...more))), 'alias-quota')
      expect(result).toMatchObject({status: 'pass', message: expect.stringContaining('49 other aliases')})
    })

    it('is skipped, with the reason, when the aliases were not listed', () => {
      const targetAliases = {listed: false as const, message: 'not counted: AccessDeniedException'}
      const result = check(runChecks(facts({targetAliases})), 'alias-quota')
      expect(result).toEqual({id: 'alias-quota', status: 'skip', message: 'not counted: AccessDeniedException'})
    })

    it('is skipped when the target could not be described', () => {
      expect(check(runChecks(facts({targetKey: missing})), 'alias-quota').status).toBe('skip')
    })
  })

  describe('alias-verify-break', () => {
    const RSA_4096_SIGN = {...RSA_SIGN, KeySpec: 'RSA_4096'} as const
    const KEY_AGREEMENT = {KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT'} as const

    it('passes for symmetric encryption keys, whose ciphertext names its key', () => {
      const result = check(runChecks(facts()), 'alias-verify-break')
      expect(result).toMatchObject({status: 'pass', message: expect.stringContaining('old ciphertext still decrypts')})
    })

    it.each([
      ['RSA SIGN_VERIFY', RSA_SIGN, 'signatures made with the old key will no longer verify'],
      ['ECC SIGN_VERIFY', ECC_SIGN, 'signatures made with the old key will no longer verify'],
      ['HMAC', HMAC, 'MACs made with the old key will no longer verify'],
      ['RSA ENCRYPT_DECRYPT', RSA_ENCRYPT, 'decrypts only with the old key'],
      ['KEY_AGREEMENT', KEY_AGREEMENT, 'derive other shared secrets'],
    ])('fails for %s keys without the acknowledgement, saying why and what to do', (_, key, why) => {
      // given an alias on such a key, moving to another of its kind
      const result = check(runChecks(keys(key, key)), 'alias-verify-break')
      // then the check fails and names the consequence and the flag
      expect(result.status).toBe('fail')
      expect(result.message).toContain(why)
      expect(result.message).toContain('then pass --acknowledge-verify-break')
    })

    it('only warns with the acknowledgement, and nothing else fails', () => {
      const results = runChecks({...keys(RSA_SIGN, RSA_SIGN), acknowledgeVerifyBreak: true})
      expect(check(results, 'alias-verify-break')).toMatchObject({
        status: 'warn',
        message: expect.stringContaining('accepted by --acknowledge-verify-break'),
      })
      expect(results.filter((result) => result.status === 'fail')).toEqual([])
    })

    it('judges by the current key, which is what callers depend on', () => {
      // given a symmetric current key and an RSA target (refused elsewhere, for the family)
      const result = check(runChecks(keys({}, RSA_4096_SIGN)), 'alias-verify-break')
      // then there is nothing old to break
      expect(result.status).toBe('pass')
    })

    it('falls back on the target when the current key is unknown', () => {
      const result = check(runChecks(facts({currentKey: missing, targetKey: found(keyMetadata(TARGET_KEY_ID, HMAC))})), 'alias-verify-break')
      expect(result.status).toBe('fail')
    })

    it('is skipped when neither key could be described', () => {
      const result = check(runChecks(facts({currentKey: missing, targetKey: missing})), 'alias-verify-break')
      expect(result.status).toBe('skip')
    })
  })

  describe('expected-current', () => {
    it('passes when the alias points at the expected key id', () => {
      const result = check(runChecks(facts()), 'expected-current')
      expect(result).toMatchObject({status: 'pass', message: expect.stringContaining(CURRENT_KEY_ID)})
    })

    it('passes for the expected key id in upper case', () => {
      const expectedCurrentKey = parseExpectedCurrentKey(CURRENT_KEY_ID.toUpperCase())
      expect(check(runChecks(facts({expectedCurrentKey})), 'expected-current').status).toBe('pass')
    })

    it('passes for the expected key ARN in the alias\'s account and Region', () => {
      const expectedCurrentKey = parseExpectedCurrentKey(keyArn(CURRENT_KEY_ID))
      expect(check(runChecks(facts({expectedCurrentKey})), 'expected-current').status).toBe('pass')
    })

    it('is skipped, saying so, when no key was expected', () => {
      const result = check(runChecks(facts({expectedCurrentKey: undefined})), 'expected-current')
      expect(result).toEqual({
        id: 'expected-current',
        status: 'skip',
        message: 'no --expected-current-key was given, so any current key is accepted',
      })
    })

    it('fails when the alias points at another key, naming both keys', () => {
      // given an expectation of the target key while the alias is on the current one
      const expectedCurrentKey = parseExpectedCurrentKey(TARGET_KEY_ID)
      // when the checks run
      const result = check(runChecks(facts({expectedCurrentKey})), 'expected-current')
      // then it fails, and the message names where the alias is and what was expected
      expect(result).toEqual({
        id: 'expected-current',
        status: 'fail',
        message: `${ALIAS} points at ${CURRENT_KEY_ID}, not at the expected key ${TARGET_KEY_ID}`,
      })
    })

    it.each([
      ['another account', keyArn(CURRENT_KEY_ID, REGION, OTHER_ACCOUNT)],
      ['another Region', keyArn(CURRENT_KEY_ID, 'eu-west-1')],
    ])('fails for an ARN with the right key id in %s, naming both ARNs', (_, arn) => {
      const result = check(runChecks(facts({expectedCurrentKey: parseExpectedCurrentKey(arn)})), 'expected-current')
      expect(result.status).toBe('fail')
      expect(result.message).toBe(`${ALIAS} points at ${keyArn(CURRENT_KEY_ID)}, not at the expected key ${arn}`)
    })

    it('is skipped in the preflight when the alias has no known current key', () => {
      expect(check(runChecks(facts({currentKey: missing})), 'expected-current').status).toBe('skip')
    })

    it('fails when the alias is gone at the second read, just before UpdateAlias', () => {
      const result = checkExpectedCurrent(facts({currentKey: missing}), true)
      expect(result.status).toBe('fail')
      expect(result.message).toBe(`${ALIAS} could not be read (read again just before UpdateAlias): ${missing.message}`)
    })

    it('says that the second read is the one that found another key', () => {
      const current = found(keyMetadata(TARGET_KEY_ID))
      const result = checkExpectedCurrent(facts({currentKey: current}), true)
      expect(result.message).toBe(
        `${ALIAS} points at ${TARGET_KEY_ID} (read again just before UpdateAlias), not at the expected key ${CURRENT_KEY_ID}`,
      )
    })
  })
})

describe('keyUsageOf', () => {
  it.each([
    [{EncryptionAlgorithms: ['SYMMETRIC_DEFAULT' as const]}, 'ENCRYPT_DECRYPT'],
    [{SigningAlgorithms: ['ECDSA_SHA_256' as const]}, 'SIGN_VERIFY'],
    [{MacAlgorithms: ['HMAC_SHA_256' as const]}, 'GENERATE_VERIFY_MAC'],
    [{KeyAgreementAlgorithms: ['ECDH' as const]}, 'KEY_AGREEMENT'],
    [{}, undefined],
  ])('falls back on the listed algorithms when KeyUsage is absent (%o)', (algorithms, usage) => {
    expect(keyUsageOf({KeyId: TARGET_KEY_ID, ...algorithms})).toBe(usage)
  })
})

describe('keyFamily', () => {
  it.each([
    ['SYMMETRIC_DEFAULT', 'symmetric', 'symmetric'],
    ['HMAC_384', 'HMAC', 'HMAC'],
    ['RSA_3072', 'RSA', 'asymmetric'],
    ['ECC_SECG_P256K1', 'ECC', 'asymmetric'],
    ['ML_DSA_65', 'ML-DSA', 'asymmetric'],
    ['SM2', 'SM2', 'asymmetric'],
    ['SOMETHING_NEW', 'SOMETHING_NEW', 'unknown'],
  ])('puts %s in the %s family', (keySpec, name, kind) => {
    expect(keyFamily(keySpec)).toEqual({name, kind})
  })
})
