import type {GrantListEntry, KeyMetadata} from '@aws-sdk/client-kms'
import {describe, expect, it} from 'vitest'

import {
  assessAccess,
  checkAccessParity,
  checkAliasAbac,
  operationsFor,
  type AccessChange,
  type AccessFacts,
  type KeyAccessReads,
  type Read,
} from '../../src/lib/access.js'
import {
  ACCOUNT,
  CURRENT_KEY_ID,
  defaultKeyPolicy,
  keyArn,
  keyMetadata,
  OTHER_ACCOUNT,
  TARGET_KEY_ID,
} from '../support/kms-mock.js'

const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`
const OTHER_ROLE = `arn:aws:iam::${ACCOUNT}:role/batch`
const ROOT = `arn:aws:iam::${ACCOUNT}:root`
const SERVICE = 'logs.us-east-1.amazonaws.com'
const ENCRYPT_DECRYPT = [
  'Encrypt',
  'Decrypt',
  'ReEncryptFrom',
  'ReEncryptTo',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
]

type Statement = Record<string, unknown>

/** The default "Enable IAM User Permissions" statement: the account's IAM policies decide. */
const IAM_DECIDES: Statement = {Effect: 'Allow', Principal: {AWS: ROOT}, Action: 'kms:*', Resource: '*'}

function allow(principal: unknown, action: unknown, extra: Statement = {}): Statement {
  return {Effect: 'Allow', Principal: principal, Action: action, Resource: '*', ...extra}
}

function deny(principal: unknown, action: unknown, extra: Statement = {}): Statement {
  return {Effect: 'Deny', Principal: principal, Action: action, Resource: '*', ...extra}
}

function policy(...statements: Statement[]): Read<string> {
  return {read: true, value: JSON.stringify({Version: '2012-10-17', Statement: statements})}
}

function grant(grantee: string, operations: string[], extra: Partial<GrantListEntry> = {}): GrantListEntry {
  return {
    GrantId: `grant-${grantee}`,
    KeyId: keyArn(CURRENT_KEY_ID),
    GranteePrincipal: grantee,
    Operations: operations as GrantListEntry['Operations'],
    ...extra,
  }
}

interface Side {
  policy?: Read<string>
  grants?: GrantListEntry[] | Read<GrantListEntry[]>
  key?: Partial<KeyMetadata>
}

function reads({policy: given = policy(IAM_DECIDES), grants = []}: Side): KeyAccessReads {
  return {policy: given, grants: Array.isArray(grants) ? {read: true, value: grants} : grants}
}

/** Compares a current and a new key; each has the default policy and no grants unless given. */
function assess(current: Side, target: Side): Extract<AccessFacts, {compared: true}> {
  const facts = assessAccess(
    {key: keyMetadata(CURRENT_KEY_ID, current.key), reads: reads(current)},
    {key: keyMetadata(TARGET_KEY_ID, target.key), reads: reads(target)},
  )
  if (!facts.compared) throw new Error('expected a comparison')
  return facts
}

function changes(current: Side, target: Side): AccessChange[] | null {
  return assess(current, target).changes
}

function lost(principal: string, operations: string[], source: 'policy' | 'grant' = 'policy'): AccessChange {
  return {principal, operations, conditional: false, source} as AccessChange
}

function mayLose(principal: string, operations: string[], source: 'policy' | 'grant' = 'policy'): AccessChange {
  return {principal, operations, conditional: true, source} as AccessChange
}

describe('operationsFor', () => {
  it.each([
    ['a symmetric encryption key', {}, ENCRYPT_DECRYPT],
    ['an RSA encryption key, which makes no data keys', {KeySpec: 'RSA_2048'}, ENCRYPT_DECRYPT.slice(0, 4)],
    ['a signing key', {KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY'}, ['Sign', 'Verify']],
    ['an HMAC key', {KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC'}, ['GenerateMac', 'VerifyMac']],
    ['a key agreement key', {KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT'}, ['DeriveSharedSecret']],
    ['a key that lists only its algorithms', {KeyUsage: undefined, SigningAlgorithms: ['ECDSA_SHA_256']}, ['Sign', 'Verify']],
  ] as const)('lists the cryptographic operations of %s', (_kind, overrides, expected) => {
    // given a key / when its operations are listed / then they are the ones its KeyUsage allows
    expect(operationsFor(keyMetadata(CURRENT_KEY_ID, overrides as Partial<KeyMetadata>))).toEqual(expected)
  })
})

describe('assessAccess: key policy statements', () => {
  it('finds no change between two keys with the default key policy, and notes whose IAM policies decide', () => {
    // given both keys with the default policy / when compared
    const given: Read<string> = {read: true, value: defaultKeyPolicy()}
    const facts = assess({policy: given}, {policy: given})
    // then nobody loses access, and the account whose IAM policies apply is named
    expect(facts.changes).toEqual([])
    expect(facts.iamAccounts).toEqual([ACCOUNT])
    expect(facts.unread).toEqual([])
  })

  it('reports a role that the current key policy allows to Decrypt and the new one does not', () => {
    const found = changes({policy: policy(IAM_DECIDES, allow({AWS: ROLE}, 'kms:Decrypt'))}, {})
    expect(found).toEqual([lost(ROLE, ['Decrypt'])])
  })

  it('reports nothing when both key policies allow the same', () => {
    const same = policy(IAM_DECIDES, allow({AWS: ROLE}, ['kms:Decrypt', 'kms:GenerateDataKey']))
    expect(changes({policy: same}, {policy: same})).toEqual([])
  })

  it('matches wildcard actions: kms:Encrypt*, kms:ReEncrypt* and kms:GenerateDataKey* cover what kms:* did', () => {
    const current = policy(allow({AWS: ROLE}, 'kms:*'))
    const target = policy(allow({AWS: ROLE}, ['kms:Encrypt*', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*']))
    expect(changes({policy: current}, {policy: target})).toEqual([])
  })

  it('reports what a narrower wildcard leaves out', () => {
    const found = changes(
      {policy: policy(allow({AWS: ROLE}, 'kms:*'))},
      {policy: policy(allow({AWS: ROLE}, 'kms:GenerateDataKey*'))},
    )
    expect(found).toEqual([lost(ROLE, ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo'])])
  })

  it('takes "*" as every action, and action names in any case, and ? as one character', () => {
    const current = policy(allow({AWS: ROLE}, ['kms:Decrypt', 'kms:Encrypt']))
    expect(changes({policy: current}, {policy: policy(allow({AWS: ROLE}, '*'))})).toEqual([])
    expect(changes({policy: current}, {policy: policy(allow({AWS: ROLE}, ['KMS:DECRYPT', 'kms:encrypt']))})).toEqual([])
    expect(changes({policy: current}, {policy: policy(allow({AWS: ROLE}, ['kms:?ecrypt', 'kms:?ncrypt']))})).toEqual([])
  })

  it('does not take another service\'s actions for KMS ones', () => {
    const found = changes(
      {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt'))},
      {policy: policy(allow({AWS: ROLE}, 's3:*'))},
    )
    expect(found).toEqual([lost(ROLE, ['Decrypt'])])
  })

  it('evaluates NotAction as every action but the ones listed', () => {
    const current = policy(allow({AWS: ROLE}, ['kms:Encrypt', 'kms:Decrypt']))
    const target = policy({Effect: 'Allow', Principal: {AWS: ROLE}, NotAction: 'kms:Decrypt', Resource: '*'})
    expect(changes({policy: current}, {policy: target})).toEqual([lost(ROLE, ['Decrypt'])])
  })

  it('takes an explicit Deny on the new key as a loss, even where the new key also allows', () => {
    const allowed = allow({AWS: ROLE}, ['kms:Encrypt', 'kms:Decrypt'])
    const target = policy(allowed, deny({AWS: ROLE}, 'kms:Decrypt'))
    expect(changes({policy: policy(allowed)}, {policy: target})).toEqual([lost(ROLE, ['Decrypt'])])
  })

  it('applies a Deny to "*" to every principal, and a Deny to an account root to that account\'s roles', () => {
    const allowed = allow({AWS: [ROLE, OTHER_ROLE]}, ['kms:Encrypt', 'kms:Decrypt'])
    const target = policy(allowed, deny('*', 'kms:Encrypt'), deny({AWS: ACCOUNT}, 'kms:Decrypt'))
    expect(changes({policy: policy(allowed)}, {policy: target})).toEqual([
      lost(ROLE, ['Encrypt', 'Decrypt']),
      lost(OTHER_ROLE, ['Encrypt', 'Decrypt']),
    ])
  })

  it('does not count access the current key itself denies', () => {
    const current = policy(allow({AWS: ROLE}, 'kms:*'), deny({AWS: ROLE}, 'kms:Decrypt'))
    const target = policy(allow({AWS: ROLE}, 'kms:*'), deny({AWS: ROLE}, 'kms:Decrypt'))
    expect(changes({policy: current}, {policy: target})).toEqual([])
  })

  it('compares principals as written: the new key\'s root statement does not cover a role named on the current key', () => {
    // given a role named on the current key; the new key has only the default policy
    const facts = assess({policy: policy(IAM_DECIDES, allow({AWS: ROLE}, 'kms:Decrypt'))}, {})
    // then the role loses Decrypt as far as the key policies say, and IAM policies are named as unevaluated
    expect(facts.changes).toEqual([lost(ROLE, ['Decrypt'])])
    expect(facts.iamAccounts).toEqual([ACCOUNT])
  })

  it('matches an account id on one key with the account root ARN on the other', () => {
    const current = policy(allow({AWS: ACCOUNT}, 'kms:*'))
    expect(changes({policy: current}, {policy: policy(IAM_DECIDES)})).toEqual([])
  })

  it('reports the account root itself when the new key no longer lets IAM policies decide', () => {
    const found = changes({policy: policy(IAM_DECIDES)}, {policy: policy(allow({AWS: ROLE}, 'kms:*'))})
    expect(found).toEqual([lost(ROOT, ENCRYPT_DECRYPT)])
  })

  it('covers every principal with "*" and {"AWS": "*"} on the new key, and lists "*" itself when only the current key has it', () => {
    const current = policy(allow({AWS: [ROLE, OTHER_ROLE]}, 'kms:Decrypt'))
    expect(changes({policy: current}, {policy: policy(allow('*', 'kms:Decrypt'))})).toEqual([])
    expect(changes({policy: current}, {policy: policy(allow({AWS: '*'}, 'kms:Decrypt'))})).toEqual([])
    expect(changes({policy: policy(allow('*', 'kms:Decrypt'))}, {policy: current})).toEqual([lost('*', ['Decrypt'])])
  })

  it('names service principals as written', () => {
    const current = policy(IAM_DECIDES, allow({Service: SERVICE}, ['kms:Encrypt*', 'kms:GenerateDataKey*']))
    expect(changes({policy: current}, {})).toEqual([
      lost(SERVICE, ['Encrypt', ...ENCRYPT_DECRYPT.filter((operation) => operation.startsWith('GenerateDataKey'))]),
    ])
  })

  it('reads a principal map with several kinds and lists', () => {
    const current = policy(allow({AWS: [ROLE, OTHER_ROLE], Service: [SERVICE]}, 'kms:Decrypt'))
    const target = policy(allow({AWS: ROLE}, 'kms:Decrypt'))
    expect(changes({policy: current}, {policy: target})).toEqual([lost(OTHER_ROLE, ['Decrypt']), lost(SERVICE, ['Decrypt'])])
  })

  it('reads a policy whose Statement is one object rather than a list', () => {
    const single: Read<string> = {read: true, value: JSON.stringify({Statement: allow({AWS: ROLE}, 'kms:Decrypt')})}
    expect(changes({policy: single}, {})).toEqual([lost(ROLE, ['Decrypt'])])
  })

  it('leaves out operations the key cannot perform', () => {
    // given a signing key whose policy allows kms:* to a role, and a new one that allows Sign only
    const signing = {KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY'} as const
    const found = changes(
      {key: signing, policy: policy(allow({AWS: ROLE}, 'kms:*'))},
      {key: signing, policy: policy(allow({AWS: ROLE}, 'kms:Sign'))},
    )
    // then only Verify is reported, not Decrypt or GenerateMac
    expect(found).toEqual([lost(ROLE, ['Verify'])])
  })

  describe('Resource', () => {
    it('takes the key\'s own ARN and wildcards that match it, and nothing else', () => {
      const current = policy(allow({AWS: ROLE}, 'kms:Decrypt'))
      const onKey = (resource: unknown) => policy(allow({AWS: ROLE}, 'kms:Decrypt', {Resource: resource}))
      expect(changes({policy: current}, {policy: onKey(keyArn(TARGET_KEY_ID))})).toEqual([])
      expect(changes({policy: current}, {policy: onKey(`arn:aws:kms:*:${ACCOUNT}:key/*`)})).toEqual([])
      expect(changes({policy: current}, {policy: onKey(keyArn(CURRENT_KEY_ID))})).toEqual([lost(ROLE, ['Decrypt'])])
    })

    it('evaluates NotResource as every resource but the ones listed', () => {
      const current = policy(allow({AWS: ROLE}, 'kms:Decrypt'))
      const target = policy({Effect: 'Allow', Principal: {AWS: ROLE}, Action: 'kms:Decrypt', NotResource: '*'})
      expect(changes({policy: current}, {policy: target})).toEqual([lost(ROLE, ['Decrypt'])])
    })
  })

  describe('NotPrincipal', () => {
    it('takes a Deny with NotPrincipal as denying everyone it does not name', () => {
      const allowed = allow({AWS: [ROLE, OTHER_ROLE]}, 'kms:Decrypt')
      const target = policy(allowed, {Effect: 'Deny', NotPrincipal: {AWS: ROLE}, Action: 'kms:*', Resource: '*'})
      expect(changes({policy: policy(allowed)}, {policy: target})).toEqual([lost(OTHER_ROLE, ['Decrypt'])])
    })

    it('takes an Allow with NotPrincipal as conditional: it may allow "*" but is not counted on', () => {
      const broad = {Effect: 'Allow', NotPrincipal: {AWS: OTHER_ROLE}, Action: 'kms:Decrypt', Resource: '*'}
      // on the current key it is access for everyone else, lost when the new key lacks it
      expect(changes({policy: policy(broad)}, {})).toEqual([lost('*', ['Decrypt'])])
      // on the new key it is only possible access for a role the current key allows outright
      const named = policy(allow({AWS: ROLE}, 'kms:Decrypt'))
      expect(changes({policy: named}, {policy: policy(broad)})).toEqual([mayLose(ROLE, ['Decrypt'])])
      // the same statement on both keys changes nothing
      expect(changes({policy: policy(broad)}, {policy: policy(broad)})).toEqual([])
    })
  })

  describe('Condition', () => {
    const viaS3 = {StringEquals: {'kms:ViaService': 's3.us-east-1.amazonaws.com', 'kms:CallerAccount': ACCOUNT}}

    it('reports possible loss when the new key allows only under a condition the current key did not set', () => {
      const found = changes(
        {policy: policy(allow({AWS: ROLE}, ['kms:Decrypt', 'kms:Encrypt']))},
        {policy: policy(allow({AWS: ROLE}, ['kms:Decrypt', 'kms:Encrypt'], {Condition: viaS3}))},
      )
      expect(found).toEqual([mayLose(ROLE, ['Encrypt', 'Decrypt'])])
    })

    it('keeps access allowed under the same condition on both keys, whatever the order of its keys', () => {
      const reordered = {StringEquals: {'kms:CallerAccount': ACCOUNT, 'kms:ViaService': 's3.us-east-1.amazonaws.com'}}
      const found = changes(
        {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt', {Condition: viaS3}))},
        {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt', {Condition: reordered}))},
      )
      expect(found).toEqual([])
    })

    it('reports possible loss when the conditions differ', () => {
      const viaSqs = {StringEquals: {'kms:ViaService': 'sqs.us-east-1.amazonaws.com'}}
      const found = changes(
        {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt', {Condition: viaS3}))},
        {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt', {Condition: viaSqs}))},
      )
      expect(found).toEqual([mayLose(ROLE, ['Decrypt'])])
    })

    it('keeps access that the new key allows outright where the current key had a condition', () => {
      const found = changes(
        {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt', {Condition: viaS3}))},
        {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt'))},
      )
      expect(found).toEqual([])
    })

    it('reports possible loss for a conditional Deny that only the new key has, and none when both have it', () => {
      const allowed = allow({AWS: ROLE}, 'kms:Decrypt')
      const conditionalDeny = deny('*', 'kms:Decrypt', {Condition: {Bool: {'aws:SecureTransport': 'false'}}})
      expect(changes({policy: policy(allowed)}, {policy: policy(allowed, conditionalDeny)})).toEqual([
        mayLose(ROLE, ['Decrypt']),
      ])
      expect(changes({policy: policy(allowed, conditionalDeny)}, {policy: policy(allowed, conditionalDeny)})).toEqual([])
    })

    it('treats an empty Condition block as no condition', () => {
      const found = changes(
        {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt'))},
        {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt', {Condition: {}}))},
      )
      expect(found).toEqual([])
    })
  })
})

describe('assessAccess: grants', () => {
  it('reports a grantee that only the current key has a grant for, with the grant as the source', () => {
    const found = changes({grants: [grant(ROLE, ['Decrypt', 'DescribeKey', 'CreateGrant'])]}, {})
    // then only the cryptographic operation is reported
    expect(found).toEqual([lost(ROLE, ['Decrypt'], 'grant')])
  })

  it('keeps access that a grant on the new key or its key policy gives', () => {
    const current = {grants: [grant(ROLE, ['Decrypt', 'Encrypt'])]}
    expect(changes(current, {grants: [grant(ROLE, ['Encrypt', 'Decrypt'])]})).toEqual([])
    expect(changes(current, {policy: policy(IAM_DECIDES, allow({AWS: ROLE}, 'kms:*'))})).toEqual([])
  })

  it('gives the retiring principal of a grant no use of the key', () => {
    const found = changes({grants: [grant(ROLE, ['Decrypt'], {RetiringPrincipal: OTHER_ROLE})]}, {})
    expect(found).toEqual([lost(ROLE, ['Decrypt'], 'grant')])
  })

  it('reports possible loss when the new key\'s grant has constraints the current key\'s does not', () => {
    const constraints = {EncryptionContextSubset: {tenant: 'a'}}
    const found = changes(
      {grants: [grant(ROLE, ['Decrypt'])]},
      {grants: [grant(ROLE, ['Decrypt'], {Constraints: constraints})]},
    )
    expect(found).toEqual([mayLose(ROLE, ['Decrypt'], 'grant')])
  })

  it('keeps access given by grants with the same constraints', () => {
    const constrained = grant(ROLE, ['Decrypt'], {Constraints: {EncryptionContextEquals: {tenant: 'a', app: 'b'}}})
    const reordered = grant(ROLE, ['Decrypt'], {Constraints: {EncryptionContextEquals: {app: 'b', tenant: 'a'}}})
    expect(changes({grants: [constrained]}, {grants: [reordered]})).toEqual([])
  })

  it('lets an explicit Deny in the new key policy override a grant on it', () => {
    const target = {policy: policy(IAM_DECIDES, deny({AWS: ROLE}, 'kms:Decrypt')), grants: [grant(ROLE, ['Decrypt'])]}
    expect(changes({grants: [grant(ROLE, ['Decrypt'])]}, target)).toEqual([lost(ROLE, ['Decrypt'], 'grant')])
  })

  it('reports each source of access that is lost: the key policy and a grant', () => {
    const current = {policy: policy(allow({AWS: ROLE}, 'kms:Decrypt')), grants: [grant(ROLE, ['Decrypt', 'Encrypt'])]}
    expect(changes(current, {})).toEqual([lost(ROLE, ['Encrypt', 'Decrypt'], 'grant'), lost(ROLE, ['Decrypt'], 'policy')])
  })
})

describe('assessAccess: what could not be read', () => {
  it('names a refused GetKeyPolicy and compares nothing', () => {
    const facts = assess({}, {policy: {read: false, error: 'AccessDeniedException: not authorized'}})
    expect(facts.changes).toBeNull()
    expect(facts.unread).toEqual([
      {source: 'policy', message: 'GetKeyPolicy on the new key: AccessDeniedException: not authorized'},
    ])
  })

  it('names a refused ListGrants and compares nothing', () => {
    const facts = assess({grants: {read: false, error: 'AccessDeniedException: no'}}, {})
    expect(facts.changes).toBeNull()
    expect(facts.unread).toEqual([{source: 'grant', message: 'ListGrants on the current key: AccessDeniedException: no'}])
  })

  it('names a key policy that is not JSON', () => {
    const facts = assess({policy: {read: true, value: 'not json'}}, {})
    expect(facts.changes).toBeNull()
    expect(facts.unread).toEqual([{source: 'policy', message: 'the key policy of the current key is not a JSON object'}])
  })
})

describe('assessAccess: alias conditions', () => {
  it('finds kms:ResourceAliases and kms:RequestAlias in either key policy, in any case', () => {
    const byResourceAlias = allow({AWS: ROLE}, 'kms:Decrypt', {
      Condition: {'ForAnyValue:StringEquals': {'kms:ResourceAliases': 'alias/app'}},
    })
    const byRequestAlias = allow({AWS: ROLE}, 'kms:Encrypt', {Condition: {StringLike: {'KMS:REQUESTALIAS': 'alias/app*'}}})
    const facts = assess({policy: policy(byResourceAlias)}, {policy: policy(IAM_DECIDES, byRequestAlias)})
    expect(facts.aliasConditionKeys).toEqual({current: ['kms:ResourceAliases'], target: ['kms:RequestAlias']})
  })

  it('finds none in the default key policy, and does not know about a policy it could not read', () => {
    const facts = assess({}, {policy: {read: false, error: 'AccessDeniedException: no'}})
    expect(facts.aliasConditionKeys).toEqual({current: [], target: null})
  })
})

describe('checkAccessParity', () => {
  const oneRoleLoses = () =>
    assess({policy: policy(IAM_DECIDES, allow({AWS: ROLE}, ['kms:Decrypt', 'kms:GenerateDataKey']))}, {})

  it('fails naming each principal and what it loses, and says how to accept it', () => {
    const result = checkAccessParity(oneRoleLoses(), false)
    expect(result).toEqual({
      id: 'access-parity',
      status: 'fail',
      message:
        `1 principal loses access: ${ROLE} loses Decrypt, GenerateDataKey; IAM policies of account ${ACCOUNT} ` +
        'are not evaluated; pass --allow-access-loss if this is intended',
    })
  })

  it('warns instead with --allow-access-loss', () => {
    const result = checkAccessParity(oneRoleLoses(), true)
    expect(result.status).toBe('warn')
    expect(result.message).toMatch(/^1 principal loses access: .*; accepted by --allow-access-loss$/)
  })

  it('passes when nobody loses access, without a note when no key policy defers to IAM', () => {
    const same = policy(allow({AWS: ROLE}, 'kms:*'))
    expect(checkAccessParity(assess({policy: same}, {policy: same}), false)).toEqual({
      id: 'access-parity',
      status: 'pass',
      message: 'no principal loses access',
    })
  })

  it('says which losses are only possible, and shows "*" as everyone', () => {
    const current = policy(allow('*', 'kms:Decrypt'), allow({AWS: ROLE}, ['kms:Encrypt', 'kms:Decrypt']))
    const target = policy(allow({AWS: ROLE}, 'kms:Decrypt', {Condition: {StringEquals: {'kms:CallerAccount': OTHER_ACCOUNT}}}))
    const {message} = checkAccessParity(assess({policy: current}, {policy: target}), false)
    expect(message).toBe(
      `2 principals lose access: everyone ("*") loses Decrypt; ${ROLE} loses Encrypt and may lose Decrypt ` +
        '(conditional); pass --allow-access-loss if this is intended',
    )
  })

  it('lists five principals and counts the rest', () => {
    const roles = Array.from({length: 7}, (_, index) => `arn:aws:iam::${ACCOUNT}:role/r${index}`)
    const facts = assess({policy: policy(allow({AWS: roles}, 'kms:Decrypt'))}, {policy: policy()})
    const {message} = checkAccessParity(facts, false)
    expect(message).toContain('7 principals lose access: ')
    expect(message).toContain(`${roles[4]} loses Decrypt; and 2 more (see accessChanges)`)
    expect(message).not.toContain(roles[5])
  })

  it('skips, with the reason, when a read was refused', () => {
    const facts = assess({}, {policy: {read: false, error: 'AccessDeniedException: not authorized'}})
    expect(checkAccessParity(facts, false)).toEqual({
      id: 'access-parity',
      status: 'skip',
      message: 'not evaluated: GetKeyPolicy on the new key: AccessDeniedException: not authorized',
    })
  })

  it('skips, with the reason, when nothing was compared or read', () => {
    expect(checkAccessParity({compared: false, reason: 'not compared: same key'}, false)).toMatchObject({
      status: 'skip',
      message: 'not compared: same key',
    })
    expect(checkAccessParity(undefined, false)).toMatchObject({
      status: 'skip',
      message: 'not evaluated: the key policies and grants were not read',
    })
  })
})

describe('checkAliasAbac', () => {
  const byAlias = allow({AWS: ROLE}, 'kms:Decrypt', {
    Condition: {'ForAnyValue:StringEquals': {'kms:ResourceAliases': 'alias/app'}},
  })

  it('warns when a key policy grants access through aliases', () => {
    const result = checkAliasAbac(assess({policy: policy(IAM_DECIDES, byAlias)}, {}))
    expect(result).toEqual({
      id: 'alias-abac',
      status: 'warn',
      message: "the current key's policy (kms:ResourceAliases) bases access on aliases: moving the alias moves that access",
    })
  })

  it('names both key policies when both use alias conditions', () => {
    const result = checkAliasAbac(assess({policy: policy(byAlias)}, {policy: policy(byAlias)}))
    expect(result.message).toMatch(/^the current key's policy .* and the new key's policy .* base access on aliases/)
  })

  it('passes for the default key policies, and says IAM policies are not evaluated', () => {
    expect(checkAliasAbac(assess({}, {}))).toEqual({
      id: 'alias-abac',
      status: 'pass',
      message: 'no key policy conditions on kms:ResourceAliases or kms:RequestAlias; IAM policies are not evaluated',
    })
  })

  it('skips when a key policy could not be read and the other has no alias condition', () => {
    const result = checkAliasAbac(assess({policy: {read: false, error: 'AccessDeniedException: no'}}, {}))
    expect(result).toEqual({
      id: 'alias-abac',
      status: 'skip',
      message: 'not evaluated: GetKeyPolicy on the current key: AccessDeniedException: no',
    })
  })

  it('still warns when the other key policy has an alias condition', () => {
    const unread: Read<string> = {read: false, error: 'AccessDeniedException: no'}
    const result = checkAliasAbac(assess({policy: unread}, {policy: policy(byAlias)}))
    expect(result.status).toBe('warn')
  })

  it('is evaluated from the key policies alone, even when the grants could not be read', () => {
    const result = checkAliasAbac(assess({grants: {read: false, error: 'AccessDeniedException: no'}}, {}))
    expect(result.status).toBe('pass')
  })
})
