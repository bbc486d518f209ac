import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  UpdateAliasCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import type {CheckId} from '../../src/lib/checks.js'
import {KmsRotateError, ServiceError, UpdateAnswerLostError} from '../../src/lib/errors.js'
import {parseExpectedCurrentKey, parseTargetKeyId} from '../../src/lib/identifiers.js'
import {EXIT, OUTCOMES} from '../../src/lib/outcomes.js'
import type {RotationReport} from '../../src/lib/report.js'
import {
  rotateAlias,
  waitUntilAliasTargets,
  type RotationHooks,
  type RotationRequest,
} from '../../src/lib/rotate.js'
import {
  ALIAS,
  aliasEntry,
  aliasesOnKey,
  connectionRefused,
  CURRENT_KEY_ID,
  describeKeys,
  keyArn,
  keyMetadata,
  kmsMock,
  newGateway,
  notFound,
  OTHER_ACCOUNT,
  pollCalls,
  REGION,
  serviceException,
  TARGET_KEY_ID,
  THIRD_KEY_ID,
  UNFILTERED,
} from '../support/kms-mock.js'

function request(overrides: Partial<RotationRequest> = {}): RotationRequest {
  return {
    aliasName: ALIAS,
    target: parseTargetKeyId(TARGET_KEY_ID),
    region: REGION,
    dryRun: false,
    allowKeySpecChange: false,
    waitTimeoutSeconds: 120,
    ...overrides,
  }
}

/** The alias points at the current key; the target exists; both differ from the defaults by the overrides. */
function givenKeys(current: Partial<KeyMetadata> = {}, target: Partial<KeyMetadata> = {}): void {
  describeKeys({
    [ALIAS]: keyMetadata(CURRENT_KEY_ID, current),
    [TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID, target),
  })
}

const STALE = {Aliases: [aliasEntry(ALIAS, CURRENT_KEY_ID)]}
const MOVED = {Aliases: [aliasEntry(ALIAS, TARGET_KEY_ID)]}

function givenUpdateAccepted(): void {
  kmsMock.on(UpdateAliasCommand).resolves({})
}

/**
 * Runs the rotation with fake timers driven to the end, so that backoff sleeps take no real time.
 * ListAliases filtered by the target shows `aliasesOnTarget` other aliases; that answer is set
 * last, because the mock prefers the answer set last over an earlier, narrower one.
 */
async function rotate(
  overrides: Partial<RotationRequest> = {},
  hooks: RotationHooks = {},
  aliasesOnTarget = 0,
): Promise<RotationReport> {
  aliasesOnKey(TARGET_KEY_ID, aliasesOnTarget)
  const running = rotateAlias(newGateway(), request(overrides), hooks)
  // Attach a handler now so that a rejection is not reported as unhandled while timers run.
  running.catch(() => {})
  await vi.runAllTimersAsync()
  return running
}

function status(report: RotationReport, id: CheckId): string | undefined {
  return report.checks.find((check) => check.id === id)?.status
}

function failedChecks(report: RotationReport): CheckId[] {
  return report.checks.filter((check) => check.status === 'fail').map((check) => check.id)
}

