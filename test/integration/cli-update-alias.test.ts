/**
 * The built CLI run as a child process against moto: exit code, what it prints, and where
 * ListAliases says the alias points afterwards.
 */
import {describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {OUTCOMES} from '../../src/lib/outcomes.js'
import {linesOf, runCli} from '../support/cli.js'
import {useMoto} from '../support/moto-per-test.js'
import {parseJsonReport} from '../support/report-schema.js'
import {
  ABSENT_KEY_ID,
  aliasAndTarget,
  aliasesOn,
  ALIAS,
  ALIASES_PER_KEY,
  HMAC_256,
  REFUSAL_CASES,
  ROTATION_CASES,
  RSA_2048_SIGN,
  RSA_4096_SIGN,
  SYMMETRIC,
} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()

/** `update-alias` on ALIAS against moto, never prompting. */
function updateAlias(target: string, ...extra: string[]) {
  return runCli(['update-alias', '--alias-name', ALIAS, '--target-key-id', target, '--endpoint-url', motoUrl, '--yes', ...extra])
}

describe('update-alias moves the alias to a key of the same kind', () => {
  it.each(ROTATION_CASES)('$kind to $kind: exit 0, outcome rotated, ListAliases shows the new key', async (rotation) => {
    // given
    const {key, breaksVerification} = rotation
    const given = await aliasAndTarget(kms, key, key)

    // when
    const acknowledgement = breaksVerification ? ['--acknowledge-verify-break'] : []
    const run = await updateAlias(given.target, '--output', 'json', ...acknowledgement)

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.apiCalls.UpdateAlias).toBe(1)
    const verifyBreak = breaksVerification ? 'warn' : 'pass'
    expect(report.checks).toContainEqual(expect.objectContaining({id: 'alias-verify-break', status: verifyBreak}))
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('prints the human report on stdout and nothing on stderr when stdout is not a terminal', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target)

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe('')
    expect(run.stdout).toContain(ALIAS)
    expect(linesOf(run.stdout).at(-1)).toMatch(/^rotated\s/)
    // no colour codes off a terminal
    expect(run.stdout).not.toContain('\u001B[')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})

describe('update-alias refuses with exit 3 and leaves the alias where it was', () => {
  it.each(REFUSAL_CASES)('$behaviour fails $failingCheck: $outcome', async ({arrange, failingCheck, outcome}) => {
    // given
    const given = await arrange(kms)

    // when
    const run = await updateAlias(given.target, '--output', 'json')

    // then
    expect(run.exitCode).toBe(OUTCOMES[outcome].exitCode)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe(outcome)
    expect(report.checks).toContainEqual(expect.objectContaining({id: failingCheck, status: 'fail'}))
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(linesOf(run.stderr)).toEqual([report.summary])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('prints the refusal in the human report, with the failing check, and exits 3', async () => {
    // given
    const given = await aliasAndTarget(kms, RSA_2048_SIGN, RSA_4096_SIGN)

    // when
    const run = await updateAlias(given.target)

    // then
    expect(run.exitCode).toBe(3)
    expect(run.stdout).toMatch(/✗ key-spec-match/)
    expect(linesOf(run.stdout).at(-1)).toMatch(/^refused\s/)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('update-alias flags', () => {
  it('--allow-key-spec-change turns a KeySpec change into a warning and rotates', async () => {
    // given
    const given = await aliasAndTarget(kms, RSA_2048_SIGN, RSA_4096_SIGN)

    // when
    const flags = ['--allow-key-spec-change', '--acknowledge-verify-break']
    const run = await updateAlias(given.target, ...flags, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.checks).toContainEqual(expect.objectContaining({id: 'key-spec-match', status: 'warn'}))
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('--dry-run plans the move, exits 0 and leaves the alias on the old key', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target, '--dry-run', '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('planned')
    expect(report.dryRun).toBe(true)
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('an alias already on the target is unchanged: exit 0 and no UpdateAlias', async () => {
    // given
    const key = await kms.createKey(SYMMETRIC)
    await kms.createAlias(ALIAS, key.KeyId)

    // when
    const run = await updateAlias(key.KeyId, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('unchanged')
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(await kms.aliasTarget(ALIAS)).toBe(key.KeyId)
  })

  it('--wait-timeout 0 submits the update and does not poll ListAliases', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target, '--wait-timeout', '0', '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('submitted')
    // The one ListAliases is the preflight's count of the new key's aliases.
    expect(report.apiCalls).toEqual({DescribeKey: 2, GetKeyPolicy: 2, ListGrants: 2, ListAliases: 1, UpdateAlias: 1})
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})

describe('update-alias with an option given twice', () => {
  it('takes the last one, as the AWS CLI does, so a runbook can append an override', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when --output and --target-key-id are each given twice
    const run = await updateAlias(ABSENT_KEY_ID, '--output', 'text', '--target-key-id', given.target, '--output=json')

    // then the last of each counts
    expect(run.exitCode).toBe(0)
    expect(parseJsonReport(run.stdout).outcome).toBe('rotated')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})

describe('update-alias --output prints only the machine report on stdout', () => {
  it('json is one report that the schema accepts', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe('')
    const report = parseJsonReport(run.stdout)
    expect(report).toMatchObject({alias: ALIAS, outcome: 'rotated', to: {keyId: given.targetKeyId}})
  })

  it('yaml is one document holding the report', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target, '--output', 'yaml')

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe('')
    expect(parseYaml(run.stdout)).toMatchObject({alias: ALIAS, outcome: 'rotated', to: {keyId: given.targetKeyId}})
  })

  it('text is tab-separated lines, the first holding the outcome', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target, '--output', 'text')

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe('')
    const lines = linesOf(run.stdout)
    expect(lines.length).toBeGreaterThan(1)
    for (const line of lines) expect(line).toContain('\t')
    expect(lines[0].split('\t')).toContain('rotated')
    expect(run.stdout).toContain(`${given.targetKeyId}`)
  })

  it('table is nothing but table lines, one of them the outcome', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target, '--output', 'table')

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe('')
    const lines = linesOf(run.stdout)
    expect(lines.length).toBeGreaterThan(1)
    for (const line of lines) expect(line).toMatch(/^[+|]/)
    expect(lines).toContainEqual(expect.stringMatching(/^\|\s*outcome\s*\|\s*rotated\s*\|$/))
  })
})

describe('update-alias --expected-current-key', () => {
  it('rotates when the alias still points at the expected key id', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target, '--expected-current-key', given.currentKeyId as string, '--output', 'json')

    // then the alias was described twice (preflight and just before UpdateAlias) and moved
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.checks).toContainEqual({
      id: 'expected-current',
      status: 'pass',
      message: `${ALIAS} points at the expected key ${given.currentKeyId} (read again just before UpdateAlias)`,
    })
    expect(report.apiCalls).toMatchObject({DescribeKey: 3, UpdateAlias: 1})
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('rotates when the alias still points at the expected key ARN', async () => {
    // given
    const current = await kms.createKey(SYMMETRIC)
    const target = await kms.createKey(SYMMETRIC)
    await kms.createAlias(ALIAS, current.KeyId)

    // when
    const run = await updateAlias(target.KeyId, '--expected-current-key', current.Arn, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    expect(parseJsonReport(run.stdout).outcome).toBe('rotated')
    expect(await kms.aliasTarget(ALIAS)).toBe(target.KeyId)
  })

  it('refuses with exit 3, names both keys and sends no UpdateAlias when the alias is on another key', async () => {
    // given an alias that is not on the key the operator expects
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const expected = await kms.createKey(SYMMETRIC)

    // when
    const run = await updateAlias(given.target, '--expected-current-key', expected.KeyId, '--output', 'json')

    // then
    expect(run.exitCode).toBe(3)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('refused')
    expect(report.checks).toContainEqual({
      id: 'expected-current',
      status: 'fail',
      message: `${ALIAS} points at ${given.currentKeyId}, not at the expected key ${expected.KeyId}`,
    })
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(linesOf(run.stderr)).toEqual(['Refused: expected-current failed; nothing was changed.'])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('without the flag, reports expected-current as skipped: any current key is accepted', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target)

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(/^ {2}- expected-current {2,}no --expected-current-key was given, so any current key is accepted$/m)
  })
})

describe('update-alias counts the aliases already on the new key', () => {
  it(`refuses a new key with ${ALIASES_PER_KEY} other aliases, saying how many and what KMS allows`, async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    await aliasesOn(kms, given.targetKeyId, ALIASES_PER_KEY)

    // when
    const run = await updateAlias(given.target, '--output', 'json')

    // then
    expect(run.exitCode).toBe(3)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('refused')
    const quota = report.checks.find((check) => check.id === 'alias-quota')
    expect(quota?.status).toBe('fail')
    expect(quota?.message).toContain(`already has ${ALIASES_PER_KEY} other aliases and KMS allows 50 per key`)
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it(`rotates to a new key with ${ALIASES_PER_KEY - 1} other aliases`, async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    await aliasesOn(kms, given.targetKeyId, ALIASES_PER_KEY - 1)

    // when
    const run = await updateAlias(given.target, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.checks).toContainEqual({
      id: 'alias-quota',
      status: 'pass',
      message: `the new key has ${ALIASES_PER_KEY - 1} other aliases; KMS allows 50`,
    })
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('does not count the aliases of the current key', async () => {
    // given the quota of aliases on the key the alias leaves
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    await aliasesOn(kms, given.currentKeyId as string, ALIASES_PER_KEY)

    // when
    const run = await updateAlias(given.target, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})

describe('update-alias --acknowledge-verify-break', () => {
  it('prints why an HMAC alias is refused without it, and what to do', async () => {
    // given
    const given = await aliasAndTarget(kms, HMAC_256, HMAC_256)

    // when
    const run = await updateAlias(given.target)

    // then
    expect(run.exitCode).toBe(3)
    expect(run.stdout).toMatch(/✗ alias-verify-break +MACs made with the old key will no longer verify through the alias/)
    expect(run.stdout).toContain('then pass --acknowledge-verify-break')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('turns the refusal of an RSA SIGN_VERIFY alias into a warning and rotates', async () => {
    // given
    const given = await aliasAndTarget(kms, RSA_2048_SIGN, RSA_2048_SIGN)

    // when
    const run = await updateAlias(given.target, '--acknowledge-verify-break')

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(/! alias-verify-break +signatures made with the old key will no longer verify/)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})
