import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {
  checkOperationInput,
  operationInput,
  rejectSwitchValues,
  withLastValues,
  withSkeletonValue,
} from '../../src/lib/cli-input.js'
import {inputSkeletonYaml} from '../../src/lib/skeleton.js'

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab'
const OTHER_KEY_ID = '0987dcba-09fe-87dc-65ba-ab0987654321'

const directory = mkdtempSync(join(tmpdir(), 'kms-rotate-cli-input-'))
afterAll(() => rmSync(directory, {recursive: true, force: true}))

function file(name: string, content: string): string {
  const path = join(directory, name)
  writeFileSync(path, content)
  return path
}

/** A usage error whose message matches `message`, or contains it when it is a string. */
function usageError(message: string | RegExp) {
  const matcher = typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message)
  return expect.objectContaining({exitCode: 252, message: matcher})
}

describe('rejectSwitchValues', () => {
  const SWITCHES = new Set(['yes', 'canary', 'no-verify-ssl'])

  it.each([
    ['--yes=true', "--yes takes no value, but was given 'true'"],
    ['--no-canary=1', "--no-canary takes no value, but was given '1'"],
    ['--no-verify-ssl=false', "--no-verify-ssl takes no value, but was given 'false'"],
  ])('refuses %s by name', (token, message) => {
    expect(() => rejectSwitchValues(['--dry-run', token], SWITCHES)).toThrow(usageError(message))
  })

  it('lets options with values, plain switches and anything after -- through', () => {
    expect(() => rejectSwitchValues(['--output=json', '--yes', '--', '--yes=1'], SWITCHES)).not.toThrow()
  })
})

describe('withLastValues', () => {
  const VALUE_FLAGS = new Set(['output', 'alias-name'])

  it.each([
    ['a flag given twice', ['--output', 'json', '--output', 'text'], ['--output', 'text']],
    ['the = form', ['--output=json', '--yes', '--output', 'text'], ['--yes', '--output', 'text']],
    ['three times, mixed', ['--output', 'json', '--output=yaml', '--output', 'text'], ['--output', 'text']],
    [
      'a flag, not a value that looks like one',
      ['--alias-name', '--output', '--alias-name', 'alias/app'],
      ['--alias-name', 'alias/app'],
    ],
    ['booleans, left as they are', ['--yes', '--yes'], ['--yes', '--yes']],
    ['anything after --', ['--output', 'json', '--', '--output', 'text'], ['--output', 'json', '--', '--output', 'text']],
  ])('keeps only the last of %s', (_, argv, expected) => {
    expect(withLastValues(argv, VALUE_FLAGS)).toEqual(expected)
  })
})

describe('withSkeletonValue', () => {
  it.each([
    ['at the end of the line', ['--generate-cli-skeleton'], ['--generate-cli-skeleton', 'input']],
    [
      'before another flag',
      ['--generate-cli-skeleton', '--alias-name', 'alias/app'],
      ['--generate-cli-skeleton', 'input', '--alias-name', 'alias/app'],
    ],
    ['before a short flag', ['--generate-cli-skeleton', '-y'], ['--generate-cli-skeleton', 'input', '-y']],
  ])('reads a bare --generate-cli-skeleton %s as input', (_, argv, expected) => {
    expect(withSkeletonValue(argv)).toEqual(expected)
  })

  it.each([
    [['--generate-cli-skeleton', 'yaml-input']],
    [['--generate-cli-skeleton', 'output', '--alias-name', 'alias/app']],
    [['--generate-cli-skeleton=output']],
    [['--alias-name', 'alias/app']],
  ])('leaves %j as it is', (argv) => {
    expect(withSkeletonValue(argv)).toEqual(argv)
  })
})

