import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Chalk} from 'chalk'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {formatReport, machineFormat, resolveOutputFormat} from '../../src/lib/output.js'
import {compileQuery} from '../../src/lib/query.js'
import {loadFormatLibraries, renderValue, type Json} from '../../src/lib/render.js'
import {placeholderReport} from '../../src/lib/skeleton.js'

const NO_COLOUR = new Chalk({level: 0})
const directory = mkdtempSync(join(tmpdir(), 'kms-rotate-output-'))
afterAll(() => rmSync(directory, {recursive: true, force: true}))

let configFiles = 0

/** An environment whose AWS config file holds `content`; each call writes a file of its own. */
function withConfig(content: string, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const path = join(directory, `config-${++configFiles}`)
  writeFileSync(path, content)
  return {...env, AWS_CONFIG_FILE: path}
}

// The yaml and table formats render with libraries that a run loads once it knows its format.
beforeAll(async () => {
  await Promise.all([loadFormatLibraries('yaml'), loadFormatLibraries('table')])
})

describe('resolveOutputFormat', () => {
  const profiles = '[default]\noutput = text\n\n[profile ops]\noutput = table\n'

  it.each([
    ['--output over AWS_DEFAULT_OUTPUT and the profile', 'json' as const, {AWS_DEFAULT_OUTPUT: 'yaml'}, 'json'],
    ['AWS_DEFAULT_OUTPUT over the profile', undefined, {AWS_DEFAULT_OUTPUT: 'yaml-stream'}, 'yaml-stream'],
    ["the default profile's output", undefined, {}, 'text'],
    ["the output of the profile AWS_PROFILE names", undefined, {AWS_PROFILE: 'ops'}, 'table'],
    ['an empty AWS_DEFAULT_OUTPUT, which counts as unset', undefined, {AWS_DEFAULT_OUTPUT: ''}, 'text'],
  ])('takes %s', async (_, flag, env, expected) => {
    expect(await resolveOutputFormat(flag, undefined, withConfig(profiles, env))).toBe(expected)
  })

  it("takes the output of the profile --profile names over AWS_PROFILE's", async () => {
    const env = withConfig(profiles, {AWS_PROFILE: 'default'})
    expect(await resolveOutputFormat(undefined, 'ops', env)).toBe('table')
  })

  it('gives the human report when nothing names a format', async () => {
    const env = withConfig('[default]\nregion = us-east-1\n')
    expect(await resolveOutputFormat(undefined, undefined, env)).toBeUndefined()
  })

  it('refuses a format the profile names that does not exist, naming the profile and the file', async () => {
    const env = withConfig('[profile ops]\noutput = xml\n')
    await expect(resolveOutputFormat(undefined, 'ops', env)).rejects.toThrow(
      expect.objectContaining({
        exitCode: 253,
        message: `The output setting 'xml' of profile ops in ${env.AWS_CONFIG_FILE} is not one of json, yaml, ` +
          'yaml-stream, text, table, off: pass --output or change the profile.',
      }),
    )
  })

  it('refuses a format AWS_DEFAULT_OUTPUT names that does not exist, before reading the profile', async () => {
    const env = withConfig('[default]\noutput = xml\n', {AWS_DEFAULT_OUTPUT: 'csv'})
    await expect(resolveOutputFormat(undefined, undefined, env)).rejects.toThrow(/^AWS_DEFAULT_OUTPUT 'csv'/)
  })
})

describe('machineFormat', () => {
  const query = compileQuery('outcome')

  it.each([
    ['no format and no query', undefined, undefined, undefined],
    ['a query without a format: JSON, since the AWS CLI has no human format', undefined, query, 'json'],
    ['a query with a format', 'text' as const, query, 'text'],
    ['a format without a query', 'off' as const, undefined, 'off'],
  ])('%s', (_, format, given, expected) => {
    expect(machineFormat(format, given)).toBe(expected)
  })
})

describe('formatReport', () => {
  const report = {...placeholderReport('alias/app'), outcome: 'refused' as const}

  it('prints the human report when nothing else is asked for', () => {
    expect(formatReport(report, undefined, undefined, NO_COLOUR)).toMatch(/^alias\/app in region/)
  })

  it('prints the query result as JSON when no format is named', () => {
    expect(formatReport(report, undefined, compileQuery('outcome'), NO_COLOUR)).toBe('"refused"\n')
  })

  it('prints the query result in the format named', () => {
    const printed = formatReport(report, 'yaml', compileQuery('{outcome: outcome, alias: alias}'), NO_COLOUR)
    expect(parseYaml(printed)).toEqual({outcome: 'refused', alias: 'alias/app'})
  })

  it('prints nothing with off, query or not', () => {
    expect(formatReport(report, 'off', undefined, NO_COLOUR)).toBe('')
    expect(formatReport(report, 'off', compileQuery('outcome'), NO_COLOUR)).toBe('')
  })
})

describe('renderValue prints any query result', () => {
  it.each([
    ['a string', 'rotated', '"rotated"\n'],
    ['null', null, 'null\n'],
    ['a list', ['a', 'b'], '[\n    "a",\n    "b"\n]\n'],
  ])('as JSON: %s', (_, value, expected) => {
    expect(renderValue(value as Json, 'json')).toBe(expected)
  })

  it.each([
    ['a string', 'rotated', 'rotated\n'],
    ['null, spelled as Python spells it', null, 'None\n'],
    ['a list of strings, on one tab-separated line', ['a', 'b'], 'a\tb\n'],
    ['an object, its scalars in key order', {b: 2, a: true}, 'True\t2\n'],
    ['an empty list, as nothing', [], ''],
  ])('as text: %s', (_, value, expected) => {
    expect(renderValue(value as Json, 'text')).toBe(expected)
  })

  it('as yaml-stream: one item of a sequence', () => {
    expect(renderValue({outcome: 'rotated'}, 'yaml-stream')).toBe('- outcome: rotated\n')
  })

  it('as a table: a header of scalar keys, a row per list element, a titled section per nested value', () => {
    // given a result with a scalar, a list of objects and a nested object
    const value: Json = {
      alias: 'alias/app',
      checks: [
        {id: 'alias-exists', status: 'pass'},
        {id: 'target-enabled', status: 'fail'},
      ],
      to: {keyId: 'k2', keyState: 'Enabled'},
    }
    // when it is printed as a table
    const lines = renderValue(value, 'table').trimEnd().split('\n')
    // then each section has its rows, and nested values are titled with their key
    expect(lines).toContainEqual(expect.stringMatching(/^\| alias +\| alias\/app +\|$/))
    expect(lines).toContainEqual(expect.stringMatching(/^\| +checks +\|$/))
    expect(lines).toContainEqual(expect.stringMatching(/^\| id +\| status +\|$/))
    expect(lines).toContainEqual(expect.stringMatching(/^\| target-enabled +\| fail +\|$/))
    expect(lines).toContainEqual(expect.stringMatching(/^\| +to +\|$/))
    expect(lines).toContainEqual(expect.stringMatching(/^\| k2 +\| Enabled +\|$/))
    expect(lines.every((line) => /^[+|]/.test(line))).toBe(true)
  })

  it.each([
    ['null', null],
    ['an empty list', []],
    ['an empty object', {}],
  ])('as a table: nothing for %s', (_, value) => {
    expect(renderValue(value as Json, 'table')).toBe('')
  })

  it('as nothing with off', () => {
    expect(renderValue({outcome: 'rotated'}, 'off')).toBe('')
  })
})
