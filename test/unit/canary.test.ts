import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  ListAliasesCommand,
  SignCommand,
  UpdateAliasCommand,
  VerifyCommand,
  VerifyMacCommand,
  type DecryptCommandInput,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {parseTargetKeyId} from '../../src/lib/identifiers.js'
import {OUTCOMES} from '../../src/lib/outcomes.js'
import type {RotationReport} from '../../src/lib/report.js'
import {rotateAlias, type RotationRequest} from '../../src/lib/rotate.js'
import {
  ALIAS,
  aliasEntry,
  aliasesOnKey,
  CURRENT_KEY_ID,
  describeKeys,
  keyArn,
  keyMetadata,
  kmsMock,
  newGateway,
  REGION,
  serviceException,
  TARGET_KEY_ID,
  THIRD_KEY_ID,
  UNFILTERED,
} from '../support/kms-mock.js'

const STALE = {Aliases: [aliasEntry(ALIAS, CURRENT_KEY_ID)]}
const MOVED = {Aliases: [aliasEntry(ALIAS, TARGET_KEY_ID)]}
const CRYPTO_COMMANDS = new Set(['EncryptCommand', 'DecryptCommand', 'SignCommand', 'VerifyCommand', 'GenerateMacCommand', 'VerifyMacCommand'])

/** The cryptographic commands the client sent, by class name. */
function cryptoCalls(): string[] {
  return kmsMock.calls().map((call) => call.args[0].constructor.name).filter((name) => CRYPTO_COMMANDS.has(name))
}

/** Both keys of the same kind; ListAliases shows the move at once, and again after any rollback. */
function givenKeys(traits: Partial<KeyMetadata> = {}): void {
  describeKeys({[ALIAS]: keyMetadata(CURRENT_KEY_ID, traits), [TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID, traits)})
  kmsMock.on(UpdateAliasCommand).resolves({})
  kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
}