describe('operationInput', () => {
  it('takes AliasName and TargetKeyId from --cli-input-json', async () => {
    const document = JSON.stringify({AliasName: 'alias/app', TargetKeyId: KEY_ID})
    const input = await operationInput({'cli-input-json': document})
    expect(input).toMatchObject({aliasName: 'alias/app', targetKeyId: KEY_ID})
  })

  it('takes them from --cli-input-yaml', async () => {
    const input = await operationInput({'cli-input-yaml': `AliasName: alias/app\nTargetKeyId: ${KEY_ID}\n`})
    expect(input).toMatchObject({aliasName: 'alias/app', targetKeyId: KEY_ID})
  })

  it.each([
    ['--cli-input-json', 'input.json', JSON.stringify({AliasName: 'alias/app', TargetKeyId: KEY_ID})],
    ['--cli-input-yaml', 'input.yaml', `AliasName: alias/app\nTargetKeyId: ${KEY_ID}\n`],
  ])('reads %s from file://PATH', async (option, name, content) => {
    // given the document in a file
    const path = file(name, content)
    // when the option names the file
    const input = await operationInput({[option.slice(2)]: `file://${path}`})
    // then the values come from it
    expect(input).toMatchObject({aliasName: 'alias/app', targetKeyId: KEY_ID})
  })

  it('reads back the YAML skeleton once it is filled in, comments and all', async () => {
    const filled = inputSkeletonYaml()
      .replace("AliasName: ''", 'AliasName: alias/app')
      .replace("TargetKeyId: ''", `TargetKeyId: ${KEY_ID}`)
    const input = await operationInput({'cli-input-yaml': filled})
    expect(input).toMatchObject({aliasName: 'alias/app', targetKeyId: KEY_ID})
  })

  it('lets a flag win over the document, and says where the other value came from', async () => {
    // given a document with both values and a flag for one of them
    const document = JSON.stringify({AliasName: 'alias/app', TargetKeyId: KEY_ID})
    // when they are merged
    const input = await operationInput({'cli-input-json': document, 'target-key-id': OTHER_KEY_ID})
    // then the flag's value is used, and only the document's value is credited to it
    expect(input).toEqual({
      aliasName: 'alias/app',
      targetKeyId: OTHER_KEY_ID,
      sources: {aliasName: '--cli-input-json AliasName'},
    })
  })

  it('lets an empty flag win too, so that its own check reports it', async () => {
    const document = JSON.stringify({AliasName: 'alias/app', TargetKeyId: KEY_ID})
    const input = await operationInput({'cli-input-json': document, 'alias-name': ''})
    expect(input.aliasName).toBe('')
    expect(() => checkOperationInput(input)).toThrow(usageError(/^--alias-name is empty/))
  })

  it('leaves a value missing when neither the flags nor the document give it', async () => {
    const input = await operationInput({'cli-input-json': JSON.stringify({AliasName: 'alias/app'})})
    expect(input.targetKeyId).toBeUndefined()
  })

  it.each([
    ['an unknown key', {'cli-input-json': '{"AliasName": "alias/app", "Extra": 1}'}, /unknown parameter 'Extra'/],
    [
      'a key in the wrong case',
      {'cli-input-json': '{"aliasName": "alias/app"}'},
      /^--cli-input-json has an unknown parameter 'aliasName': did you mean 'AliasName'\?$/,
    ],
    ['a value that is not a string', {'cli-input-json': '{"TargetKeyId": 42}'}, /TargetKeyId as a number/],
    ['a null value', {'cli-input-yaml': 'TargetKeyId:'}, /TargetKeyId as null/],
    ['JSON that does not parse', {'cli-input-json': '{"AliasName": '}, /^--cli-input-json is not valid JSON \(/],
    ['YAML that does not parse', {'cli-input-yaml': 'AliasName: [app'}, /^--cli-input-yaml is not valid YAML/],
    ['a JSON list', {'cli-input-json': '["alias/app"]'}, /^--cli-input-json is a list, not an object/],
    ['a JSON string', {'cli-input-json': '"alias/app"'}, /is a string, not an object/],
    ['JSON null', {'cli-input-json': 'null'}, /is null, not an object/],
    ['an empty YAML document', {'cli-input-yaml': ''}, /^--cli-input-yaml is null, not a mapping/],
    ['a YAML scalar', {'cli-input-yaml': 'alias/app'}, /is a string, not a mapping/],
    ['a YAML tag it does not know', {'cli-input-yaml': 'AliasName: !vault alias/app'}, /Unresolved tag: !vault/],
    [
      'both options at once',
      {'cli-input-json': '{}', 'cli-input-yaml': '{}'},
      /^--cli-input-json and --cli-input-yaml cannot be used together/,
    ],
  ])('refuses %s with one usage line', async (_, options, message) => {
    const reading = operationInput(options)
    await expect(reading).rejects.toThrow(usageError(message))
    await expect(reading).rejects.toThrow(/^[^\n]*$/)
  })

  it('names a file that cannot be read', async () => {
    const missing = join(directory, 'no-such-file.json')
    await expect(operationInput({'cli-input-json': `file://${missing}`})).rejects.toThrow(
      usageError(`--cli-input-json 'file://${missing}' cannot be read (no such file): check the path.`),
    )
  })

  it('reads a JSON file saved with a byte order mark', async () => {
    const path = file('bom.json', '\uFEFF{"AliasName": "alias/app"}')
    expect((await operationInput({'cli-input-json': `file://${path}`})).aliasName).toBe('alias/app')
  })

  it('names the file whose JSON does not parse', async () => {
    const path = file('broken.json', '{"AliasName": "alias/app",}')
    await expect(operationInput({'cli-input-json': `file://${path}`})).rejects.toThrow(
      usageError(`--cli-input-json 'file://${path}' is not valid JSON`),
    )
  })
})

describe('checkOperationInput', () => {
  it('names every missing argument in one line, as the AWS CLI does', () => {
    expect(() => checkOperationInput({})).toThrow(
      usageError(/^The following arguments are required: --alias-name, --target-key-id \(or AliasName and /),
    )
  })

  it('names only the argument that is missing', () => {
    expect(() => checkOperationInput({aliasName: 'alias/app'})).toThrow(
      usageError(/^The following arguments are required: --target-key-id \(or TargetKeyId in/),
    )
  })

  it('names the document, not the flag, when a value from it is malformed', () => {
    const input = {aliasName: 'app', targetKeyId: KEY_ID, sources: {aliasName: '--cli-input-yaml AliasName'}}
    expect(() => checkOperationInput(input)).toThrow(
      usageError("--cli-input-yaml AliasName 'app' must start with 'alias/': did you mean 'alias/app'?"),
    )
  })

  it('gives back the alias name and the parsed target', () => {
    const arn = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`
    expect(checkOperationInput({aliasName: 'alias/app', targetKeyId: arn})).toEqual({
      aliasName: 'alias/app',
      target: {given: arn, arn: {partition: 'aws', region: 'us-east-1', account: '111122223333', keyId: KEY_ID}},
    })
  })
})
