/**
 * Bad input, table-driven, through the built CLI with a recording KMS proxy as its endpoint:
 * each case gets one line on stderr that names the bad value, its documented exit code, and
 * not a single request at the proxy.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {EXIT} from '../../src/lib/outcomes.js'
import {cliEnvironment, linesOf, runCli} from '../support/cli.js'
import {startKmsFaultProxy, type KmsFaultProxy} from '../support/kms-fault-proxy.js'
import {useMoto} from '../support/moto-per-test.js'

const {motoUrl} = useMoto()
let proxy: KmsFaultProxy

const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab'
const KEY_ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY}`
const ALIAS = 'alias/app'

interface BadInput {
  /** What is wrong, as the test is named. */
  case: string
  args: string[]
  env?: Record<string, string>
  exitCode: number
  /** Text the one line must contain: the bad value, or the option it came from. */
  names: string
}

function rotation(alias: string, target: string, ...more: string[]): string[] {
  return ['update-alias', '--alias-name', alias, '--target-key-id', target, ...more]
}

const aliasCases: BadInput[] = [
  ['without the alias/ prefix', 'app', "'app'"],
  ['with an upper-case prefix', 'ALIAS/app', "'ALIAS/app'"],
  ['with nothing after the prefix', 'alias/', "'alias/'"],
  ['with a dot', 'alias/my.app', "'alias/my.app'"],
  ['with a colon', 'alias/my:app', "'alias/my:app'"],
  ['with a space', 'alias/my app', "'alias/my app'"],
  ['with a tab', 'alias/my\tapp', String.raw`'alias/my\tapp'`],
  ['with a newline', 'alias/my\napp', String.raw`'alias/my\napp'`],
  ['with an accented letter', 'alias/café', "'alias/café'"],
  ['with an emoji', 'alias/app-🔑', "'alias/app-🔑'"],
  ['with a right-to-left mark', 'alias/app\u200F', String.raw`\u200f`],
  ['of 257 characters', `alias/${'a'.repeat(251)}`, '257 characters'],
  ['that is empty', '', '--alias-name is empty'],
  ['that is a key id', KEY, `'${KEY}'`],
  ['that is an alias ARN', 'arn:aws:kms:us-east-1:111122223333:alias/app', "'arn:aws:kms:us-east-1:111122223333:alias/app'"],
  ['with white space around it', ' alias/app', "' alias/app'"],
].map(([what, alias, names]) => ({
  case: `an alias name ${what}`,
  args: rotation(alias, KEY),
  exitCode: EXIT.usage,
  names,
}))

