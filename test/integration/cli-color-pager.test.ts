/**
 * --color, and the pager from AWS_PAGER or the profile's cli_pager, through the built CLI, on a
 * pseudo-terminal where a terminal matters and piped where it must not.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {cliEnvironment, linesOf, runCli, runOnTerminal} from '../support/cli.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
/** An SGR sequence: what sets a colour or a style. Cursor movement is not one. */
const COLOUR = /\u001B\[[0-9;]*m/
const ESCAPE_SEQUENCE = /\u001B\[[0-9;?]*[A-Za-z]/g
const PAGER = "sed 's/^/PAGED: /'"

const configDirectory = mkdtempSync(join(tmpdir(), 'kms-rotate-pager-config-'))
afterAll(() => rmSync(configDirectory, {recursive: true, force: true}))

function updateAlias(target: string, ...extra: string[]): string[] {
  return ['update-alias', '--alias-name', ALIAS, '--target-key-id', target, '--endpoint-url', motoUrl, '--yes', ...extra]
}

/** The CLI's environment with a config file whose default profile holds `settings`. */
function withProfile(settings: string, env: NodeJS.ProcessEnv = cliEnvironment()): NodeJS.ProcessEnv {
  const configFile = join(configDirectory, 'config')
  writeFileSync(configFile, `[default]\n${settings}\n`)
  return {...env, AWS_CONFIG_FILE: configFile}
}

describe('--color', () => {
  it.each([
    ['without NO_COLOR', {}],
    ['even with NO_COLOR set', {NO_COLOR: '1'}],
  ])('on colours the report in a pipe %s', async (_, extraEnv) => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when stdout is a pipe
    const run = await runCli(updateAlias(given.target, '--color', 'on'), {...cliEnvironment(), ...extraEnv})

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(COLOUR)
    expect(linesOf(run.stdout).at(-1)).toMatch(/^\u001B\[[0-9;]*m(\u001B\[[0-9;]*m)?rotated/)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('off sends no colour at all to a terminal: report, spinner and all', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await runOnTerminal(updateAlias(given.target, '--color', 'off'), undefined)

    // then: the spinner ran, and nothing on the screen set a colour
    expect(run.exitCode).toBe(0)
    expect(run.text).toContain(`Waiting for ${ALIAS} to show the new key`)
    expect(run.text).toMatch(/^rotated\s/m)
    expect(run.screen).not.toMatch(COLOUR)
  })

  it.each([
    ['colours the report on a terminal', {}, true],
    ['leaves the report plain on a terminal when NO_COLOR is set', {NO_COLOR: ''}, false],
  ])('auto %s', async (_, extraEnv, coloured) => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await runOnTerminal(updateAlias(given.target, '--color', 'auto'), undefined, {
      ...cliEnvironment(),
      ...extraEnv,
    })

    // then
    expect(run.exitCode).toBe(0)
    const outcomeLine = run.screen.split('\n').find((line) => /^rotated\s/.test(line.replaceAll(ESCAPE_SEQUENCE, '')))
    expect(outcomeLine).toBeDefined()
    expect(COLOUR.test(outcomeLine ?? '')).toBe(coloured)
  })
})

describe('the pager', () => {
  it('gets the report from AWS_PAGER when stdout is a terminal', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await runOnTerminal(updateAlias(given.target), undefined, {...cliEnvironment(), AWS_PAGER: PAGER})

    // then every line of the report went through the pager
    expect(run.exitCode).toBe(0)
    expect(run.text).toMatch(/^PAGED: alias\/app in us-east-1\r?$/m)
    expect(run.text).toMatch(/^PAGED: rotated +alias\/app now points at /m)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it("gets the report from the profile's cli_pager when AWS_PAGER is not set", async () => {
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const run = await runOnTerminal(updateAlias(given.target), undefined, withProfile(`cli_pager = ${PAGER}`))
    expect(run.exitCode).toBe(0)
    expect(run.text).toMatch(/^PAGED: rotated /m)
  })

  it.each([
    ['with --no-cli-pager', ['--no-cli-pager'], {AWS_PAGER: PAGER}],
    ["when AWS_PAGER is empty, over the profile's cli_pager", [], {AWS_PAGER: ''}],
  ])('is not used on a terminal %s', async (_, flags, extraEnv) => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await runOnTerminal(updateAlias(given.target, ...flags), undefined, {
      ...withProfile(`cli_pager = ${PAGER}`),
      ...extraEnv,
    })

    // then
    expect(run.exitCode).toBe(0)
    expect(run.text).toMatch(/^rotated +alias\/app now points at /m)
    expect(run.text).not.toContain('PAGED:')
  })

  it('is not used when stdout is a pipe', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await runCli(updateAlias(given.target), {...cliEnvironment(), AWS_PAGER: PAGER})

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stdout).not.toContain('PAGED:')
    expect(linesOf(run.stdout).at(-1)).toMatch(/^rotated\s/)
    expect(run.stderr).toBe('')
  })

  it('that cannot start leaves the report printed directly, with one line saying so', async () => {
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const env = {...cliEnvironment(), AWS_PAGER: 'kms-rotate-no-such-pager'}
    const run = await runOnTerminal(updateAlias(given.target), undefined, env)
    expect(run.exitCode).toBe(0)
    expect(run.text).toMatch(/^rotated +alias\/app now points at /m)
    expect(run.text).toContain("The pager 'kms-rotate-no-such-pager' from AWS_PAGER could not start (exit 127)")
  })
})
