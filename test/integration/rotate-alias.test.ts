/**
 * rotateAlias with a real KMS client against moto: the report it returns, the calls it made,
 * and where ListAliases says the alias points afterwards.
 */
import {beforeAll, describe, expect, it} from 'vitest'

import {resolveAwsSettings, type AwsSettings} from '../../src/lib/aws-config.js'
import {parseTargetKeyId} from '../../src/lib/identifiers.js'
import {createKmsClient, endpointOf, KmsGateway} from '../../src/lib/kms.js'
import {rotateAlias, type RotationRequest} from '../../src/lib/rotate.js'
import {FAKE_CREDENTIALS, TEST_REGION} from '../support/moto.js'
import {useMoto} from '../support/moto-per-test.js'
import {
  aliasAndTarget,
  ALIAS,
  REFUSAL_CASES,
  ROTATION_CASES,
  RSA_2048_SIGN,
  RSA_4096_SIGN,
  SYMMETRIC,
} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
let settings: AwsSettings

beforeAll(async () => {
  // The client under test finds its credentials the way the CLI does: in the environment.
  process.env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey
  settings = await resolveAwsSettings({region: TEST_REGION, endpointUrl: motoUrl})
})

/** One rotation through the library, with a fresh client so that apiCalls counts this run only. */
async function rotate(target: string, options: Partial<Omit<RotationRequest, 'target'>> = {}) {
  const client = createKmsClient(settings)
  try {
    return await rotateAlias(new KmsGateway(client, {endpoint: endpointOf(settings)}), {
      aliasName: ALIAS,
      target: parseTargetKeyId(target),
      region: TEST_REGION,
      dryRun: false,
      allowKeySpecChange: false,
      waitTimeoutSeconds: 30,
      ...options,
    })
  } finally {
    client.destroy()
  }
}

describe('rotateAlias moves the alias to a key of the same kind', () => {
  it.each(ROTATION_CASES)('$kind to $kind: rotated, and ListAliases shows the new key', async (rotation) => {
    // given
    const {key, breaksVerification} = rotation
    const given = await aliasAndTarget(kms, key, key)

    // when
    const report = await rotate(given.target, {acknowledgeVerifyBreak: breaksVerification})

    // then
    expect(report.outcome).toBe('rotated')
    expect(report.updateSent).toBe(true)
    expect(report.apiCalls.UpdateAlias).toBe(1)
    expect(report.verification).toMatchObject({error: null})
    expect(report.from.keyId).toBe(given.currentKeyId)
    expect(report.to.keyId).toBe(given.targetKeyId)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('accepts a target given as its full ARN in the same account and Region', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const report = await rotate(given.targetArn)

    // then
    expect(report.outcome).toBe('rotated')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})

describe('rotateAlias refuses, sends no UpdateAlias and leaves the alias where it was', () => {
  it.each(REFUSAL_CASES)('$behaviour fails $failingCheck: $outcome', async ({arrange, failingCheck, outcome}) => {
    // given
    const given = await arrange(kms)

    // when
    const report = await rotate(given.target)

    // then
    expect(report.outcome).toBe(outcome)
    expect(report.checks).toContainEqual(expect.objectContaining({id: failingCheck, status: 'fail'}))
    expect(report.updateSent).toBe(false)
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('rotateAlias options', () => {
  it('allowKeySpecChange turns a KeySpec change into a warning and rotates', async () => {
    // given
    const given = await aliasAndTarget(kms, RSA_2048_SIGN, RSA_4096_SIGN)

    // when
    const report = await rotate(given.target, {allowKeySpecChange: true, acknowledgeVerifyBreak: true})

    // then
    expect(report.outcome).toBe('rotated')
    expect(report.checks).toContainEqual(expect.objectContaining({id: 'key-spec-match', status: 'warn'}))
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('a dry run plans the move and leaves the alias on the old key', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const report = await rotate(given.target, {dryRun: true})

    // then
    expect(report.outcome).toBe('planned')
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('an alias already on the target is unchanged and gets no UpdateAlias', async () => {
    // given
    const key = await kms.createKey(SYMMETRIC)
    await kms.createAlias(ALIAS, key.KeyId)

    // when
    const report = await rotate(key.KeyId)

    // then
    expect(report.outcome).toBe('unchanged')
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(await kms.aliasTarget(ALIAS)).toBe(key.KeyId)
  })

  it('a wait timeout of 0 submits the update without polling ListAliases', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const report = await rotate(given.target, {waitTimeoutSeconds: 0})

    // then
    expect(report.outcome).toBe('submitted')
    expect(report.apiCalls.UpdateAlias).toBe(1)
    // Only the preflight's count of the new key's aliases; no poll.
    expect(report.apiCalls.ListAliases).toBe(1)
    expect(report.verification).toBeNull()
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})
