/**
 * The built CLI against moto with the AWS CLI's input and output options: --cli-input-json and
 * --cli-input-yaml, --generate-cli-skeleton, --query, and the output formats and their defaults.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {cliEnvironment, closedLoopbackUrl, linesOf, runCli} from '../support/cli.js'
import {useMoto} from '../support/moto-per-test.js'
import {parseJsonReport} from '../support/report-schema.js'
import {aliasAndTarget, ALIAS, SYMMETRIC, HMAC_256} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab'
const VALID_INPUT = ['--alias-name', ALIAS, '--target-key-id', KEY_ID]

const directory = mkdtempSync(join(tmpdir(), 'kms-rotate-input-output-'))
afterAll(() => rmSync(directory, {recursive: true, force: true}))

function file(name: string, content: string): string {
  const path = join(directory, name)
  writeFileSync(path, content)
  return path
}

/** `update-alias ARGS` against moto, never prompting. */
function updateAlias(...args: string[]) {
  return runCli(['update-alias', ...args, '--endpoint-url', motoUrl, '--yes'])
}

/** `update-alias` on ALIAS and `target` against moto, never prompting. */
function rotate(target: string, ...extra: string[]) {
  return updateAlias('--alias-name', ALIAS, '--target-key-id', target, ...extra)
}

function expectOneLine(stderr: string): void {
  expect(linesOf(stderr)).toHaveLength(1)
  expect(stderr).not.toMatch(/^\s+at /m)
}

