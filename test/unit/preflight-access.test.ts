/**
 * The preflight's reads of key policies and grants, against a mocked KMS client: what is read,
 * what the access checks say, and what a refused read does to the run.
 */
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  UpdateAliasCommand,
  type GrantListEntry,
} from '@aws-sdk/client-kms'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import type {CheckId} from '../../src/lib/checks.js'
import {KmsRotateError} from '../../src/lib/errors.js'
import {parseTargetKeyId} from '../../src/lib/identifiers.js'
import {EXIT, OUTCOMES} from '../../src/lib/outcomes.js'
import type {RotationReport} from '../../src/lib/report.js'
import {rotateAlias, type RotationHooks, type RotationRequest} from '../../src/lib/rotate.js'
import {
  ACCOUNT,
  ALIAS,
  aliasEntry,
  connectionRefused,
  CURRENT_KEY_ID,
  defaultKeyPolicy,
  describeKeys,
  givenKeyAccess,
  keyArn,
  keyMetadata,
  kmsMock,
  newGateway,
  notFound,
  REGION,
  serviceException,
  TARGET_KEY_ID,
} from '../support/kms-mock.js'

const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`
const CURRENT_ARN = keyArn(CURRENT_KEY_ID)
const TARGET_ARN = keyArn(TARGET_KEY_ID)
const DENIED = 'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: kms:GetKeyPolicy'

function decryptGrant(keyId: string): GrantListEntry {
  return {GrantId: `grant-on-${keyId}`, KeyId: keyArn(keyId), GranteePrincipal: ROLE, Operations: ['Decrypt']}
}

/** The default key policy with one more statement. */
function defaultPolicyAnd(statement: object): object {
  const policy = JSON.parse(defaultKeyPolicy()) as {Statement: object[]}
  return {...policy, Statement: [...policy.Statement, statement]}
}

async function rotate(
  overrides: Partial<RotationRequest> = {},
  hooks: RotationHooks = {},
): Promise<RotationReport> {
  const running = rotateAlias(
    newGateway(),
    {
      aliasName: ALIAS,
      target: parseTargetKeyId(TARGET_KEY_ID),
      region: REGION,
      dryRun: false,
      allowKeySpecChange: false,
      waitTimeoutSeconds: 120,
      ...overrides,
    },
    hooks,
  )
  running.catch(() => {})
  await vi.runAllTimersAsync()
  return running
}

function check(report: RotationReport, id: CheckId) {
  return report.checks.find((result) => result.id === id)
}

/** Two matching keys, an UpdateAlias that KMS accepts, and a ListAliases that shows the move. */
function givenRotatableKeys(): void {
  describeKeys({[ALIAS]: keyMetadata(CURRENT_KEY_ID), [TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
  kmsMock.on(UpdateAliasCommand).resolves({})
  kmsMock.on(ListAliasesCommand).resolves({Aliases: [aliasEntry(ALIAS, TARGET_KEY_ID)]})
}

beforeEach(() => {
  kmsMock.reset()
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('the preflight reads key policies and grants', () => {
  it('reads the default key policy and every grant of both keys, by ARN, and passes both access checks', async () => {
    // given two keys with the default key policy and no grants
    givenRotatableKeys()
    // when the alias is rotated
    const report = await rotate()
    // then each key's policy and grants were read once, and nobody loses access
    expect(kmsMock).toHaveReceivedCommandWith(GetKeyPolicyCommand, {KeyId: CURRENT_ARN, PolicyName: 'default'})
    expect(kmsMock).toHaveReceivedCommandWith(GetKeyPolicyCommand, {KeyId: TARGET_ARN, PolicyName: 'default'})
    expect(kmsMock).toHaveReceivedCommandWith(ListGrantsCommand, {KeyId: CURRENT_ARN})
    expect(kmsMock).toHaveReceivedCommandWith(ListGrantsCommand, {KeyId: TARGET_ARN})
    expect(report.apiCalls).toMatchObject({GetKeyPolicy: 2, ListGrants: 2})
    expect(check(report, 'access-parity')).toEqual({
      id: 'access-parity',
      status: 'pass',
      message: `no principal loses access; IAM policies of account ${ACCOUNT} are not evaluated`,
    })
    expect(check(report, 'alias-abac')?.status).toBe('pass')
    expect(report.accessChanges).toEqual([])
    expect(report.outcome).toBe('rotated')
  })

  it('refuses, without UpdateAlias, when a role granted Decrypt on the current key has no grant on the new one', async () => {
    // given a grant for a role on the current key only
    givenRotatableKeys()
    givenKeyAccess(CURRENT_KEY_ID, {grants: [decryptGrant(CURRENT_KEY_ID)]})
    // when the alias is rotated
    const report = await rotate()
    // then access-parity fails, names the role, and the report lists what it loses
    expect(report.outcome).toBe('refused')
    expect(OUTCOMES[report.outcome].exitCode).toBe(3)
    expect(check(report, 'access-parity')?.status).toBe('fail')
    expect(check(report, 'access-parity')?.message).toContain(`1 principal loses access: ${ROLE} loses Decrypt`)
    expect(report.accessChanges).toEqual([{principal: ROLE, operations: ['Decrypt'], conditional: false, source: 'grant'}])
    expect(report.summary).toBe('Refused: access-parity failed; nothing was changed.')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('rotates with a warning when the loss is accepted with allowAccessLoss', async () => {
    givenRotatableKeys()
    givenKeyAccess(CURRENT_KEY_ID, {grants: [decryptGrant(CURRENT_KEY_ID)]})
    const report = await rotate({allowAccessLoss: true})
    expect(check(report, 'access-parity')?.status).toBe('warn')
    expect(check(report, 'access-parity')?.message).toContain('accepted by --allow-access-loss')
    expect(report.accessChanges).toHaveLength(1)
    expect(report.outcome).toBe('rotated')
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
  })

  it('rotates when the new key has the same grant', async () => {
    givenRotatableKeys()
    givenKeyAccess(CURRENT_KEY_ID, {grants: [decryptGrant(CURRENT_KEY_ID)]})
    givenKeyAccess(TARGET_KEY_ID, {grants: [decryptGrant(TARGET_KEY_ID)]})
    const report = await rotate()
    expect(check(report, 'access-parity')?.status).toBe('pass')
    expect(report.outcome).toBe('rotated')
  })

  it('refuses when the new key policy denies what the current key policy allows', async () => {
    // given a role allowed Decrypt on both keys, and denied it on the new key
    givenRotatableKeys()
    const allowed = {Effect: 'Allow', Principal: {AWS: ROLE}, Action: 'kms:Decrypt', Resource: '*'}
    const denied = {Effect: 'Deny', Principal: {AWS: ROLE}, Action: 'kms:Decrypt', Resource: '*'}
    givenKeyAccess(CURRENT_KEY_ID, {policy: defaultPolicyAnd(allowed)})
    givenKeyAccess(TARGET_KEY_ID, {policy: {...defaultPolicyAnd(allowed), Statement: [allowed, denied]}})
    // when the alias is rotated
    const report = await rotate()
    // then the role's loss is found, along with the account root's (the new key no longer defers to IAM)
    expect(report.outcome).toBe('refused')
    expect(report.accessChanges).toContainEqual({principal: ROLE, operations: ['Decrypt'], conditional: false, source: 'policy'})
    expect(report.accessChanges.map((change) => change.principal)).toEqual([ROLE, `arn:aws:iam::${ACCOUNT}:root`])
  })

  it('follows ListGrants pages and finds a grant on the second', async () => {
    // given the current key's grants on two pages, the role's on the second
    givenRotatableKeys()
    const other: GrantListEntry = {...decryptGrant(CURRENT_KEY_ID), GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/ok`}
    kmsMock
      .on(ListGrantsCommand, {KeyId: CURRENT_ARN})
      .resolves({Grants: [other], Truncated: true, NextMarker: 'page-2'})
      .on(ListGrantsCommand, {KeyId: CURRENT_ARN, Marker: 'page-2'})
      .resolves({Grants: [decryptGrant(CURRENT_KEY_ID)], Truncated: false})
    givenKeyAccess(TARGET_KEY_ID, {grants: [other]})
    // when the alias is rotated
    const report = await rotate()
    // then both pages were read, and only the role on page 2 loses access
    expect(kmsMock).toHaveReceivedCommandWith(ListGrantsCommand, {KeyId: CURRENT_ARN, Marker: 'page-2'})
    expect(report.apiCalls.ListGrants).toBe(3)
    expect(report.accessChanges).toEqual([{principal: ROLE, operations: ['Decrypt'], conditional: false, source: 'grant'}])
    expect(report.outcome).toBe('refused')
  })

  it('warns on alias-abac and still rotates when a key policy conditions on kms:ResourceAliases', async () => {
    givenRotatableKeys()
    const byAlias = {
      Effect: 'Allow',
      Principal: {AWS: ROLE},
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: {'ForAnyValue:StringEquals': {'kms:ResourceAliases': ALIAS}},
    }
    givenKeyAccess(CURRENT_KEY_ID, {policy: defaultPolicyAnd(byAlias)})
    givenKeyAccess(TARGET_KEY_ID, {policy: defaultPolicyAnd(byAlias)})
    const report = await rotate()
    expect(check(report, 'alias-abac')?.status).toBe('warn')
    expect(check(report, 'alias-abac')?.message).toContain('kms:ResourceAliases')
    expect(check(report, 'access-parity')?.status).toBe('pass')
    expect(report.outcome).toBe('rotated')
  })
})