beforeEach(() => {
  kmsMock.reset()
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('rotateAlias outcomes', () => {
  it('rotates: describes both keys, updates the alias, and sees it on the new key', async () => {
    // given two matching keys and a ListAliases that already shows the move
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    // when the alias is rotated
    const report = await rotate()
    // then it is rotated, exit 0, after one call of each kind (the preflight's reads: one per key)
    expect(report.outcome).toBe('rotated')
    expect(OUTCOMES[report.outcome].exitCode).toBe(0)
    expect(report.updateSent).toBe(true)
    expect(report.from.keyId).toBe(CURRENT_KEY_ID)
    expect(report.to.keyId).toBe(TARGET_KEY_ID)
    expect(kmsMock).toHaveReceivedCommandWith(DescribeKeyCommand, {KeyId: ALIAS})
    expect(kmsMock).toHaveReceivedCommandWith(DescribeKeyCommand, {KeyId: TARGET_KEY_ID})
    expect(kmsMock).toHaveReceivedCommandExactlyOnceWith(UpdateAliasCommand, {
      AliasName: ALIAS,
      TargetKeyId: TARGET_KEY_ID,
    })
    expect(kmsMock).toHaveReceivedCommandWith(ListAliasesCommand, {KeyId: keyArn(TARGET_KEY_ID), Limit: 100})
    expect(pollCalls()).toBe(1)
    expect(report.apiCalls).toEqual({DescribeKey: 2, GetKeyPolicy: 2, ListGrants: 2, ListAliases: 2, UpdateAlias: 1})
    expect(report.updateAccepted).toBe(true)
    expect(report.verification).toMatchObject({polls: 1, pagesRead: 1, error: null, lastSeenTarget: TARGET_KEY_ID})
  })

  it('sends the target to UpdateAlias exactly as given, and polls with the described key id', async () => {
    // given a target named by its ARN
    const targetArn = keyArn(TARGET_KEY_ID)
    describeKeys({[ALIAS]: keyMetadata(CURRENT_KEY_ID), [targetArn]: keyMetadata(TARGET_KEY_ID)})
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    // when the alias is rotated
    const report = await rotate({target: parseTargetKeyId(targetArn)})
    // then the ARN goes to UpdateAlias, and ListAliases is compared with the described key id
    expect(report.outcome).toBe('rotated')
    expect(kmsMock).toHaveReceivedCommandWith(UpdateAliasCommand, {AliasName: ALIAS, TargetKeyId: targetArn})
    expect(report.verification?.lastSeenTarget).toBe(TARGET_KEY_ID)
  })

  it('leaves an alias that already points at the target unchanged, without UpdateAlias', async () => {
    // given a target that is the alias's current key
    describeKeys({[ALIAS]: keyMetadata(TARGET_KEY_ID), [TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
    // when the alias is rotated
    const report = await rotate()
    // then nothing is sent and the run succeeds
    expect(report.outcome).toBe('unchanged')
    expect(OUTCOMES[report.outcome].exitCode).toBe(0)
    expect(report.updateSent).toBe(false)
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
    expect(pollCalls()).toBe(0)
    expect(report.apiCalls).toEqual({DescribeKey: 2})
  })

  it('refuses, rather than calling it unchanged, when the alias is on the target but not on --expected-current-key', async () => {
    // given an alias already on the target, and an expectation that it is on a third key
    describeKeys({[ALIAS]: keyMetadata(TARGET_KEY_ID), [TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
    // when the alias is rotated with that expectation
    const report = await rotate({expectedCurrentKey: parseExpectedCurrentKey(THIRD_KEY_ID)})
    // then the broken expectation is the outcome: refused, exit 3, nothing sent
    expect(report.outcome).toBe('refused')
    expect(OUTCOMES[report.outcome].exitCode).toBe(3)
    expect(failedChecks(report)).toEqual(['expected-current'])
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('leaves an alias on a Disabled target unchanged, and notes the failed check', async () => {
    // given an alias that already points at the target, which is Disabled
    const disabled = keyMetadata(TARGET_KEY_ID, {KeyState: 'Disabled', Enabled: false})
    describeKeys({[ALIAS]: disabled, [TARGET_KEY_ID]: disabled})
    // when the alias is rotated
    const report = await rotate()
    // then there is nothing to write, the run succeeds, and the failed check is reported
    expect(report.outcome).toBe('unchanged')
    expect(status(report, 'target-enabled')).toBe('fail')
    expect(report.summary).toContain('Note: target-enabled failed.')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('plans a dry run without UpdateAlias', async () => {
    givenKeys()
    const report = await rotate({dryRun: true})
    expect(report.outcome).toBe('planned')
    expect(OUTCOMES[report.outcome].exitCode).toBe(0)
    expect(report.dryRun).toBe(true)
    expect(report.updateSent).toBe(false)
    expect(kmsMock).toHaveReceivedCommandTimes(DescribeKeyCommand, 2)
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
    expect(pollCalls()).toBe(0)
    expect(report.apiCalls).toEqual({DescribeKey: 2, GetKeyPolicy: 2, ListGrants: 2, ListAliases: 1})
  })

  it('refuses a dry run whose checks fail', async () => {
    givenKeys({}, {KeyState: 'Disabled'})
    const report = await rotate({dryRun: true})
    expect(report.outcome).toBe('refused')
    expect(OUTCOMES[report.outcome].exitCode).toBe(3)
  })

  it('submits without polling when the wait timeout is 0', async () => {
    givenKeys()
    givenUpdateAccepted()
    const report = await rotate({waitTimeoutSeconds: 0})
    expect(report.outcome).toBe('submitted')
    expect(OUTCOMES[report.outcome].exitCode).toBe(0)
    expect(report.updateSent).toBe(true)
    expect(report.verification).toBeNull()
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
    expect(pollCalls()).toBe(0)
  })

  it('asks the confirm hook with the plan, then updates when it says yes', async () => {
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    const asked: Array<{outcome: string; to: string | null}> = []
    const confirm = async (plan: RotationReport) => {
      asked.push({outcome: plan.outcome, to: plan.to.keyId})
      return true
    }

    const report = await rotate({}, {confirm})

    expect(asked).toEqual([{outcome: 'planned', to: TARGET_KEY_ID}])
    expect(report.outcome).toBe('rotated')
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
  })

  it('tells the caller while UpdateAlias is in flight, and when its answer is back', async () => {
    // given
    givenKeys()
    const inFlight: boolean[] = []
    kmsMock.on(UpdateAliasCommand).callsFake(async () => {
      inFlight.push(true === inFlight.at(-1))
      return {}
    })
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    // when
    const report = await rotate({}, {onUpdateInFlight: (flag) => inFlight.push(flag)})
    // then: true before the call went out (seen from inside it), false after the answer
    expect(report.outcome).toBe('rotated')
    expect(inFlight).toEqual([true, true, false])
  })

  it('is declined without UpdateAlias when the confirm hook says no', async () => {
    // given a prompt that is answered no
    givenKeys()
    const confirm = vi.fn(async () => false)
    // when the alias is rotated
    const report = await rotate({}, {confirm})
    // then nothing changes and the exit code is 3
    expect(confirm).toHaveBeenCalledTimes(1)
    expect(report.outcome).toBe('declined')
    expect(OUTCOMES[report.outcome].exitCode).toBe(3)
    expect(report.updateSent).toBe(false)
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('does not ask when a check fails', async () => {
    givenKeys({}, {KeyManager: 'AWS'})
    const confirm = vi.fn(async () => true)
    const report = await rotate({}, {confirm})
    expect(report.outcome).toBe('refused')
    expect(confirm).not.toHaveBeenCalled()
  })

  it('proceeds past a warning: a disabled current key is moved away from', async () => {
    givenKeys({KeyState: 'Disabled', Enabled: false})
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    const report = await rotate()
    expect(status(report, 'current-key-enabled')).toBe('warn')
    expect(report.outcome).toBe('rotated')
  })

  it('accepts another KeySpec of the same family with allowKeySpecChange', async () => {
    givenKeys({KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY'}, {KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY'})
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    const report = await rotate({allowKeySpecChange: true, acknowledgeVerifyBreak: true})
    expect(status(report, 'key-spec-match')).toBe('warn')
    expect(report.outcome).toBe('rotated')
  })
})

describe('rotateAlias with --preflight basic', () => {
  it('makes exactly DescribeKey on both keys, UpdateAlias and one ListAliases when the move shows at once', async () => {
    // given two matching keys and a ListAliases that already shows the move
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    // when the alias is rotated with the basic preflight and no canary
    const report = await rotate({preflight: 'basic', canary: false})
    // then it is rotated after four calls, none of them a policy, grant or alias-count read
    expect(report.outcome).toBe('rotated')
    expect(report.apiCalls).toEqual({DescribeKey: 2, UpdateAlias: 1, ListAliases: 1})
    expect(kmsMock.calls()).toHaveLength(4)
    expect(kmsMock).toHaveReceivedCommandTimes(DescribeKeyCommand, 2)
    expect(pollCalls()).toBe(1)
    expect(kmsMock).not.toHaveReceivedCommand(GetKeyPolicyCommand)
    expect(kmsMock).not.toHaveReceivedCommand(ListGrantsCommand)
    expect(kmsMock).not.toHaveReceivedCommandWith(ListAliasesCommand, {KeyId: keyArn(TARGET_KEY_ID)})
    expect(kmsMock).not.toHaveReceivedCommand(EncryptCommand)
  })

  it('reports the checks it did not read for as skipped, naming --preflight basic', async () => {
    // given two matching keys
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    // when the alias is rotated with the basic preflight
    const report = await rotate({preflight: 'basic', canary: false})
    // then alias-quota, access-parity and alias-abac are skipped and say why; the others still run
    for (const id of ['alias-quota', 'access-parity', 'alias-abac'] as const) {
      const check = report.checks.find((result) => result.id === id)
      expect(check?.status).toBe('skip')
      expect(check?.message).toContain('--preflight basic')
    }

    expect(status(report, 'key-usage-match')).toBe('pass')
    expect(status(report, 'target-enabled')).toBe('pass')
  })

  it('still refuses a target whose KeyUsage differs, from DescribeKey alone', async () => {
    // given a target for signing
    givenKeys({}, {KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256'})
    // when the alias is rotated with the basic preflight
    const report = await rotate({preflight: 'basic', canary: false})
    // then it is refused without UpdateAlias
    expect(report.outcome).toBe('refused')
    expect(failedChecks(report)).toContain('key-usage-match')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('keeps the canary when it is asked for', async () => {
    // given two matching keys, a visible move and a working key
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    kmsMock.on(EncryptCommand).resolves({CiphertextBlob: new Uint8Array([1]), KeyId: keyArn(TARGET_KEY_ID)})
    kmsMock.on(DecryptCommand).resolves({Plaintext: new Uint8Array([0]), KeyId: keyArn(TARGET_KEY_ID)})
    // when the alias is rotated with the basic preflight and the canary
    const report = await rotate({preflight: 'basic', canary: true})
    // then the canary's calls are made, and still no policy or grant read
    expect(kmsMock).toHaveReceivedCommand(EncryptCommand)
    expect(kmsMock).not.toHaveReceivedCommand(GetKeyPolicyCommand)
    expect(report.apiCalls.Encrypt).toBe(1)
  })
})

describe('rotateAlias with the default preflight', () => {
  it('reads both key policies, both grant lists and the new key\'s aliases before UpdateAlias', async () => {
    // given two matching keys and a visible move
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    // when the alias is rotated with no preflight option
    const report = await rotate({canary: false})
    // then every safety read was made, for each key
    expect(report.outcome).toBe('rotated')
    for (const keyId of [CURRENT_KEY_ID, TARGET_KEY_ID]) {
      expect(kmsMock).toHaveReceivedCommandWith(GetKeyPolicyCommand, {KeyId: keyArn(keyId)})
      expect(kmsMock).toHaveReceivedCommandWith(ListGrantsCommand, {KeyId: keyArn(keyId)})
    }

    expect(kmsMock).toHaveReceivedCommandWith(ListAliasesCommand, {KeyId: keyArn(TARGET_KEY_ID)})
    expect(status(report, 'access-parity')).toBe('pass')
    expect(status(report, 'alias-quota')).toBe('pass')
  })
})

describe('rotateAlias refusals', () => {
  it('refuses a target whose KeyUsage differs, without UpdateAlias', async () => {
    givenKeys(
      {KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT'},
      {KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY'},
    )
    const report = await rotate({acknowledgeVerifyBreak: true})
    expect(report.outcome).toBe('refused')
    expect(OUTCOMES[report.outcome].exitCode).toBe(3)
    expect(failedChecks(report)).toEqual(['key-usage-match'])
    expect(report.updateSent).toBe(false)
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
  })

  it('refuses another KeySpec of the same family without allowKeySpecChange', async () => {
    givenKeys({KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY'}, {KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY'})
    const report = await rotate({acknowledgeVerifyBreak: true})
    expect(report.outcome).toBe('refused')
    expect(failedChecks(report)).toEqual(['key-spec-match'])
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('refuses an AWS managed target', async () => {
    givenKeys({}, {KeyManager: 'AWS'})
    const report = await rotate()
    expect(report.outcome).toBe('refused')
    expect(failedChecks(report)).toEqual(['target-customer-managed'])
    expect(report.to.keyManager).toBe('AWS')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('refuses a target pending import', async () => {
    givenKeys({}, {KeyState: 'PendingImport', Enabled: false, Origin: 'EXTERNAL'})
    const report = await rotate()
    expect(report.outcome).toBe('refused')
    expect(failedChecks(report)).toEqual(['target-enabled'])
    expect(report.summary).toContain('target-enabled')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('refuses a reserved alias/aws/ name without ever describing the alias', async () => {
    // given an AWS managed alias name; DescribeKey on it could create its AWS managed key
    const aliasName = 'alias/aws/ebs'
    givenKeys()
    // when it is rotated
    const report = await rotate({aliasName})
    // then it is refused, and only the target was described
    expect(report.outcome).toBe('refused')
    expect(status(report, 'alias-not-reserved')).toBe('fail')
    expect(status(report, 'alias-exists')).toBe('skip')
    expect(kmsMock).not.toHaveReceivedCommandWith(DescribeKeyCommand, {KeyId: aliasName})
    expect(kmsMock).toHaveReceivedCommandExactlyOnceWith(DescribeKeyCommand, {KeyId: TARGET_KEY_ID})
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
    expect(report.apiCalls).toEqual({DescribeKey: 1, ListAliases: 1})
  })

  it('refuses a target ARN in another Region without describing the target', async () => {
    // given a target ARN in eu-west-1 while the client talks to us-east-1
    const targetArn = keyArn(TARGET_KEY_ID, 'eu-west-1')
    givenKeys()
    // when the alias is rotated
    const report = await rotate({target: parseTargetKeyId(targetArn)})
    // then same-account-region fails and DescribeKey was sent for the alias only
    expect(report.outcome).toBe('refused')
    expect(failedChecks(report)).toEqual(['same-account-region'])
    expect(status(report, 'target-exists')).toBe('skip')
    expect(kmsMock).toHaveReceivedCommandExactlyOnceWith(DescribeKeyCommand, {KeyId: ALIAS})
    expect(kmsMock).not.toHaveReceivedCommandWith(DescribeKeyCommand, {KeyId: targetArn})
    expect(report.apiCalls).toEqual({DescribeKey: 1})
  })

  it('refuses a target ARN in another partition without describing the target', async () => {
    // given a China-partition ARN while the client talks to us-east-1
    describeKeys({[ALIAS]: keyMetadata(CURRENT_KEY_ID)})
    const arn = `arn:aws-cn:kms:cn-north-1:111122223333:key/${TARGET_KEY_ID}`
    // when the alias is rotated to it
    const report = await rotate({target: parseTargetKeyId(arn)})
    // then same-account-region names the partition, and only the alias was described
    expect(report.outcome).toBe('refused')
    expect(report.checks.find((check) => check.id === 'same-account-region')?.message).toContain(
      'partition aws-cn, not aws',
    )
    expect(kmsMock).toHaveReceivedCommandTimes(DescribeKeyCommand, 1)
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('refuses a target ARN in another account that DescribeKey may not see, instead of failing', async () => {
    // given a target ARN in another account, whose DescribeKey is denied
    const targetArn = keyArn(TARGET_KEY_ID, REGION, OTHER_ACCOUNT)
    describeKeys({[ALIAS]: keyMetadata(CURRENT_KEY_ID)})
    kmsMock
      .on(DescribeKeyCommand, {KeyId: targetArn})
      .rejects(serviceException('AccessDeniedException', 'not authorized'))
    // when the alias is rotated
    const report = await rotate({target: parseTargetKeyId(targetArn)})
    // then the run reports the account mismatch
    expect(report.outcome).toBe('refused')
    expect(failedChecks(report)).toEqual(['same-account-region'])
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('ends not-found when DescribeKey does not find the alias', async () => {
    // given an alias that does not exist
    kmsMock.on(DescribeKeyCommand, {KeyId: ALIAS}).rejects(notFound(`Alias ${ALIAS} is not found.`))
    describeKeys({[TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
    // when it is rotated
    const report = await rotate()
    // then it ends not-found, exit 254 as in the AWS CLI, with KMS's words as the summary
    const kmsLine = `An error occurred (NotFoundException) when calling the DescribeKey operation: Alias ${ALIAS} is not found.`
    expect(report.outcome).toBe('not-found')
    expect(OUTCOMES[report.outcome].exitCode).toBe(EXIT.service)
    expect(failedChecks(report)).toEqual(['alias-exists'])
    expect(report.checks.find((check) => check.id === 'alias-exists')?.message).toBe(kmsLine)
    expect(report.summary).toBe(kmsLine)
    expect(status(report, 'key-usage-match')).toBe('skip')
    expect(report.from.keyId).toBeNull()
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('ends not-found when DescribeKey does not find the target', async () => {
    describeKeys({[ALIAS]: keyMetadata(CURRENT_KEY_ID)})
    kmsMock.on(DescribeKeyCommand, {KeyId: TARGET_KEY_ID}).rejects(notFound('Key is not found.'))
    const report = await rotate()
    expect(report.outcome).toBe('not-found')
    expect(failedChecks(report)).toEqual(['target-exists'])
    expect(report.summary).toContain('(NotFoundException) when calling the DescribeKey operation: Key is not found.')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })
})

describe('rotateAlias errors', () => {
  it('turns AccessDeniedException on UpdateAlias into a service error in the AWS CLI format', async () => {
    // given an UpdateAlias the caller may not make
    givenKeys()
    const detail = 'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: kms:UpdateAlias'
    kmsMock.on(UpdateAliasCommand).rejects(serviceException('AccessDeniedException', detail))
    // when the alias is rotated
    const error = await rotate().catch((caught: unknown) => caught)
    // then the run ends with exit 254 and the AWS CLI's message, and nothing is polled
    expect(error).toBeInstanceOf(ServiceError)
    expect((error as ServiceError).exitCode).toBe(254)
    expect((error as ServiceError).message).toBe(
      `An error occurred (AccessDeniedException) when calling the UpdateAlias operation: ${detail}`,
    )
    expect(pollCalls()).toBe(0)
  })

  it('turns AccessDeniedException on DescribeKey of the alias into a service error', async () => {
    kmsMock
      .on(DescribeKeyCommand, {KeyId: ALIAS})
      .rejects(serviceException('AccessDeniedException', 'denied'))
    describeKeys({[TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
    const error = await rotate().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ServiceError)
    expect((error as ServiceError).message).toBe(
      'An error occurred (AccessDeniedException) when calling the DescribeKey operation: denied',
    )
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('reports the service error, not an interruption, when KMS rejects an UpdateAlias sent before Ctrl-C', async () => {
    // given an UpdateAlias that KMS rejects, with Ctrl-C arriving while it is on its way
    givenKeys()
    const interrupt = new AbortController()
    kmsMock.on(UpdateAliasCommand).callsFake(async () => {
      interrupt.abort(new Error('interrupted'))
      throw serviceException('AccessDeniedException', 'denied')
    })
    // when the alias is rotated
    const error = await rotate({}, {signal: interrupt.signal}).catch((caught: unknown) => caught)
    // then KMS's answer is what the run reports, and nothing is polled
    expect(error).toBeInstanceOf(ServiceError)
    expect((error as ServiceError).code).toBe('AccessDeniedException')
    expect(pollCalls()).toBe(0)
  })

  it('says the alias may or may not have moved when UpdateAlias ends in a server error', async () => {
    // given an UpdateAlias that still fails with HTTP 503 after the SDK's retries
    givenKeys()
    kmsMock.on(UpdateAliasCommand).rejects(serviceException('ServiceUnavailableException', 'try later', 503))
    // when the alias is rotated
    const error = await rotate().catch((caught: unknown) => caught)
    // then the service error's exit code is kept and the state is called unknown
    expect((error as KmsRotateError).exitCode).toBe(254)
    expect((error as KmsRotateError).message).toContain('(ServiceUnavailableException)')
    expect((error as KmsRotateError).message).toContain(`${ALIAS} may or may not have moved`)
  })

  it('says the alias may or may not have moved when UpdateAlias gets no answer', async () => {
    // given a connection that fails while UpdateAlias is sent
    givenKeys()
    kmsMock.on(UpdateAliasCommand).rejects(connectionRefused())
    // when the alias is rotated
    const error = await rotate().catch((caught: unknown) => caught)
    // then the run ends with exit 255 and says the state is unknown
    expect(error).toBeInstanceOf(KmsRotateError)
    expect(error).not.toBeInstanceOf(ServiceError)
    expect((error as KmsRotateError).exitCode).toBe(EXIT.other)
    expect((error as KmsRotateError).exitCode).toBe(255)
    expect((error as KmsRotateError).message).toContain('Could not connect to the endpoint URL')
    expect((error as KmsRotateError).message).toContain(`${ALIAS} may or may not have moved`)
    expect(pollCalls()).toBe(0)
  })
})

describe('rotateAlias interruption', () => {
  it('is interrupted before UpdateAlias when Ctrl-C arrives at the prompt', async () => {
    // given a prompt that is interrupted: the abort comes first, then the prompt gives up
    givenKeys()
    const controller = new AbortController()
    const confirm = async () => {
      controller.abort(new Error('interrupted'))
      throw new Error('User force closed the prompt')
    }

    // when the alias is rotated
    const report = await rotate({}, {confirm, signal: controller.signal})
    // then the run is interrupted, exit 130, and UpdateAlias was never sent
    expect(report.outcome).toBe('interrupted')
    expect(OUTCOMES[report.outcome].exitCode).toBe(130)
    expect(report.updateSent).toBe(false)
    expect(report.summary).toContain('before UpdateAlias was sent; nothing was changed')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('is interrupted before UpdateAlias when the abort arrives during the preflight', async () => {
    const controller = new AbortController()
    kmsMock.on(DescribeKeyCommand, {KeyId: ALIAS}).callsFake(() => {
      controller.abort(new Error('interrupted'))
      return {KeyMetadata: keyMetadata(CURRENT_KEY_ID)}
    })
    describeKeys({[TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})

    const report = await rotate({}, {signal: controller.signal})

    expect(report.outcome).toBe('interrupted')
    expect(report.updateSent).toBe(false)
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('is interrupted after UpdateAlias when the abort arrives while polling', async () => {
    // given a ListAliases that keeps showing the old key, and Ctrl-C soon after the first poll
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(STALE)
    const controller = new AbortController()
    const onPoll = (poll: number) => {
      if (poll === 1) setTimeout(() => controller.abort(new Error('interrupted')), 100)
    }

    // when the alias is rotated
    const report = await rotate({}, {signal: controller.signal, onPoll})
    // then the report says UpdateAlias was accepted and where the alias pointed at the last read
    expect(report.outcome).toBe('interrupted')
    expect(OUTCOMES[report.outcome].exitCode).toBe(130)
    expect(report.updateSent).toBe(true)
    expect(report.updateAccepted).toBe(true)
    expect(report.verification).toMatchObject({polls: 1, lastSeenTarget: CURRENT_KEY_ID})
    expect(report.summary).toContain(`UpdateAlias was accepted for ${ALIAS} -> ${TARGET_KEY_ID}`)
    expect(report.summary).toContain(`at the last read (poll 1) it pointed at ${CURRENT_KEY_ID}`)
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
    expect(pollCalls()).toBe(1)
  })
})

describe('rotateAlias when the answer to UpdateAlias is lost', () => {
  const lost = () => new UpdateAnswerLostError('The connection to "http://kms.test" closed before UpdateAlias was answered.')

  it('reads the alias back and reports rotated when it moved, without a second UpdateAlias', async () => {
    // given an UpdateAlias whose answer never arrives, and an alias that did move
    givenKeys()
    kmsMock.on(UpdateAliasCommand).rejects(lost())
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    // when the alias is rotated
    const report = await rotate()
    // then the read-back settles it: rotated, exit 0, one write
    expect(report.outcome).toBe('rotated')
    expect(OUTCOMES[report.outcome].exitCode).toBe(0)
    expect(report.updateSent).toBe(true)
    expect(report.updateAccepted).toBe(false)
    expect(report.updateError).toContain('closed before UpdateAlias was answered')
    expect(report.summary).toContain('The answer to UpdateAlias was lost; the alias was read back.')
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
    expect(pollCalls()).toBe(1)
  })

  it('reports unconfirmed, never refused, when the alias is not seen on the new key by the deadline', async () => {
    // given a lost answer and an alias that keeps showing the old key
    givenKeys()
    kmsMock.on(UpdateAliasCommand).rejects(lost())
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(STALE)
    // when the alias is rotated with a short deadline
    const report = await rotate({waitTimeoutSeconds: 3})
    // then the outcome is unknown, exit 4, and the summary says where the alias was last seen
    expect(report.outcome).toBe('unconfirmed')
    expect(OUTCOMES[report.outcome].exitCode).toBe(4)
    expect(report.summary).toContain('its answer was lost')
    expect(report.summary).toContain(`it pointed at ${CURRENT_KEY_ID}`)
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
    expect(report.verification?.polls).toBeGreaterThan(1)
  })

  it('still reads the alias back once with --wait-timeout 0', async () => {
    // given a lost answer, no wait asked for, and an alias that moved
    givenKeys()
    kmsMock.on(UpdateAliasCommand).rejects(lost())
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    // when the alias is rotated
    const report = await rotate({waitTimeoutSeconds: 0})
    // then one read settles it instead of reporting submitted
    expect(report.outcome).toBe('rotated')
    expect(pollCalls()).toBe(1)
  })
})

describe('rotateAlias visibility poll', () => {
  it('keeps polling through stale answers and counts the polls', async () => {
    // given a ListAliases that shows the old key three times, then the new one
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolvesOnce(STALE).resolvesOnce(STALE).resolvesOnce(STALE).resolves(MOVED)
    const polls: number[] = []
    const waits: boolean[] = []
    // when the alias is rotated
    const report = await rotate(
      {},
      {
        onPoll: (poll) => polls.push(poll),
        onWaitStart: () => waits.push(true),
        onWaitEnd: (seen) => waits.push(seen),
      },
    )
    // then it is rotated on the fourth poll
    expect(report.outcome).toBe('rotated')
    expect(report.verification).toMatchObject({polls: 4, pagesRead: 4, error: null})
    expect(report.summary).toContain('seen on poll 4, after')
    expect(polls).toEqual([1, 2, 3, 4])
    expect(waits).toEqual([true, true])
    expect(pollCalls()).toBe(4)
  })

  it('is unconfirmed when the new target is not seen before the deadline', async () => {
    // given a ListAliases that never shows the new key
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(STALE)
    const seen: boolean[] = []
    // when the alias is rotated with a 30-second deadline
    const report = await rotate({waitTimeoutSeconds: 30}, {onWaitEnd: (wasSeen) => seen.push(wasSeen)})
    // then the update was sent, polling stopped at the deadline, and the exit code is 4
    expect(report.outcome).toBe('unconfirmed')
    expect(OUTCOMES[report.outcome].exitCode).toBe(4)
    expect(report.updateSent).toBe(true)
    expect(report.verification?.error).toBeNull()
    expect(report.verification?.polls).toBeGreaterThan(1)
    expect(report.verification?.waitedMs).toBeGreaterThanOrEqual(30_000)
    expect(report.summary).toContain('run the command again to confirm')
    expect(seen).toEqual([false])
  })

  it('follows NextMarker through three pages and finds the alias on the last', async () => {
    // given three pages of aliases, the alias on the third
    givenKeys()
    givenUpdateAccepted()
    kmsMock
      .on(ListAliasesCommand, UNFILTERED)
      .resolvesOnce({Aliases: [aliasEntry('alias/one', CURRENT_KEY_ID)], Truncated: true, NextMarker: 'm2'})
      .resolvesOnce({Aliases: [aliasEntry('alias/two', TARGET_KEY_ID)], Truncated: true, NextMarker: 'm3'})
      .resolvesOnce({Aliases: [aliasEntry(ALIAS, TARGET_KEY_ID)], Truncated: false})
    // when the alias is rotated
    const report = await rotate()
    // then one poll read three pages, each after the marker of the one before
    expect(report.outcome).toBe('rotated')
    expect(report.verification).toMatchObject({polls: 1, pagesRead: 3, error: null})
    expect(pollCalls()).toBe(3)
    // The first ListAliases is the preflight's, filtered by the target.
    const pages = {Limit: 100}
    expect(kmsMock).toHaveReceivedNthCommandWith(ListAliasesCommand, 1, {...pages, KeyId: keyArn(TARGET_KEY_ID)})
    expect(kmsMock).toHaveReceivedNthCommandWith(ListAliasesCommand, 2, {...pages, Marker: undefined})
    expect(kmsMock).toHaveReceivedNthCommandWith(ListAliasesCommand, 3, {...pages, Marker: 'm2'})
    expect(kmsMock).toHaveReceivedNthCommandWith(ListAliasesCommand, 4, {...pages, Marker: 'm3'})
  })

  it('stops, unconfirmed, on a page that says Truncated but gives no NextMarker', async () => {
    // given a second page that is truncated without a marker
    givenKeys()
    givenUpdateAccepted()
    kmsMock
      .on(ListAliasesCommand, UNFILTERED)
      .resolvesOnce({Aliases: [], Truncated: true, NextMarker: 'page-2'})
      .resolves({Aliases: [], Truncated: true})
    // when the alias is rotated
    const report = await rotate()
    // then polling stops at once with an error naming the page
    expect(report.outcome).toBe('unconfirmed')
    expect(report.verification).toMatchObject({polls: 0, pagesRead: 2})
    expect(report.verification?.error).toBe('ListAliases page 2 says Truncated but gives no NextMarker')
    expect(report.summary).toContain('polling stopped: ListAliases page 2')
    expect(pollCalls()).toBe(2)
  })

  it('with one page per poll reads one page and finds the alias on it', async () => {
    // given the alias on the first of two pages
    givenKeys()
    givenUpdateAccepted()
    kmsMock
      .on(ListAliasesCommand, UNFILTERED)
      .resolves({Aliases: [aliasEntry(ALIAS, TARGET_KEY_ID)], Truncated: true, NextMarker: 'page-2'})
    // when the alias is rotated with --no-paginate
    const report = await rotate({onePagePerPoll: true})
    // then the second page was never asked for
    expect(report.outcome).toBe('rotated')
    expect(report.verification).toMatchObject({polls: 1, pagesRead: 1, error: null})
    expect(pollCalls()).toBe(1)
  })

  it('with one page per poll is unconfirmed, saying so, when the alias is not on a first page that has more', async () => {
    // given the alias only on the second page
    givenKeys()
    givenUpdateAccepted()
    kmsMock
      .on(ListAliasesCommand, {...UNFILTERED, Marker: undefined})
      .resolves({Aliases: [aliasEntry('alias/one', TARGET_KEY_ID)], Truncated: true, NextMarker: 'page-2'})
      .on(ListAliasesCommand, {Marker: 'page-2'})
      .resolves({Aliases: [aliasEntry(ALIAS, TARGET_KEY_ID)], Truncated: false})
    // when the alias is rotated with --no-paginate
    const report = await rotate({onePagePerPoll: true})
    // then polling stops at once, and the report says the other pages were left unread
    expect(report.outcome).toBe('unconfirmed')
    expect(OUTCOMES[report.outcome].exitCode).toBe(4)
    expect(report.verification).toMatchObject({polls: 0, pagesRead: 1})
    expect(report.verification?.error).toBe(
      `${ALIAS} is not on the first ListAliases page, and --no-paginate leaves the others unread`,
    )
    expect(report.summary).toContain('polling stopped: alias/app is not on the first ListAliases page')
    expect(pollCalls()).toBe(1)
    expect(kmsMock).not.toHaveReceivedCommandWith(ListAliasesCommand, {Marker: 'page-2'})
  })

  it('with one page per poll keeps polling a single page that is not truncated until the alias shows', async () => {
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolvesOnce(STALE).resolves(MOVED)
    const report = await rotate({onePagePerPoll: true})
    expect(report.outcome).toBe('rotated')
    expect(report.verification).toMatchObject({polls: 2, pagesRead: 2, error: null})
  })

  it('does not count the alias as moved when another alias shows the new key', async () => {
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves({Aliases: [aliasEntry('alias/app-old', TARGET_KEY_ID)]})
    const report = await rotate({waitTimeoutSeconds: 5})
    expect(report.outcome).toBe('unconfirmed')
  })
})

describe('waitUntilAliasTargets', () => {
  it('stops at once with the error when ListAliases fails, without polling again', async () => {
    // given a ListAliases the caller may not make
    kmsMock.on(ListAliasesCommand, UNFILTERED).rejects(serviceException('AccessDeniedException', 'no kms:ListAliases'))
    // when the alias is awaited
    const waiting = waitUntilAliasTargets(newGateway(), ALIAS, TARGET_KEY_ID, {timeoutSeconds: 60})
    await vi.runAllTimersAsync()
    const {seen, verification} = await waiting
    // then it is not seen and the error is kept
    expect(seen).toBe(false)
    expect(verification.polls).toBe(0)
    expect(verification.error).toContain('(AccessDeniedException) when calling the ListAliases operation')
    expect(pollCalls()).toBe(1)
  })

  it('returns interrupted, with the target of the last read, when aborted while waiting', async () => {
    // given an alias still on the old key, and an abort soon after the first poll
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(STALE)
    const controller = new AbortController()
    // when the alias is awaited
    const waiting = waitUntilAliasTargets(newGateway(), ALIAS, TARGET_KEY_ID, {timeoutSeconds: 60}, {
      signal: controller.signal,
      onPoll: () => setTimeout(() => controller.abort(new Error('interrupted')), 10),
    })
    await vi.runAllTimersAsync()
    const result = await waiting
    // then it stops after that one read and says where the alias was
    expect(result).toMatchObject({seen: false, interrupted: true})
    expect(result.verification).toMatchObject({polls: 1, lastSeenTarget: CURRENT_KEY_ID, error: null})
    expect(pollCalls()).toBe(1)
  })
})

describe('rotateAlias with --expected-current-key', () => {
  /** Calls in the order the client sent them, as OPERATION KeyId-or-AliasName. */
  function callOrder(): string[] {
    return kmsMock.calls().map((call) => {
      const command = call.args[0] as {constructor: {name: string}; input: {KeyId?: string; AliasName?: string}}
      const operation = command.constructor.name.replace(/Command$/, '')
      return `${operation} ${command.input.KeyId ?? command.input.AliasName ?? ''}`.trim()
    })
  }

  it('reads the alias again just before UpdateAlias and rotates when it is still on the expected key', async () => {
    // given an alias on the expected key
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    // when the alias is rotated with that expectation
    const report = await rotate({expectedCurrentKey: parseExpectedCurrentKey(CURRENT_KEY_ID)})
    // then the second read of the alias comes right before the write, and the check says so
    expect(report.outcome).toBe('rotated')
    expect(report.checks.find((check) => check.id === 'expected-current')).toEqual({
      id: 'expected-current',
      status: 'pass',
      message: `${ALIAS} points at the expected key ${CURRENT_KEY_ID} (read again just before UpdateAlias)`,
    })
    const order = callOrder()
    expect(order.filter((call) => call === `DescribeKey ${ALIAS}`)).toHaveLength(2)
    expect(order.slice(order.indexOf(`UpdateAlias ${ALIAS}`) - 1, order.indexOf(`UpdateAlias ${ALIAS}`) + 1)).toEqual([
      `DescribeKey ${ALIAS}`,
      `UpdateAlias ${ALIAS}`,
    ])
  })

  it('accepts the expected key as an ARN in the alias\'s account and Region', async () => {
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    const report = await rotate({expectedCurrentKey: parseExpectedCurrentKey(keyArn(CURRENT_KEY_ID))})
    expect(report.outcome).toBe('rotated')
    expect(status(report, 'expected-current')).toBe('pass')
  })

  it('refuses in the preflight, without UpdateAlias or a second read, when the alias is on another key', async () => {
    // given an expectation that does not match where the alias points
    givenKeys()
    const confirm = vi.fn(async () => true)
    // when the alias is rotated
    const report = await rotate({expectedCurrentKey: parseExpectedCurrentKey(THIRD_KEY_ID)}, {confirm})
    // then it is refused before the prompt, and the check names both keys
    expect(report.outcome).toBe('refused')
    expect(OUTCOMES[report.outcome].exitCode).toBe(3)
    expect(failedChecks(report)).toEqual(['expected-current'])
    expect(report.checks.find((check) => check.id === 'expected-current')?.message).toBe(
      `${ALIAS} points at ${CURRENT_KEY_ID}, not at the expected key ${THIRD_KEY_ID}`,
    )
    expect(confirm).not.toHaveBeenCalled()
    expect(kmsMock).toHaveReceivedCommandTimes(DescribeKeyCommand, 2)
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('refuses without UpdateAlias when the alias moves while the prompt waits', async () => {
    // given an alias on the expected key, which another writer moves while the operator reads the plan
    givenKeys()
    const confirm = async () => {
      kmsMock.on(DescribeKeyCommand, {KeyId: ALIAS}).resolves({KeyMetadata: keyMetadata(THIRD_KEY_ID)})
      return true
    }

    // when the alias is rotated with the expectation
    const report = await rotate({expectedCurrentKey: parseExpectedCurrentKey(CURRENT_KEY_ID)}, {confirm})
    // then the read after the prompt sees the move, and nothing is written
    expect(report.outcome).toBe('refused')
    expect(report.updateSent).toBe(false)
    expect(report.summary).toBe('Refused: expected-current failed; nothing was changed.')
    expect(report.checks.find((check) => check.id === 'expected-current')).toEqual({
      id: 'expected-current',
      status: 'fail',
      message:
        `${ALIAS} points at ${THIRD_KEY_ID} (read again just before UpdateAlias), ` +
        `not at the expected key ${CURRENT_KEY_ID}`,
    })
    expect(kmsMock).toHaveReceivedCommandWith(DescribeKeyCommand, {KeyId: ALIAS})
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
    expect(pollCalls()).toBe(0)
  })

  it('refuses without UpdateAlias when the alias is gone at the second read', async () => {
    givenKeys()
    kmsMock
      .on(DescribeKeyCommand, {KeyId: ALIAS})
      .resolvesOnce({KeyMetadata: keyMetadata(CURRENT_KEY_ID)})
      .rejects(notFound(`Alias arn:aws:kms:${REGION}:111122223333:${ALIAS} is not found.`))
    const report = await rotate({expectedCurrentKey: parseExpectedCurrentKey(CURRENT_KEY_ID)})
    expect(report.outcome).toBe('refused')
    expect(status(report, 'expected-current')).toBe('fail')
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('reads the alias once and reports expected-current as skipped without the flag', async () => {
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    const report = await rotate()
    expect(report.outcome).toBe('rotated')
    expect(status(report, 'expected-current')).toBe('skip')
    expect(kmsMock).toHaveReceivedCommandTimes(DescribeKeyCommand, 2)
  })
})

describe('rotateAlias alias quota', () => {
  it('refuses a target that already has 50 other aliases, without UpdateAlias', async () => {
    // given a target key with 50 aliases of its own
    givenKeys()
    // when the alias is rotated to it
    const report = await rotate({}, {}, 50)
    // then alias-quota fails with the count and the quota, and nothing is written
    expect(report.outcome).toBe('refused')
    expect(failedChecks(report)).toEqual(['alias-quota'])
    expect(report.checks.find((check) => check.id === 'alias-quota')?.message).toContain(
      'already has 50 other aliases and KMS allows 50 per key',
    )
    expect(kmsMock).toHaveReceivedCommandWith(ListAliasesCommand, {KeyId: keyArn(TARGET_KEY_ID)})
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it('rotates to a target with 49 other aliases', async () => {
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    const report = await rotate({}, {}, 49)
    expect(report.outcome).toBe('rotated')
    expect(status(report, 'alias-quota')).toBe('pass')
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
  })

  it('follows NextMarker to count every alias of the target', async () => {
    // given 50 aliases on the target, over two pages
    givenKeys()
    const page = (from: number, count: number) =>
      Array.from({length: count}, (_, index) => aliasEntry(`alias/other-${from + index}`, TARGET_KEY_ID))
    const filtered = {KeyId: keyArn(TARGET_KEY_ID)}
    // when the alias is rotated (the answers below are set after rotate() sets its own)
    const running = rotateAlias(newGateway(), request())
    kmsMock
      .on(ListAliasesCommand, {...filtered, Marker: undefined})
      .resolves({Aliases: page(0, 30), Truncated: true, NextMarker: 'next'})
      .on(ListAliasesCommand, {...filtered, Marker: 'next'})
      .resolves({Aliases: page(30, 20), Truncated: false})
    await vi.runAllTimersAsync()
    const report = await running
    // then both pages were read and all 50 counted
    expect(report.outcome).toBe('refused')
    expect(report.checks.find((check) => check.id === 'alias-quota')?.message).toContain('already has 50 other')
    expect(kmsMock).toHaveReceivedCommandWith(ListAliasesCommand, {...filtered, Marker: 'next'})
  })

  it('skips the count, and still rotates, when ListAliases is denied', async () => {
    // given a caller that may not list the target's aliases
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    const running = rotateAlias(newGateway(), request())
    kmsMock
      .on(ListAliasesCommand, {KeyId: keyArn(TARGET_KEY_ID)})
      .rejects(serviceException('AccessDeniedException', 'not allowed to list'))
    await vi.runAllTimersAsync()
    const report = await running
    // then the check says why it was skipped, and the rotation goes on
    expect(report.outcome).toBe('rotated')
    expect(report.checks.find((check) => check.id === 'alias-quota')).toMatchObject({
      status: 'skip',
      message: expect.stringContaining('not counted: An error occurred (AccessDeniedException)'),
    })
  })
})

describe('rotateAlias for keys whose old signatures, MACs or ciphertext break', () => {
  const HMAC = {KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC'} as const
  const RSA_SIGN = {KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY'} as const

  it.each([
    ['HMAC', HMAC],
    ['RSA SIGN_VERIFY', RSA_SIGN],
  ])('refuses %s without the acknowledgement, and sends no UpdateAlias', async (_, key) => {
    givenKeys(key, key)
    const report = await rotate()
    expect(report.outcome).toBe('refused')
    expect(failedChecks(report)).toEqual(['alias-verify-break'])
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
  })

  it.each([
    ['HMAC', HMAC],
    ['RSA SIGN_VERIFY', RSA_SIGN],
  ])('rotates %s with the acknowledgement, with a warning', async (_, key) => {
    givenKeys(key, key)
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    const report = await rotate({acknowledgeVerifyBreak: true})
    expect(report.outcome).toBe('rotated')
    expect(status(report, 'alias-verify-break')).toBe('warn')
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
  })
})

describe('rotateAlias when another writer moves the alias', () => {
  const ELSEWHERE = {Aliases: [aliasEntry(ALIAS, THIRD_KEY_ID)]}

  it('stops polling at the first read that shows a third key: overwritten, exit 4', async () => {
    // given an accepted update, two reads that still show the old key, then a third key
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolvesOnce(STALE).resolvesOnce(STALE).resolves(ELSEWHERE)
    // when the alias is rotated
    const report = await rotate()
    // then polling ends on that read, and the report names the key the alias was moved to
    expect(report.outcome).toBe('overwritten')
    expect(OUTCOMES[report.outcome].exitCode).toBe(4)
    expect(report.verification).toMatchObject({polls: 3, lastSeenTarget: THIRD_KEY_ID, error: null})
    expect(report.summary).toBe(
      `UpdateAlias was accepted for ${ALIAS} -> ${TARGET_KEY_ID}, but poll 3 showed ${ALIAS} on ${THIRD_KEY_ID}, ` +
        `neither the old key ${CURRENT_KEY_ID} nor the new one: someone else moved it, and that change was ` +
        'left in place; find out who before running the command again.',
    )
    expect(pollCalls()).toBe(3)
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
  })

  it('reports overwritten when the answer to UpdateAlias was lost and the alias shows a third key', async () => {
    givenKeys()
    kmsMock.on(UpdateAliasCommand).rejects(new UpdateAnswerLostError('The connection closed before UpdateAlias was answered.'))
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(ELSEWHERE)
    const report = await rotate()
    expect(report.outcome).toBe('overwritten')
    expect(report.summary).toContain('its answer was lost')
    expect(report.summary).toContain(`showed ${ALIAS} on ${THIRD_KEY_ID}`)
    expect(kmsMock).toHaveReceivedCommandTimes(UpdateAliasCommand, 1)
  })

  it('reports overwritten with --expected-current-key too: it guards only the moment before the write', async () => {
    givenKeys()
    givenUpdateAccepted()
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(ELSEWHERE)
    const report = await rotate({expectedCurrentKey: parseExpectedCurrentKey(CURRENT_KEY_ID)})
    expect(report.outcome).toBe('overwritten')
    expect(status(report, 'expected-current')).toBe('pass')
  })
})