describe('--cli-input-json and --cli-input-yaml', () => {
  it('--cli-input-json as a string moves the alias', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const input = JSON.stringify({AliasName: ALIAS, TargetKeyId: given.target})

    // when
    const run = await updateAlias('--cli-input-json', input, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    expect(parseJsonReport(run.stdout)).toMatchObject({alias: ALIAS, outcome: 'rotated'})
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('--cli-input-yaml from file:// moves the alias', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const path = file('input.yaml', `AliasName: ${ALIAS}\nTargetKeyId: ${given.target}\n`)

    // when
    const run = await updateAlias('--cli-input-yaml', `file://${path}`)

    // then
    expect(run.exitCode).toBe(0)
    expect(linesOf(run.stdout).at(-1)).toMatch(/^rotated\s/)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('a flag on the command line wins over the document', async () => {
    // given a document that names one key and a flag that names another
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const decoy = await kms.createKey(SYMMETRIC)
    const input = JSON.stringify({AliasName: ALIAS, TargetKeyId: decoy.KeyId})

    // when
    const run = await updateAlias('--cli-input-json', input, '--target-key-id', given.target)

    // then the alias is on the key the flag named
    expect(run.exitCode).toBe(0)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('a document that moto would accept but the checks refuse is refused like flags', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, HMAC_256)
    const input = JSON.stringify({AliasName: ALIAS, TargetKeyId: given.target})

    // when
    const run = await updateAlias('--cli-input-json', input, '--output', 'json')

    // then
    expect(run.exitCode).toBe(3)
    const failed = expect.objectContaining({id: 'key-family-match', status: 'fail'})
    expect(parseJsonReport(run.stdout).checks).toContainEqual(failed)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('bad input exits 252 with one line, before any request', () => {
  const cases: Array<{behaviour: string; args: () => string[]; mentions: string | RegExp}> = [
    {
      behaviour: 'no alias and no key at all',
      args: () => [],
      mentions: 'The following arguments are required: --alias-name, --target-key-id',
    },
    {
      behaviour: 'a document without TargetKeyId and no flag for it',
      args: () => ['--cli-input-json', JSON.stringify({AliasName: ALIAS})],
      mentions: 'The following arguments are required: --target-key-id',
    },
    {
      behaviour: 'an unknown key in the document',
      args: () => ['--cli-input-json', JSON.stringify({AliasName: ALIAS, TargetKeyId: KEY_ID, Force: true})],
      mentions: "unknown parameter 'Force'",
    },
    {
      behaviour: 'JSON that does not parse',
      args: () => ['--cli-input-json', '{"AliasName": "alias/app"'],
      mentions: '--cli-input-json is not valid JSON',
    },
    {
      behaviour: 'YAML that does not parse',
      args: () => ['--cli-input-yaml', 'AliasName: [alias/app'],
      mentions: '--cli-input-yaml is not valid YAML',
    },
    {
      behaviour: 'a file that does not exist',
      args: () => ['--cli-input-json', `file://${join(directory, 'absent.json')}`],
      mentions: 'cannot be read (no such file)',
    },
    {
      behaviour: 'a document that is not an object',
      args: () => ['--cli-input-json', JSON.stringify([ALIAS, KEY_ID])],
      mentions: '--cli-input-json is a list, not an object',
    },
    {
      behaviour: 'both documents at once',
      args: () => ['--cli-input-json', '{}', '--cli-input-yaml', '{}'],
      mentions: /--cli-input-(json|yaml)/,
    },
    {
      behaviour: 'an alias name in the document without alias/',
      args: () => ['--cli-input-json', JSON.stringify({AliasName: 'app', TargetKeyId: KEY_ID})],
      mentions: "--cli-input-json AliasName 'app' must start with 'alias/'",
    },
    {
      behaviour: 'a --query that does not parse',
      args: () => [...VALID_INPUT, '--query', 'checks[?status=='],
      mentions: "Bad value for --query 'checks[?status=='",
    },
    {
      behaviour: 'a --query with an unknown function',
      args: () => [...VALID_INPUT, '--query', 'shout(outcome)'],
      mentions: 'unknown function shout()',
    },
  ]

  it.each(cases)('$behaviour', async ({args, mentions}) => {
    // given an endpoint where nothing listens, so any request would end the run with 255
    const endpoint = await closedLoopbackUrl()

    // when
    const run = await runCli(['update-alias', ...args(), '--endpoint-url', endpoint, '--yes'])

    // then
    expect(run.exitCode).toBe(252)
    expectOneLine(run.stderr)
    if (typeof mentions === 'string') expect(run.stderr).toContain(mentions)
    else expect(run.stderr).toMatch(mentions)
    expect(run.stdout).toBe('')
  })

  it('a bad --query leaves the alias where it was', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await rotate(given.target, '--query', '[')

    // then
    expect(run.exitCode).toBe(252)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('--generate-cli-skeleton sends nothing and needs no credentials or Region', () => {
  /** Neither credentials nor a Region, and an endpoint that refuses connections. */
  async function skeletonRun(...args: string[]) {
    const endpoint = await closedLoopbackUrl()
    const env = cliEnvironment({credentials: false, region: false})
    return runCli(['update-alias', ...args, '--endpoint-url', endpoint], env)
  }

  it.each([
    ['with no value', ['--generate-cli-skeleton']],
    ['with input', ['--generate-cli-skeleton', 'input']],
    ['with no value, before other flags', ['--generate-cli-skeleton', '--alias-name', ALIAS]],
  ])('%s prints the empty JSON input', async (_, args) => {
    const run = await skeletonRun(...args)
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toBe('{\n    "AliasName": "",\n    "TargetKeyId": ""\n}\n')
    expect(run.stderr).toBe('')
  })

  it('yaml-input prints YAML that marks each member required', async () => {
    const run = await skeletonRun('--generate-cli-skeleton', 'yaml-input')
    expect(run.exitCode).toBe(0)
    expect(parseYaml(run.stdout)).toEqual({AliasName: '', TargetKeyId: ''})
    expect(linesOf(run.stdout)).toEqual([
      expect.stringMatching(/^AliasName: '' # \[REQUIRED\] /),
      expect.stringMatching(/^TargetKeyId: '' # \[REQUIRED\] /),
    ])
  })

  it('output checks the input and prints a sample report that the schema accepts', async () => {
    const run = await skeletonRun('--generate-cli-skeleton', 'output', ...VALID_INPUT)
    expect(run.exitCode).toBe(0)
    expect(parseJsonReport(run.stdout).alias).toBe(ALIAS)
    expect(run.stderr).toBe('')
  })

  it('output follows --output and --query', async () => {
    const format = ['--output', 'text', '--query', 'checks[].id']
    const run = await skeletonRun('--generate-cli-skeleton', 'output', ...VALID_INPUT, ...format)
    expect(run.exitCode).toBe(0)
    expect(run.stdout.split('\t')[0]).toBe('alias-not-reserved')
  })

  it.each([
    ['a malformed key id', ['--alias-name', ALIAS, '--target-key-id', 'not-a-key'], '--target-key-id'],
    ['a missing alias name', ['--target-key-id', KEY_ID], 'The following arguments are required: --alias-name'],
  ])('output refuses %s with exit 252', async (_, args, mentions) => {
    const run = await skeletonRun('--generate-cli-skeleton', 'output', ...args)
    expect(run.exitCode).toBe(252)
    expectOneLine(run.stderr)
    expect(run.stderr).toContain(mentions)
    expect(run.stdout).toBe('')
  })
})

describe('--query on a real run', () => {
  it('prints the result as JSON when no format is named, and moves the alias', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await rotate(given.target, '--query', '{o: outcome, to: to.keyId}')

    // then
    expect(run.exitCode).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({o: 'rotated', to: given.targetKeyId})
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('with --output text prints the bare values, as shell scripts read them', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, HMAC_256)

    // when
    const run = await rotate(given.target, '--output', 'text', '--query', 'checks[?status==`fail`].id')

    // then the failing check ids on one line, and the summary on stderr, as without --query
    expect(run.exitCode).toBe(3)
    expect(run.stdout).toBe('key-usage-match\tkey-family-match\n')
    const summary = expect.stringMatching(/^Refused: key-usage-match, key-family-match failed/)
    expect(linesOf(run.stderr)).toEqual([summary])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('with --output table prints the result as a table', async () => {
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const run = await rotate(given.target, '--output', 'table', '--query', 'apiCalls')
    expect(run.exitCode).toBe(0)
    for (const line of linesOf(run.stdout)) expect(line).toMatch(/^[+|]/)
    expect(run.stdout).toMatch(/\| UpdateAlias +\|/)
  })
})

describe('--output yaml-stream and off', () => {
  it('yaml-stream prints the report as the one item of a YAML sequence', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await rotate(given.target, '--output', 'yaml-stream')

    // then
    expect(run.exitCode).toBe(0)
    const items = parseYaml(run.stdout) as unknown[]
    expect(items).toHaveLength(1)
    expect(parseJsonReport(JSON.stringify(items[0]))).toMatchObject({outcome: 'rotated'})
  })

  it('off prints nothing on a rotation; the exit code tells the outcome', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await rotate(given.target, '--output', 'off')

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe('')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('off prints nothing on stdout on a refusal, and still the summary line on stderr', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, HMAC_256)

    // when
    const run = await rotate(given.target, '--output', 'off')

    // then
    expect(run.exitCode).toBe(3)
    expect(run.stdout).toBe('')
    expect(linesOf(run.stderr)).toEqual([expect.stringMatching(/^Refused: .*key-family-match.* failed/)])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('the default output format', () => {
  /** The CLI environment with a config file of its own. */
  function withConfig(content: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const path = file(`config-${Math.random().toString(36).slice(2)}`, content)
    return {...cliEnvironment(), AWS_CONFIG_FILE: path, ...extra}
  }

  /** A dry run against moto, so that the report is printed without moving the alias. */
  async function dryRun(env: NodeJS.ProcessEnv, ...args: string[]) {
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const target = ['--alias-name', ALIAS, '--target-key-id', given.target]
    const run = await runCli(['update-alias', ...target, '--endpoint-url', motoUrl, '--dry-run', ...args], env)
    return {run, given}
  }

  it("comes from the profile's output setting", async () => {
    const {run} = await dryRun(withConfig('[default]\noutput = yaml\n'))
    expect(run.exitCode).toBe(0)
    expect(parseYaml(run.stdout)).toMatchObject({outcome: 'planned'})
  })

  it("comes from AWS_DEFAULT_OUTPUT over the profile's setting", async () => {
    const {run} = await dryRun(withConfig('[default]\noutput = yaml\n', {AWS_DEFAULT_OUTPUT: 'json'}))
    expect(run.exitCode).toBe(0)
    expect(parseJsonReport(run.stdout).outcome).toBe('planned')
  })

  it('comes from --output over both', async () => {
    const env = withConfig('[default]\noutput = yaml\n', {AWS_DEFAULT_OUTPUT: 'table'})
    const {run} = await dryRun(env, '--output', 'off')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toBe('')
  })

  it('exits 253 naming the profile when its output setting is not a format, before any request', async () => {
    // given an endpoint where nothing listens, so any request would end the run with 255
    const endpoint = await closedLoopbackUrl()
    const env = withConfig('[profile ops]\noutput = xml\nregion = us-east-1\n')

    // when
    const run = await runCli(['update-alias', ...VALID_INPUT, '--profile', 'ops', '--endpoint-url', endpoint], env)

    // then
    expect(run.exitCode).toBe(253)
    expectOneLine(run.stderr)
    expect(run.stderr).toContain("The output setting 'xml' of profile ops")
    expect(run.stdout).toBe('')
  })
})