describe('a refused read is a skipped check, never a crash or a pass', () => {
  it('skips access-parity and alias-abac, naming the denied GetKeyPolicy, and rotates', async () => {
    // given a caller who may not read the new key's policy
    givenRotatableKeys()
    kmsMock.on(GetKeyPolicyCommand, {KeyId: TARGET_ARN}).rejects(serviceException('AccessDeniedException', DENIED))
    // when the alias is rotated
    const report = await rotate()
    // then both checks are skipped with KMS's reason, and the rotation goes on
    const reason = `not evaluated: GetKeyPolicy on the new key: AccessDeniedException: ${DENIED}`
    expect(check(report, 'access-parity')).toEqual({id: 'access-parity', status: 'skip', message: reason})
    expect(check(report, 'alias-abac')).toEqual({id: 'alias-abac', status: 'skip', message: reason})
    expect(report.accessChanges).toEqual([])
    expect(report.outcome).toBe('rotated')
  })

  it('skips access-parity on a denied ListGrants, and still evaluates alias-abac from the policies', async () => {
    givenRotatableKeys()
    kmsMock.on(ListGrantsCommand, {KeyId: CURRENT_ARN}).rejects(serviceException('AccessDeniedException', 'no'))
    const report = await rotate({dryRun: true})
    expect(check(report, 'access-parity')).toMatchObject({
      status: 'skip',
      message: 'not evaluated: ListGrants on the current key: AccessDeniedException: no',
    })
    expect(check(report, 'alias-abac')?.status).toBe('pass')
    expect(report.outcome).toBe('planned')
  })

  it('skips when the answer has no Policy at all', async () => {
    givenRotatableKeys()
    kmsMock.on(GetKeyPolicyCommand, {KeyId: CURRENT_ARN}).resolves({})
    const report = await rotate({dryRun: true})
    expect(check(report, 'access-parity')?.message).toBe(
      'not evaluated: GetKeyPolicy on the current key: EmptyResponse: no Policy in the answer',
    )
  })

  it('ends the run as any lost connection does when a read gets no answer at all', async () => {
    // given a connection that fails while a grant list is read
    givenRotatableKeys()
    kmsMock.on(ListGrantsCommand, {KeyId: TARGET_ARN}).rejects(connectionRefused())
    // when the alias is rotated
    const error = await rotate().catch((caught: unknown) => caught)
    // then the run ends with exit 255 before UpdateAlias
    expect(error).toBeInstanceOf(KmsRotateError)
    expect((error as KmsRotateError).exitCode).toBe(EXIT.other)
    expect((error as KmsRotateError).message).toContain('(ListGrants: ')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('ends the run, naming the page, when a ListGrants page says Truncated without a NextMarker', async () => {
    givenRotatableKeys()
    kmsMock.on(ListGrantsCommand, {KeyId: CURRENT_ARN}).resolves({Grants: [], Truncated: true})
    const error = await rotate().catch((caught: unknown) => caught)
    expect((error as KmsRotateError).message).toBe('ListGrants page 1 says Truncated but gives no NextMarker')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })
})

describe('the preflight reads no access when there is nothing to compare', () => {
  it('reads nothing when the alias already points at the new key', async () => {
    describeKeys({[ALIAS]: keyMetadata(TARGET_KEY_ID), [TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
    const report = await rotate()
    expect(report.outcome).toBe('unchanged')
    expect(check(report, 'access-parity')).toMatchObject({
      status: 'skip',
      message: 'not compared: the alias already points at the new key',
    })
    expect(kmsMock).not.toHaveReceivedCommand(GetKeyPolicyCommand)
    expect(kmsMock).not.toHaveReceivedCommand(ListGrantsCommand)
  })

  it('reads nothing when the new key does not exist', async () => {
    describeKeys({[ALIAS]: keyMetadata(CURRENT_KEY_ID)})
    kmsMock.on(DescribeKeyCommand, {KeyId: TARGET_KEY_ID}).rejects(notFound('Key is not found.'))
    const report = await rotate()
    expect(report.outcome).toBe('not-found')
    expect(check(report, 'access-parity')).toMatchObject({
      status: 'skip',
      message: 'not compared: the target key could not be described',
    })
    expect(check(report, 'alias-abac')?.status).toBe('skip')
    expect(kmsMock).not.toHaveReceivedCommand(GetKeyPolicyCommand)
    expect(kmsMock).not.toHaveReceivedCommand(ListGrantsCommand)
  })

  it('reads nothing once Ctrl-C has come during DescribeKey', async () => {
    // given an abort while the alias is described
    const controller = new AbortController()
    describeKeys({[TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
    kmsMock.on(DescribeKeyCommand, {KeyId: ALIAS}).callsFake(() => {
      controller.abort(new Error('interrupted'))
      return {KeyMetadata: keyMetadata(CURRENT_KEY_ID)}
    })
    // when the alias is rotated
    const report = await rotate({}, {signal: controller.signal})
    // then the run is interrupted before any policy or grant is read
    expect(report.outcome).toBe('interrupted')
    expect(kmsMock).not.toHaveReceivedCommand(GetKeyPolicyCommand)
    expect(kmsMock).not.toHaveReceivedCommand(ListGrantsCommand)
  })
})
