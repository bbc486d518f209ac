/**
 * Runs of the built CLI that end without a report: usage errors, configuration errors and an
 * endpoint that cannot be reached. Each prints one line on stderr and has its own exit code.
 */
import {beforeEach, describe, expect, it} from 'vitest'

import {cliEnvironment, closedLoopbackUrl, linesOf, runCli} from '../support/cli.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, SYMMETRIC, type Given} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()

function expectOneLineWithoutStack(stderr: string): void {
  expect(linesOf(stderr)).toHaveLength(1)
  expect(stderr).not.toMatch(/^\s+at /m)
}

describe('usage errors exit 252 with one line, before any request is needed', () => {
  const target = '1234abcd-12ab-34cd-56ef-1234567890ab'
  const cases: Array<{behaviour: string; args: string[]; mentions: string}> = [
    {
      behaviour: 'an alias name without the alias/ prefix',
      args: ['--alias-name', 'app', '--target-key-id', target],
      mentions: '--alias-name',
    },
    {
      behaviour: 'an alias given as the target',
      args: ['--alias-name', ALIAS, '--target-key-id', 'alias/other'],
      mentions: '--target-key-id',
    },
    {
      behaviour: 'an unknown flag',
      args: ['--alias-name', ALIAS, '--target-key-id', target, '--no-such-flag'],
      mentions: '--no-such-flag',
    },
    {
      behaviour: 'a missing required flag',
      args: ['--alias-name', ALIAS],
      mentions: 'The following arguments are required: --target-key-id',
    },
    {
      behaviour: 'an empty --region, which must not fall back on AWS_REGION',
      args: ['--alias-name', ALIAS, '--target-key-id', target, '--region', ''],
      mentions: '--region is empty',
    },
  ]

  it.each(cases)('$behaviour', async ({args, mentions}) => {
    // given: an endpoint where nothing listens, so any request would end the run with 255
    const endpoint = await closedLoopbackUrl()

    // when
    const run = await runCli(['update-alias', ...args, '--endpoint-url', endpoint, '--yes'])

    // then
    expect(run.exitCode).toBe(252)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain(mentions)
    expect(run.stdout).toBe('')
  })
})

describe('command-line errors outside update-alias exit 252 (253 for the environment) with one line', () => {
  it.each([
    ['an unknown command', ['update-alia', '--alias-name', ALIAS], "command update-alia not found"],
    ['an unknown top-level flag', ['--no-such-flag'], '--no-such-flag'],
    [
      'a word after a command in help, named in words as typed',
      ['help', 'update-alias', 'extra'],
      "kms-rotate: command update-alias extra not found. See 'kms-rotate --help'.",
    ],
  ])('%s', async (_, args, mentions) => {
    const run = await runCli(args)
    expect(run.exitCode).toBe(252)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain(mentions)
    expect(run.stdout).toBe('')
  })

  it('an empty --endpoint-url, which must not fall back on the public endpoint', async () => {
    const args = ['update-alias', '--alias-name', ALIAS, '--target-key-id', '1234abcd-12ab-34cd-56ef-1234567890ab']
    const run = await runCli([...args, '--endpoint-url', '', '--yes'])
    expect(run.exitCode).toBe(252)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain('--endpoint-url is empty')
  })

  it('an AWS_DEFAULT_OUTPUT that is not a format, named as the variable, exit 253', async () => {
    const endpoint = await closedLoopbackUrl()
    const env = {...cliEnvironment(), AWS_DEFAULT_OUTPUT: 'xml'}
    const run = await runCli(
      ['update-alias', '--alias-name', ALIAS, '--target-key-id', '1234abcd-12ab-34cd-56ef-1234567890ab', '--endpoint-url', endpoint],
      env,
    )
    expect(run.exitCode).toBe(253)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain("AWS_DEFAULT_OUTPUT 'xml'")
  })
})

describe('configuration errors exit 253 with one line and leave the alias alone', () => {
  let given: Given

  beforeEach(async () => {
    given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
  })

  const args = () => ['update-alias', '--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', motoUrl, '--yes']

  it('no Region in flags, environment or config files', async () => {
    // when
    const run = await runCli(args(), cliEnvironment({region: false}))

    // then
    expect(run.exitCode).toBe(253)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toMatch(/Region/)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('a --profile that no config file defines', async () => {
    // when
    const run = await runCli([...args(), '--profile', 'no-such-profile'])

    // then
    expect(run.exitCode).toBe(253)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain('no-such-profile')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('no credentials anywhere, with instance metadata disabled', async () => {
    // when
    const run = await runCli(args(), cliEnvironment({credentials: false}))

    // then
    expect(run.exitCode).toBe(253)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toMatch(/credentials/i)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('an endpoint that refuses connections', () => {
  it('exits 255 with one line naming the endpoint and no stack trace', async () => {
    // given
    const endpoint = await closedLoopbackUrl()

    // when
    const run = await runCli([
      'update-alias',
      '--alias-name',
      ALIAS,
      '--target-key-id',
      '1234abcd-12ab-34cd-56ef-1234567890ab',
      '--endpoint-url',
      endpoint,
      '--yes',
    ])

    // then
    expect(run.exitCode).toBe(255)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain(endpoint)
    expect(run.stdout).toBe('')
  })
})

describe('help', () => {
  it.each([
    [['update-alias', '--help']],
    [['update-alias', '-h']],
    [['help', 'update-alias']],
  ])('%j prints the help with both tables on stdout and exits 0', async (args) => {
    const run = await runCli(args)
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('USAGE')
    expect(run.stdout).toContain('key-usage-match')
    expect(run.stdout).toMatch(/^ {2}252 +a bad flag or input document \(--cli-input-json\/yaml\)$/m)
    expect(run.stderr).toBe('')
  })
})