const targetCases: BadInput[] = [
  ['an alias name', 'alias/other'],
  ['an alias ARN', 'arn:aws:kms:us-east-1:111122223333:alias/other'],
  ['an ARN in a partition that does not hold its Region', `arn:aws-cn:kms:us-east-1:111122223333:key/${KEY}`],
  ['an ARN with an unknown partition', `arn:awz:kms:us-east-1:111122223333:key/${KEY}`],
  ['an ARN of another service', `arn:aws:s3:us-east-1:111122223333:key/${KEY}`],
  ['an ARN of another resource type', `arn:aws:kms:us-east-1:111122223333:grant/${KEY}`],
  ['an ARN with a short account', `arn:aws:kms:us-east-1:11112222:key/${KEY}`],
  ['an ARN with no Region', `arn:aws:kms::111122223333:key/${KEY}`],
  ['an ARN with a truncated key id', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab'],
  ['a truncated key id', '1234abcd-12ab-34cd-56ef'],
  ['a key id with one digit too many', `${KEY}0`],
  ['a key id with a non-hex digit', '1234abcd-12ab-34cd-56ef-1234567890ag'],
  ['an mrk- id that is too short', 'mrk-1234abcd'],
  ['an mrk- id that is too long', 'mrk-1234abcd12ab34cd56ef1234567890ab00'],
  ['an mrk- id with dashes', 'mrk-1234abcd-12ab-34cd-56ef-1234567890ab'],
  ['a key id with white space around it', `${KEY} `],
  ['a key ARN with white space around it', `\t${KEY_ARN}`],
  ['a key id with a newline in it', `1234abcd\n-12ab-34cd-56ef-1234567890ab`],
].map(([what, target]) => ({
  case: `a target that is ${what}`,
  args: rotation(ALIAS, target),
  exitCode: EXIT.usage,
  names: '--target-key-id',
}))

const flagCases: BadInput[] = [
  {case: 'an unknown flag', args: rotation(ALIAS, KEY, '--force'), exitCode: EXIT.usage, names: '--force'},
  {case: 'a misspelt flag', args: [...rotation(ALIAS, KEY), '--dryrun'], exitCode: EXIT.usage, names: '--dryrun'},
  {case: 'an unknown command', args: ['rotate-alias', '--alias-name', ALIAS], exitCode: EXIT.usage, names: 'rotate-alias'},
  {case: 'an unexpected argument', args: [...rotation(ALIAS, KEY), 'extra'], exitCode: EXIT.usage, names: 'extra'},
  {case: 'a flag given no value', args: ['update-alias', '--target-key-id', KEY, '--alias-name'], exitCode: EXIT.usage, names: '--alias-name'},
  {case: 'a switch given a value', args: rotation(ALIAS, KEY, '--allow-access-loss=true'), exitCode: EXIT.usage, names: '--allow-access-loss'},
  {case: 'a negative --wait-timeout', args: rotation(ALIAS, KEY, '--wait-timeout', '-1'), exitCode: EXIT.usage, names: '--wait-timeout'},
  {case: 'a --wait-timeout that is not a number', args: rotation(ALIAS, KEY, '--wait-timeout', 'soon'), exitCode: EXIT.usage, names: 'soon'},
  {case: 'an empty --wait-timeout', args: rotation(ALIAS, KEY, '--wait-timeout', ''), exitCode: EXIT.usage, names: "received ''"},
  {case: 'a --wait-timeout over a day', args: rotation(ALIAS, KEY, '--wait-timeout', '86401'), exitCode: EXIT.usage, names: '--wait-timeout'},
  {case: 'an unknown --output', args: rotation(ALIAS, KEY, '--output', 'xml'), exitCode: EXIT.usage, names: 'xml'},
  {case: 'an empty --region', args: rotation(ALIAS, KEY, '--region', ''), exitCode: EXIT.usage, names: '--region'},
  {case: 'a --region that is no Region name', args: rotation(ALIAS, KEY, '--region', 'US East'), exitCode: EXIT.usage, names: "'US East'"},
  {case: 'an --endpoint-url without a scheme', args: rotation(ALIAS, KEY, '--endpoint-url', '127.0.0.1:4566'), exitCode: EXIT.usage, names: "'127.0.0.1:4566'"},
  {case: 'an --endpoint-url of another scheme', args: rotation(ALIAS, KEY, '--endpoint-url', 'ftp://127.0.0.1'), exitCode: EXIT.usage, names: "'ftp://127.0.0.1'"},
  {case: 'an empty --profile', args: rotation(ALIAS, KEY, '--profile', ''), exitCode: EXIT.usage, names: '--profile'},
  {case: 'an unknown --profile', args: rotation(ALIAS, KEY, '--profile', 'nobody'), exitCode: EXIT.configuration, names: 'nobody'},
  {case: 'a --cli-connect-timeout that is negative', args: rotation(ALIAS, KEY, '--cli-connect-timeout', '-5'), exitCode: EXIT.usage, names: '--cli-connect-timeout'},
  {case: 'an unknown --color', args: rotation(ALIAS, KEY, '--color', 'always'), exitCode: EXIT.usage, names: 'always'},
  ...[
    ['an alias name', 'alias/app'],
    ['an alias ARN', 'arn:aws:kms:us-east-1:111122223333:alias/app'],
    ['a truncated key id', '1234abcd-12ab-34cd-56ef'],
    ['empty', ''],
  ].map(([what, expected]) => ({
    case: `an --expected-current-key that is ${what}`,
    args: rotation(ALIAS, KEY, '--expected-current-key', expected),
    exitCode: EXIT.usage,
    names: '--expected-current-key',
  })),
  {
    case: 'an --acknowledge-verify-break given a value',
    args: rotation(ALIAS, KEY, '--acknowledge-verify-break=yes'),
    exitCode: EXIT.usage,
    names: 'yes',
  },
]

const inputDocumentCases: BadInput[] = [
  {case: '--cli-input-json that is not JSON', args: ['update-alias', '--cli-input-json', '{"AliasName": '], exitCode: EXIT.usage, names: '--cli-input-json'},
  {case: '--cli-input-json with an unknown key', args: ['update-alias', '--cli-input-json', `{"AliasName": "${ALIAS}", "TargetKeyId": "${KEY}", "Force": true}`], exitCode: EXIT.usage, names: 'Force'},
  {case: '--cli-input-json that is a list', args: ['update-alias', '--cli-input-json', '[]'], exitCode: EXIT.usage, names: '--cli-input-json'},
  {case: '--cli-input-json with a bad alias name', args: ['update-alias', '--cli-input-json', `{"AliasName": "app", "TargetKeyId": "${KEY}"}`], exitCode: EXIT.usage, names: "'app'"},
  {case: '--cli-input-json naming a missing file', args: ['update-alias', '--cli-input-json', 'file:///nonexistent/input.json'], exitCode: EXIT.usage, names: '/nonexistent/input.json'},
  {case: '--cli-input-yaml that is not YAML', args: ['update-alias', '--cli-input-yaml', 'AliasName: [unclosed'], exitCode: EXIT.usage, names: '--cli-input-yaml'},
  {case: '--cli-input-yaml with a tag it does not know', args: ['update-alias', '--cli-input-yaml', 'AliasName: !vault alias/app', '--target-key-id', KEY], exitCode: EXIT.usage, names: '!vault'},
  {case: '--cli-input-yaml with a collection as a key', args: ['update-alias', '--cli-input-yaml', '? [a, b]\n: x', '--target-key-id', KEY], exitCode: EXIT.usage, names: '--cli-input-yaml'},
  {case: '--cli-input-json and --cli-input-yaml together', args: ['update-alias', '--cli-input-json', '{}', '--cli-input-yaml', '{}'], exitCode: EXIT.usage, names: '--cli-input-'},
  {case: '--cli-auto-prompt and --no-cli-auto-prompt together', args: rotation(ALIAS, KEY, '--cli-auto-prompt', '--no-cli-auto-prompt'), exitCode: EXIT.usage, names: 'cli-auto-prompt'},
  {case: 'no target at all', args: ['update-alias', '--alias-name', ALIAS], exitCode: EXIT.usage, names: '--target-key-id'},
  {case: 'an invalid --query', args: rotation(ALIAS, KEY, '--query', 'checks[?'), exitCode: EXIT.usage, names: '--query'},
]

const environmentCases: BadInput[] = [
  {case: 'AWS_DEFAULT_OUTPUT naming no format', args: rotation(ALIAS, KEY), env: {AWS_DEFAULT_OUTPUT: 'xml'}, exitCode: EXIT.configuration, names: 'AWS_DEFAULT_OUTPUT'},
  {case: 'AWS_REGION that is no Region name', args: rotation(ALIAS, KEY), env: {AWS_REGION: 'moon-1 '}, exitCode: EXIT.configuration, names: 'AWS_REGION'},
  {case: 'AWS_RETRY_MODE naming no mode', args: rotation(ALIAS, KEY), env: {AWS_RETRY_MODE: 'eager'}, exitCode: EXIT.configuration, names: 'eager'},
  {case: 'AWS_MAX_ATTEMPTS that is not a number', args: rotation(ALIAS, KEY), env: {AWS_MAX_ATTEMPTS: 'many'}, exitCode: EXIT.configuration, names: 'many'},
  {case: 'AWS_ENDPOINT_URL_KMS without a scheme', args: rotation(ALIAS, KEY), env: {AWS_ENDPOINT_URL_KMS: 'localhost:4566'}, exitCode: EXIT.configuration, names: 'AWS_ENDPOINT_URL_KMS'},
  {case: 'AWS_PROFILE naming no profile', args: rotation(ALIAS, KEY), env: {AWS_PROFILE: 'nobody'}, exitCode: EXIT.configuration, names: 'nobody'},
  {case: 'AWS_CA_BUNDLE naming a missing file', args: rotation(ALIAS, KEY), env: {AWS_CA_BUNDLE: '/nonexistent/ca.pem'}, exitCode: EXIT.configuration, names: '/nonexistent/ca.pem'},
  {case: 'AWS_ENDPOINT_URL that is only white space', args: rotation(ALIAS, KEY), env: {AWS_ENDPOINT_URL: ' '}, exitCode: EXIT.configuration, names: 'AWS_ENDPOINT_URL'},
  {case: 'no Region at all, AWS_REGION empty', args: rotation(ALIAS, KEY), env: {AWS_REGION: ''}, exitCode: EXIT.configuration, names: 'Region'},
]

const BAD_INPUTS = [...aliasCases, ...targetCases, ...flagCases, ...inputDocumentCases, ...environmentCases]

beforeAll(async () => {
  proxy = await startKmsFaultProxy(motoUrl)
})

afterAll(async () => {
  await proxy.close()
})

describe('bad input', () => {
  it('has a corpus of at least 40 cases', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(40)
  })

  it.each(BAD_INPUTS)('$case: one line naming it, exit $exitCode, no request', async (bad) => {
    // given the proxy as the endpoint, unless the case is about the endpoint
    proxy.reset()
    const env = {...cliEnvironment(), AWS_ENDPOINT_URL: proxy.url, ...bad.env}
    // when
    const run = await runCli(bad.args, env)
    // then
    expect(run.exitCode).toBe(bad.exitCode)
    expect(linesOf(run.stderr)).toHaveLength(1)
    expect(run.stderr).toContain(bad.names)
    expect(run.stderr).not.toMatch(/^\s+at /m)
    expect(run.stdout).toBe('')
    expect(proxy.requests).toEqual([])
  })
})
