/**
 * Who loses access when the alias moves: the built CLI against moto, with key policies and grants
 * set up through moto's PutKeyPolicy and CreateGrant, and the alias read back afterwards.
 */
import {describe, expect, it} from 'vitest'

import {linesOf, runCli} from '../support/cli.js'
import {MOTO_ACCOUNT} from '../support/kms-fault-proxy.js'
import {useMoto} from '../support/moto-per-test.js'
import {parseJsonReport} from '../support/report-schema.js'
import {ALIAS, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()

const ROLE = `arn:aws:iam::${MOTO_ACCOUNT}:role/app`
const ROOT = `arn:aws:iam::${MOTO_ACCOUNT}:root`

/** The key policy KMS gives a new key, with more statements after it. */
function defaultPolicyAnd(...statements: object[]): object {
  const enableIam = {Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: {AWS: ROOT}, Action: 'kms:*', Resource: '*'}
  return {Version: '2012-10-17', Statement: [enableIam, ...statements]}
}

/** ALIAS on a new symmetric key, and a second one to move it to. */
async function twoKeys(): Promise<{currentKeyId: string; targetKeyId: string}> {
  const current = await kms.createKey(SYMMETRIC)
  const target = await kms.createKey(SYMMETRIC)
  await kms.createAlias(ALIAS, current.KeyId)
  return {currentKeyId: current.KeyId, targetKeyId: target.KeyId}
}

function updateAlias(target: string, ...extra: string[]) {
  return runCli(['update-alias', '--alias-name', ALIAS, '--target-key-id', target, '--endpoint-url', motoUrl, '--yes', ...extra])
}

describe('access-parity against moto', () => {
  it('refuses with exit 3 and no UpdateAlias when a role granted Decrypt on the current key has no grant on the new one', async () => {
    // given a grant of Decrypt to a role on the current key only
    const given = await twoKeys()
    await kms.createGrant(given.currentKeyId, ROLE, ['Decrypt', 'DescribeKey'])

    // when
    const run = await updateAlias(given.targetKeyId, '--output', 'json')

    // then the run is refused by access-parity, names the role, and the alias stays
    expect(run.exitCode).toBe(3)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('refused')
    expect(report.checks).toContainEqual({
      id: 'access-parity',
      status: 'fail',
      message:
        `1 principal loses access: ${ROLE} loses Decrypt; IAM policies of account ${MOTO_ACCOUNT} are not ` +
        'evaluated; pass --allow-access-loss if this is intended',
    })
    expect(report.accessChanges).toEqual([{principal: ROLE, operations: ['Decrypt'], conditional: false, source: 'grant'}])
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(linesOf(run.stderr)).toEqual(['Refused: access-parity failed; nothing was changed.'])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('--allow-access-loss rotates, with access-parity as a warning', async () => {
    // given
    const given = await twoKeys()
    await kms.createGrant(given.currentKeyId, ROLE, ['Decrypt'])

    // when
    const run = await updateAlias(given.targetKeyId, '--allow-access-loss', '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.checks).toContainEqual(expect.objectContaining({id: 'access-parity', status: 'warn'}))
    expect(report.accessChanges).toEqual([{principal: ROLE, operations: ['Decrypt'], conditional: false, source: 'grant'}])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('passes both access checks for two keys with the default key policy, after reading each key\'s policy and grants', async () => {
    // given
    const given = await twoKeys()

    // when
    const run = await updateAlias(given.targetKeyId, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.checks).toContainEqual({
      id: 'access-parity',
      status: 'pass',
      message: `no principal loses access; IAM policies of account ${MOTO_ACCOUNT} are not evaluated`,
    })
    expect(report.checks).toContainEqual(expect.objectContaining({id: 'alias-abac', status: 'pass'}))
    expect(report.accessChanges).toEqual([])
    expect(report.apiCalls).toMatchObject({GetKeyPolicy: 2, ListGrants: 2})
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('rotates when the new key has the same grant and the same policy statement', async () => {
    // given a role with a grant and a policy statement on each key
    const given = await twoKeys()
    const statement = {Effect: 'Allow', Principal: {AWS: ROLE}, Action: 'kms:GenerateDataKey*', Resource: '*'}
    for (const keyId of [given.currentKeyId, given.targetKeyId]) {
      await kms.createGrant(keyId, ROLE, ['Decrypt'], {retiringPrincipal: ROOT})
      await kms.putKeyPolicy(keyId, defaultPolicyAnd(statement))
    }

    // when
    const run = await updateAlias(given.targetKeyId, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.checks).toContainEqual(expect.objectContaining({id: 'access-parity', status: 'pass'}))
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('refuses when the new key policy denies what the current key allows, and says so in the human report', async () => {
    // given a role allowed Encrypt and Decrypt on both keys, and denied Decrypt on the new one
    const given = await twoKeys()
    const allowed = {Effect: 'Allow', Principal: {AWS: ROLE}, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*'}
    const denied = {Effect: 'Deny', Principal: {AWS: ROLE}, Action: 'kms:Decrypt', Resource: '*'}
    await kms.putKeyPolicy(given.currentKeyId, defaultPolicyAnd(allowed))
    await kms.putKeyPolicy(given.targetKeyId, defaultPolicyAnd(allowed, denied))

    // when
    const run = await updateAlias(given.targetKeyId)

    // then
    expect(run.exitCode).toBe(3)
    expect(run.stdout).toMatch(new RegExp(`✗ access-parity +1 principal loses access: ${ROLE} loses Decrypt;`))
    expect(linesOf(run.stdout).at(-1)).toMatch(/^refused\s/)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('reports a role allowed outright on the current key and only under a condition on the new one as conditional', async () => {
    // given
    const given = await twoKeys()
    const allowed = {Effect: 'Allow', Principal: {AWS: ROLE}, Action: 'kms:Decrypt', Resource: '*'}
    const viaS3 = {StringEquals: {'kms:ViaService': `s3.us-east-1.amazonaws.com`}}
    await kms.putKeyPolicy(given.currentKeyId, defaultPolicyAnd(allowed))
    await kms.putKeyPolicy(given.targetKeyId, defaultPolicyAnd({...allowed, Condition: viaS3}))

    // when
    const run = await updateAlias(given.targetKeyId, '--dry-run', '--output', 'json')

    // then
    expect(run.exitCode).toBe(3)
    const report = parseJsonReport(run.stdout)
    expect(report.accessChanges).toEqual([{principal: ROLE, operations: ['Decrypt'], conditional: true, source: 'policy'}])
    expect(report.checks.find((check) => check.id === 'access-parity')?.message).toContain(
      `${ROLE} may lose Decrypt (conditional)`,
    )
  })
})

describe('alias-abac against moto', () => {
  it('warns, and still rotates, when the current key policy conditions on kms:ResourceAliases', async () => {
    // given
    const given = await twoKeys()
    await kms.putKeyPolicy(
      given.currentKeyId,
      defaultPolicyAnd({
        Effect: 'Allow',
        Principal: {AWS: ROOT},
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: {'ForAnyValue:StringEquals': {'kms:ResourceAliases': ALIAS}},
      }),
    )

    // when
    const run = await updateAlias(given.targetKeyId, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.checks).toContainEqual({
      id: 'alias-abac',
      status: 'warn',
      message: "the current key's policy (kms:ResourceAliases) bases access on aliases: moving the alias moves that access",
    })
    expect(report.outcome).toBe('rotated')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})
