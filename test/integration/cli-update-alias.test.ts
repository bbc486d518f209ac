/**
 * The built CLI run as a child process against moto: exit code, what it prints, and where
 * ListAliases says the alias points afterwards.
 */
import {describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {linesOf, runCli} from '../support/cli.js'
import {useMoto} from '../support/moto-per-test.js'
import {parseJsonReport} from '../support/report-schema.js'
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

/** `update-alias` on ALIAS against moto, never prompting. */
function updateAlias(target: string, ...extra: string[]) {
  return runCli(['update-alias', '--alias-name', ALIAS, '--target-key-id', target, '--endpoint-url', motoUrl, '--yes', ...extra])
}

describe('update-alias moves the alias to a key of the same kind', () => {
  it.each(ROTATION_CASES)('$kind to $kind: exit 0, outcome rotated, ListAliases shows the new key', async ({key}) => {
    // given
    const given = await aliasAndTarget(kms, key, key)

    // when
    const run = await updateAlias(given.target, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.apiCalls.UpdateAlias).toBe(1)
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
  it.each(REFUSAL_CASES)('$behaviour fails $failingCheck', async ({arrange, failingCheck}) => {
    // given
    const given = await arrange(kms)

    // when
    const run = await updateAlias(given.target, '--output', 'json')

    // then
    expect(run.exitCode).toBe(3)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('refused')
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
    const run = await updateAlias(given.target, '--allow-key-spec-change', '--output', 'json')

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
    expect(report.apiCalls).toEqual({DescribeKey: 2, GetKeyPolicy: 2, ListGrants: 2, UpdateAlias: 1})
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
