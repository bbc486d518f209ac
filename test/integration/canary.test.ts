/**
 * The canary through the built CLI, against moto behind the fault proxy: one real round trip
 * through the alias per kind of key, a forced failure that moves the alias back, and --no-canary.
 */
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {OUTCOMES} from '../../src/lib/outcomes.js'
import type {RotationReport} from '../../src/lib/report.js'
import {linesOf, runCli} from '../support/cli.js'
import {startKmsFaultProxy, type KmsFaultProxy} from '../support/kms-fault-proxy.js'
import type {KeyOptions} from '../support/moto.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, HMAC_256, RSA_2048_SIGN, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
let proxy: KmsFaultProxy

beforeAll(async () => {
  proxy = await startKmsFaultProxy(motoUrl)
})

beforeEach(() => {
  proxy.reset()
})

afterAll(async () => {
  await proxy.close()
})

const CRYPTO_OPERATIONS = ['Encrypt', 'Decrypt', 'Sign', 'Verify', 'GenerateMac', 'VerifyMac']

async function rotate(key: KeyOptions, ...more: string[]) {
  const given = await aliasAndTarget(kms, key, key)
  const args = ['update-alias', '--alias-name', ALIAS, '--target-key-id', given.target, '--yes', '--output', 'json']
  const run = await runCli([...args, '--endpoint-url', proxy.url, '--acknowledge-verify-break', ...more])
  const report = run.stdout === '' ? undefined : (JSON.parse(run.stdout) as RotationReport)
  return {given, run, report}
}

describe('the canary against moto', () => {
  it.each([
    ['symmetric', SYMMETRIC, ['Encrypt', 'Decrypt']],
    ['RSA_2048 SIGN_VERIFY', RSA_2048_SIGN, ['Sign', 'Verify']],
    ['HMAC_256', HMAC_256, ['GenerateMac', 'VerifyMac']],
  ] as const)('passes for a %s key: its calls go through the alias and the new key answers', async (_, key, ops) => {
    // given an alias on a key of this kind and a second key of the same kind
    // when the alias is rotated
    const {given, run, report} = await rotate(key)
    // then rotated, exit 0, each canary call named the alias, and the new key answered
    expect(run.exitCode).toBe(0)
    expect(report?.outcome).toBe('rotated')
    expect(report?.canary).toMatchObject({status: 'passed', operations: [...ops], attempts: 1})
    expect(report?.canary?.answeredBy).toContain(given.targetKeyId)
    for (const operation of ops) {
      expect(proxy.callsTo(operation).map((call) => call.input.KeyId)).toEqual([ALIAS])
    }

    expect(report?.summary).toContain('Canary: ')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('moves the alias back when every Encrypt fails: rolled-back, exit 5, the old key in moto', async () => {
    // given a KMS that answers every Encrypt with a server error
    proxy.failNext('Encrypt', 100, 'KMSInternalException')
    // when the alias is rotated
    const {given, run, report} = await rotate(SYMMETRIC)
    // then exit 5, UpdateAlias forward and back, and moto has the alias on the old key again
    expect(run.exitCode).toBe(OUTCOMES['rolled-back'].exitCode)
    expect(run.exitCode).toBe(5)
    expect(report?.outcome).toBe('rolled-back')
    expect(report?.canary?.status).toBe('failed')
    expect(report?.canary?.message).toContain('KMSInternalException')
    expect(report?.rollback).toEqual({sent: true, seen: true, aliasTarget: given.currentKeyId, error: null})
    const updates = proxy.callsTo('UpdateAlias').map((call) => call.input.TargetKeyId as string)
    expect(updates).toHaveLength(2)
    expect(updates[0]).toBe(given.target)
    expect(updates[1]).toContain(given.currentKeyId)
    expect(proxy.callsTo('Decrypt')).toEqual([])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
    expect(linesOf(run.stderr)).toEqual([report?.summary])
  })

  it('makes no cryptographic call with --no-canary', async () => {
    // given matching symmetric keys
    // when the alias is rotated with --no-canary
    const {given, run, report} = await rotate(SYMMETRIC, '--no-canary')
    // then rotated, no canary in the report, and not one cryptographic call reached the proxy
    expect(run.exitCode).toBe(0)
    expect(report).toMatchObject({outcome: 'rotated', canary: null, rollback: null})
    for (const operation of CRYPTO_OPERATIONS) expect(proxy.callsTo(operation)).toEqual([])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('makes no cryptographic call on a dry run', async () => {
    // given matching symmetric keys
    // when the rotation is only planned
    const {given, run, report} = await rotate(SYMMETRIC, '--dry-run')
    // then planned, no canary, and the alias is where it was
    expect(run.exitCode).toBe(0)
    expect(report).toMatchObject({outcome: 'planned', canary: null})
    for (const operation of CRYPTO_OPERATIONS) expect(proxy.callsTo(operation)).toEqual([])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})