/** Encrypt answered by `keyIds` in turn (the last one thereafter); Decrypt gives the plaintext back. */
function givenEncryptAnsweredBy(...keyIds: string[]): void {
  let plaintext: Uint8Array | undefined
  let call = 0
  kmsMock.on(EncryptCommand).callsFake((input: {Plaintext: Uint8Array}) => {
    plaintext = input.Plaintext
    const keyId = keyIds[Math.min(call++, keyIds.length - 1)]
    return {KeyId: keyArn(keyId), CiphertextBlob: new Uint8Array([1, 2, 3]), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT'}
  })
  kmsMock.on(DecryptCommand).callsFake((_input: DecryptCommandInput) => ({
    KeyId: keyArn(TARGET_KEY_ID),
    Plaintext: plaintext,
  }))
}

/** After UpdateAlias back, DescribeKey and ListAliases show the alias on the old key. */
function givenRollbackLands(): void {
  kmsMock
    .on(DescribeKeyCommand, {KeyId: ALIAS})
    .resolvesOnce({KeyMetadata: keyMetadata(CURRENT_KEY_ID)})
    .resolves({KeyMetadata: keyMetadata(TARGET_KEY_ID)})
  kmsMock.on(ListAliasesCommand, UNFILTERED).resolvesOnce(MOVED).resolves(STALE)
}

async function rotate(overrides: Partial<RotationRequest> = {}): Promise<RotationReport> {
  aliasesOnKey(TARGET_KEY_ID)
  const running = rotateAlias(newGateway(), {
    aliasName: ALIAS,
    target: parseTargetKeyId(TARGET_KEY_ID),
    region: REGION,
    dryRun: false,
    allowKeySpecChange: false,
    acknowledgeVerifyBreak: true,
    waitTimeoutSeconds: 120,
    canary: true,
    ...overrides,
  })
  running.catch(() => {})
  await vi.runAllTimersAsync()
  return running
}

function updatesSent(): string[] {
  return kmsMock.commandCalls(UpdateAliasCommand).map((call) => call.args[0].input.TargetKeyId as string)
}

beforeEach(() => {
  kmsMock.reset()
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('the canary, per kind of key', () => {
  it('encrypts and decrypts a symmetric key through the alias, and passes when the new key answers', async () => {
    // given symmetric keys, and Encrypt answered by the new key
    givenKeys()
    givenEncryptAnsweredBy(TARGET_KEY_ID)
    // when the alias is rotated
    const report = await rotate()
    // then both calls name the alias, the plaintext round-trips, and the run is rotated
    expect(report.outcome).toBe('rotated')
    expect(kmsMock).toHaveReceivedCommandWith(EncryptCommand, {KeyId: ALIAS})
    expect(kmsMock).toHaveReceivedCommandWith(DecryptCommand, {KeyId: ALIAS})
    expect(report.canary).toMatchObject({status: 'passed', operations: ['Encrypt', 'Decrypt'], attempts: 1})
    expect(report.canary?.answeredBy).toBe(keyArn(TARGET_KEY_ID))
    expect(report.summary).toContain(`Canary: Encrypt and Decrypt through ${ALIAS} answered by ${keyArn(TARGET_KEY_ID)}`)
    expect(report.rollback).toBeNull()
    expect(updatesSent()).toEqual([TARGET_KEY_ID])
  })

  it('fails when Decrypt gives back other bytes than Encrypt was given, and rolls back', async () => {
    // given a Decrypt that answers with other plaintext
    givenKeys()
    givenRollbackLands()
    kmsMock.on(EncryptCommand).resolves({KeyId: keyArn(TARGET_KEY_ID), CiphertextBlob: new Uint8Array([1])})
    kmsMock.on(DecryptCommand).resolves({KeyId: keyArn(TARGET_KEY_ID), Plaintext: new Uint8Array([9, 9])})
    // when the alias is rotated
    const report = await rotate()
    // then the canary fails and the alias goes back
    expect(report.canary).toMatchObject({status: 'failed'})
    expect(report.canary?.message).toContain('Decrypt did not give back the plaintext')
    expect(report.outcome).toBe('rolled-back')
  })

  it('signs and verifies with an algorithm the key lists, through the alias', async () => {
    // given RSA signing keys that list PKCS1 only
    const traits = {KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256']} as const
    givenKeys({...traits, SigningAlgorithms: [...traits.SigningAlgorithms]})
    kmsMock.on(SignCommand).resolves({KeyId: keyArn(TARGET_KEY_ID), Signature: new Uint8Array([7])})
    kmsMock.on(VerifyCommand).resolves({KeyId: keyArn(TARGET_KEY_ID), SignatureValid: true})
    // when the alias is rotated
    const report = await rotate()
    // then Sign and Verify went through the alias with that algorithm, and no Encrypt was made
    expect(report.outcome).toBe('rotated')
    expect(kmsMock).toHaveReceivedCommandWith(SignCommand, {KeyId: ALIAS, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256'})
    expect(kmsMock).toHaveReceivedCommandWith(VerifyCommand, {KeyId: ALIAS, Signature: new Uint8Array([7])})
    expect(kmsMock).not.toHaveReceivedCommand(EncryptCommand)
    expect(report.canary).toMatchObject({status: 'passed', operations: ['Sign', 'Verify']})
  })

  it('generates and verifies a MAC with the key\'s MacAlgorithm, through the alias', async () => {
    // given HMAC_384 keys
    givenKeys({KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC', MacAlgorithms: ['HMAC_SHA_384']})
    kmsMock.on(GenerateMacCommand).resolves({KeyId: keyArn(TARGET_KEY_ID), Mac: new Uint8Array([5])})
    kmsMock.on(VerifyMacCommand).resolves({KeyId: keyArn(TARGET_KEY_ID), MacValid: true})
    // when the alias is rotated
    const report = await rotate()
    // then both MAC calls used HMAC_SHA_384 through the alias
    expect(report.outcome).toBe('rotated')
    expect(kmsMock).toHaveReceivedCommandWith(GenerateMacCommand, {KeyId: ALIAS, MacAlgorithm: 'HMAC_SHA_384'})
    expect(kmsMock).toHaveReceivedCommandWith(VerifyMacCommand, {KeyId: ALIAS, MacAlgorithm: 'HMAC_SHA_384'})
    expect(report.canary).toMatchObject({status: 'passed', operations: ['GenerateMac', 'VerifyMac']})
  })

  it('only encrypts for an asymmetric encryption key, with RSAES_OAEP_SHA_256', async () => {
    // given RSA encryption keys
    givenKeys({
      KeySpec: 'RSA_2048',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
    })
    kmsMock.on(EncryptCommand).resolves({KeyId: keyArn(TARGET_KEY_ID), CiphertextBlob: new Uint8Array([1])})
    // when the alias is rotated
    const report = await rotate()
    // then one Encrypt names the algorithm, and nothing is decrypted
    expect(report.outcome).toBe('rotated')
    expect(kmsMock).toHaveReceivedCommandWith(EncryptCommand, {KeyId: ALIAS, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256'})
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand)
    expect(report.canary).toMatchObject({status: 'passed', operations: ['Encrypt']})
  })

  it('tells the kind of key from its algorithms when DescribeKey leaves KeyUsage out, as moto does', async () => {
    // given symmetric keys described without KeyUsage
    givenKeys({KeyUsage: undefined, EncryptionAlgorithms: ['SYMMETRIC_DEFAULT']})
    givenEncryptAnsweredBy(TARGET_KEY_ID)
    // when the alias is rotated
    const report = await rotate()
    // then the symmetric round trip ran
    expect(report.canary).toMatchObject({status: 'passed', operations: ['Encrypt', 'Decrypt']})
  })

  it('skips key agreement keys with the reason, and stays rotated', async () => {
    // given ECC key agreement keys
    givenKeys({KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT'})
    // when the alias is rotated
    const report = await rotate()
    // then no cryptographic call is made, and the summary warns
    expect(report.outcome).toBe('rotated')
    expect(cryptoCalls()).toEqual([])
    expect(report.canary).toMatchObject({status: 'skipped', attempts: 0})
    expect(report.canary?.message).toContain('DeriveSharedSecret needs a peer public key')
    expect(report.summary).toContain('Warning: the canary was skipped')
  })
})

describe('the canary and eventual consistency', () => {
  it('tries again while the old key answers, and passes once the new key does', async () => {
    // given Encrypt answered twice by the old key, then by the new one
    givenKeys()
    givenEncryptAnsweredBy(CURRENT_KEY_ID, CURRENT_KEY_ID, TARGET_KEY_ID)
    // when the alias is rotated
    const report = await rotate()
    // then the third round trip passes, and the alias is not moved back
    expect(report.outcome).toBe('rotated')
    expect(report.canary).toMatchObject({status: 'passed', attempts: 3, answeredBy: keyArn(TARGET_KEY_ID)})
    expect(kmsMock.commandCalls(EncryptCommand)).toHaveLength(3)
    expect(updatesSent()).toEqual([TARGET_KEY_ID])
  })

  it('fails after five round trips answered by the old key, and moves the alias back', async () => {
    // given Encrypt always answered by the old key
    givenKeys()
    givenRollbackLands()
    givenEncryptAnsweredBy(CURRENT_KEY_ID)
    // when the alias is rotated
    const report = await rotate()
    // then five tries, then a rollback to the old key
    expect(kmsMock.commandCalls(EncryptCommand)).toHaveLength(5)
    expect(report.canary?.message).toContain(`still answered by the old key ${keyArn(CURRENT_KEY_ID)}`)
    expect(report.outcome).toBe('rolled-back')
  })

  it('tries again when Decrypt through the alias still reaches the old key (IncorrectKeyException)', async () => {
    // given a Decrypt that first answers IncorrectKeyException, then gives the plaintext back
    givenKeys()
    let plaintext: Uint8Array | undefined
    kmsMock.on(EncryptCommand).callsFake((input: {Plaintext: Uint8Array}) => {
      plaintext = input.Plaintext
      return {KeyId: keyArn(TARGET_KEY_ID), CiphertextBlob: new Uint8Array([1])}
    })
    let decrypts = 0
    kmsMock.on(DecryptCommand).callsFake(() => {
      if (decrypts++ === 0) {
        throw serviceException('IncorrectKeyException', 'The key ID in the request does not identify the key.')
      }

      return {KeyId: keyArn(TARGET_KEY_ID), Plaintext: plaintext}
    })
    // when the alias is rotated
    const report = await rotate()
    // then the second round trip passes, with no rollback
    expect(report.outcome).toBe('rotated')
    expect(report.canary).toMatchObject({status: 'passed', attempts: 2})
    expect(updatesSent()).toEqual([TARGET_KEY_ID])
  })

  it('does not retry an error answer', async () => {
    // given an Encrypt that KMS refuses
    givenKeys()
    givenRollbackLands()
    kmsMock.on(EncryptCommand).rejects(serviceException('KMSInvalidStateException', 'The key is pending import.'))
    // when the alias is rotated
    const report = await rotate()
    // then one try, and the rollback
    expect(kmsMock.commandCalls(EncryptCommand)).toHaveLength(1)
    expect(report.canary).toMatchObject({status: 'failed', attempts: 1})
    expect(report.canary?.message).toContain('KMSInvalidStateException')
    expect(report.outcome).toBe('rolled-back')
  })
})

describe('rollback after a failed canary', () => {
  it('moves the alias back to the old key after reading it on the new key, then sees it there', async () => {
    // given a canary that fails, and an alias still on the new key
    givenKeys()
    givenRollbackLands()
    kmsMock.on(EncryptCommand).rejects(serviceException('DisabledException', 'The key is disabled.'))
    // when the alias is rotated
    const report = await rotate()
    // then UpdateAlias went forward, then back to the old key's ARN, after a DescribeKey of the alias
    expect(report.outcome).toBe('rolled-back')
    expect(OUTCOMES[report.outcome].exitCode).toBe(5)
    expect(updatesSent()).toEqual([TARGET_KEY_ID, keyArn(CURRENT_KEY_ID)])
    expect(kmsMock.commandCalls(DescribeKeyCommand, {KeyId: ALIAS})).toHaveLength(2)
    expect(report.rollback).toEqual({sent: true, seen: true, aliasTarget: CURRENT_KEY_ID, error: null})
    expect(report.summary).toMatch(/^Canary failed: Encrypt and Decrypt through alias\/app failed: .*DisabledException/)
    expect(report.summary).toContain(`${ALIAS} was moved back to ${CURRENT_KEY_ID}`)
  })

  it('leaves the alias alone when someone moved it after the update, and says where it points', async () => {
    // given a failing canary, and a read of the alias that shows a third key
    givenKeys()
    kmsMock.on(EncryptCommand).rejects(serviceException('DisabledException', 'The key is disabled.'))
    kmsMock
      .on(DescribeKeyCommand, {KeyId: ALIAS})
      .resolvesOnce({KeyMetadata: keyMetadata(CURRENT_KEY_ID)})
      .resolves({KeyMetadata: keyMetadata(THIRD_KEY_ID)})
    // when the alias is rotated
    const report = await rotate()
    // then no second UpdateAlias, rollback-failed with exit 7, and the third key named
    expect(updatesSent()).toEqual([TARGET_KEY_ID])
    expect(report.outcome).toBe('rollback-failed')
    expect(OUTCOMES[report.outcome].exitCode).toBe(7)
    expect(report.rollback).toMatchObject({sent: false, seen: false, aliasTarget: THIRD_KEY_ID})
    expect(report.summary).toContain(`at the last read it pointed at ${THIRD_KEY_ID}`)
  })

  it('says where the alias points when UpdateAlias back is refused', async () => {
    // given a failing canary, an alias still on the new key, and an UpdateAlias back that is refused
    givenKeys()
    givenRollbackLands()
    kmsMock.on(EncryptCommand).rejects(serviceException('DisabledException', 'The key is disabled.'))
    kmsMock
      .on(UpdateAliasCommand)
      .resolvesOnce({})
      .rejects(serviceException('AccessDeniedException', 'not allowed to UpdateAlias'))
    // when the alias is rotated
    const report = await rotate()
    // then rollback-failed, with the alias on the new key
    expect(report.outcome).toBe('rollback-failed')
    expect(report.rollback).toMatchObject({sent: true, seen: false, aliasTarget: TARGET_KEY_ID})
    expect(report.rollback?.error).toContain('AccessDeniedException')
    expect(report.summary).toContain(`at the last read it pointed at ${TARGET_KEY_ID}`)
  })
})

describe('when there is no canary to judge', () => {
  it('treats AccessDeniedException as a skipped canary: rotated, with a warning, no rollback', async () => {
    // given a caller that may move the alias but not encrypt
    givenKeys()
    kmsMock.on(EncryptCommand).rejects(serviceException('AccessDeniedException', 'not authorized to kms:Encrypt'))
    // when the alias is rotated
    const report = await rotate()
    // then rotated, the canary skipped with KMS's reason, and UpdateAlias sent only once
    expect(report.outcome).toBe('rotated')
    expect(report.canary).toMatchObject({status: 'skipped', attempts: 1})
    expect(report.canary?.message).toContain('AccessDeniedException on Encrypt: not authorized to kms:Encrypt')
    expect(report.summary).toContain('Warning: the canary was skipped: AccessDeniedException')
    expect(report.rollback).toBeNull()
    expect(updatesSent()).toEqual([TARGET_KEY_ID])
  })

  it.each([
    ['planned', {dryRun: true}],
    ['submitted', {waitTimeoutSeconds: 0}],
    ['rotated', {canary: false}],
  ] as const)('makes no cryptographic call when the outcome is %s (%o)', async (outcome, overrides) => {
    // given matching keys
    givenKeys()
    givenEncryptAnsweredBy(TARGET_KEY_ID)
    // when the alias is rotated with these options
    const report = await rotate(overrides)
    // then no canary ran
    expect(report.outcome).toBe(outcome)
    expect(report.canary).toBeNull()
    expect(cryptoCalls()).toEqual([])
  })

  it('makes no cryptographic call when the alias is not seen on the new key', async () => {
    // given a ListAliases that keeps showing the old key until the deadline
    givenKeys()
    givenEncryptAnsweredBy(TARGET_KEY_ID)
    kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(STALE)
    // when the alias is rotated with a short deadline
    const report = await rotate({waitTimeoutSeconds: 2})
    // then unconfirmed, and no canary
    expect(report.outcome).toBe('unconfirmed')
    expect(report.canary).toBeNull()
    expect(kmsMock).not.toHaveReceivedCommand(EncryptCommand)
  })
})
