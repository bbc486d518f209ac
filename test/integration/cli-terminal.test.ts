/**
 * The built CLI on a pseudo-terminal, where an operator sees the plan, a prompt and progress.
 */
import {describe, expect, it} from 'vitest'

import {cliEnvironment, runOnTerminal} from '../support/cli.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
const ESCAPE = '\u001B['

function updateAlias(target: string, ...extra: string[]): string[] {
  return ['update-alias', '--alias-name', ALIAS, '--target-key-id', target, '--endpoint-url', motoUrl, ...extra]
}

describe('update-alias on a terminal', () => {
  it('asks before UpdateAlias and leaves the alias alone when the answer is no', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await runOnTerminal(updateAlias(given.target), 'n')

    // then
    expect(run.text).toContain(`? Move ${ALIAS} to ${given.targetKeyId}?`)
    expect(run.text).toMatch(/declined +Not confirmed; nothing was changed\./)
    expect(run.exitCode).toBe(3)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('rotates when the answer is yes, and reports in colour', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await runOnTerminal(updateAlias(given.target), 'y')

    // then
    expect(run.exitCode).toBe(0)
    expect(run.text).toContain(`Waiting for ${ALIAS} to show the new key`)
    expect(run.screen).toMatch(new RegExp(`\\u001B\\[[0-9;]*mrotated`))
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it.each([
    ['--yes', 'moves the alias', 'targetKeyId'],
    ['--dry-run', 'leaves the alias alone', 'currentKeyId'],
  ] as const)('does not ask with %s, and %s', async (flag, _, expectedTarget) => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when: no answer is ever typed, so a prompt would hang until the run is killed
    const run = await runOnTerminal(updateAlias(given.target, flag), undefined)

    // then
    expect(run.exitCode).toBe(0)
    expect(run.text).not.toContain('? Move ')
    expect(await kms.aliasTarget(ALIAS)).toBe(given[expectedTarget])
  })

  it('prints the report without colour when NO_COLOR is set', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await runOnTerminal(updateAlias(given.target, '--yes'), undefined, {
      ...cliEnvironment(),
      NO_COLOR: '1',
    })

    // then: the report's lines carry no escape codes (the spinner may still move the cursor)
    const reportLines = run.screen.split('\n').filter((line) => line.includes(ALIAS) || line.includes('✓'))
    expect(reportLines.length).toBeGreaterThan(0)
    for (const line of reportLines.filter((line) => !line.includes('Waiting for'))) {
      expect(line).not.toContain(ESCAPE)
    }
  })
})
