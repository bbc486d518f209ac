import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {UsageError} from '../../src/lib/errors.js'
import {EXIT} from '../../src/lib/outcomes.js'
import {MAX_ROTATION_ENTRIES, readRotationFile, refuseDuplicates} from '../../src/lib/rotation-file.js'

const directory = mkdtempSync(join(tmpdir(), 'kms-rotate-rotation-file-'))
const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab'
let files = 0

afterAll(() => rmSync(directory, {recursive: true, force: true}))

function fileWith(text: string, extension = '.yaml'): string {
  const path = join(directory, `rotations-${files++}${extension}`)
  writeFileSync(path, text)
  return path
}

async function refusal(path: string): Promise<UsageError> {
  const error = await readRotationFile(path).then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(UsageError)
  expect((error as UsageError).exitCode).toBe(EXIT.usage)
  expect((error as UsageError).message).not.toContain('\n')
  return error as UsageError
}

describe('readRotationFile', () => {
  it('reads YAML entries with their optional Region, profile and expected current key', async () => {
    // given
    const path = fileWith(
      `rotations:\n  - alias: alias/a\n    target: ${KEY}\n    region: eu-west-1\n    profile: prod\n` +
        `    expectedCurrent: ${KEY}\n  - {alias: alias/b, target: ${KEY}}\n`,
    )
    // when
    const entries = await readRotationFile(path)
    // then
    expect(entries).toEqual([
      {index: 1, alias: 'alias/a', target: {given: KEY}, region: 'eu-west-1', profile: 'prod', expectedCurrentKey: {given: KEY}},
      {index: 2, alias: 'alias/b', target: {given: KEY}},
    ])
  })

  it('reads JSON by its content, whatever the extension', async () => {
    const path = fileWith(JSON.stringify({rotations: [{alias: 'alias/a', target: KEY}]}), '.txt')
    expect(await readRotationFile(path)).toEqual([{index: 1, alias: 'alias/a', target: {given: KEY}}])
  })

  it('refuses an unknown field, naming the file, the entry and the field', async () => {
    const path = fileWith(`rotations:\n  - {alias: alias/a, target: ${KEY}}\n  - {alias: alias/b, target: ${KEY}, colour: red}\n`)
    const error = await refusal(path)
    expect(error.message).toContain(path)
    expect(error.message).toContain("entry 2 ('alias/b')")
    expect(error.message).toContain("unknown field 'colour'")
  })

  it('refuses an entry without a target, naming the entry and the field', async () => {
    const error = await refusal(fileWith('rotations:\n  - {alias: alias/a}\n'))
    expect(error.message).toMatch(/entry 1 \('alias\/a'\): field target is missing/)
  })

  it('refuses a field of the wrong type, naming the entry and the field', async () => {
    const error = await refusal(fileWith(`rotations:\n  - {alias: alias/a, target: ${KEY}, region: 5}\n`))
    expect(error.message).toMatch(/entry 1 \('alias\/a'\): field region must be of type string/)
  })

  it('refuses a malformed alias by the rule of --alias-name, naming the entry and the field', async () => {
    const error = await refusal(fileWith(`rotations:\n  - {alias: app, target: ${KEY}}\n`))
    expect(error.message).toMatch(/entry 1 \('app'\): field alias 'app' must start with 'alias\/'/)
  })

  it('refuses a target that is an alias, naming the entry and the field', async () => {
    const error = await refusal(fileWith('rotations:\n  - {alias: alias/a, target: alias/b}\n'))
    expect(error.message).toMatch(/entry 1 \('alias\/a'\): field target 'alias\/b' is an alias/)
  })

  it('refuses a Region that is not one, naming the entry and the field', async () => {
    const error = await refusal(fileWith(`rotations:\n  - {alias: alias/a, target: ${KEY}, region: moon}\n`))
    expect(error.message).toMatch(/entry 1 \('alias\/a'\): field region 'moon' is not a Region/)
  })

  it('refuses a document without a rotations list, and an empty list', async () => {
    expect((await refusal(fileWith('{}\n'))).message).toMatch(/field rotations is missing/)
    expect((await refusal(fileWith('aliases: []\n'))).message).toMatch(/unknown field 'aliases': it takes rotations/)
    expect((await refusal(fileWith('rotations: []\n'))).message).toMatch(/rotations is empty/)
  })

  it('refuses text that does not parse, saying which format it was read as', async () => {
    expect((await refusal(fileWith('{"rotations": [', '.json'))).message).toMatch(/is not valid JSON/)
    expect((await refusal(fileWith('rotations: [\n', '.yaml'))).message).toMatch(/is not valid YAML/)
  })

  it('reports a misspelled field as unknown rather than the field it stands for as missing', async () => {
    const error = await refusal(fileWith('rotations:\n  - {alias: alias/a, taget: ' + KEY + '}\n'))
    expect(error.message).toMatch(/entry 1 \('alias\/a'\): unknown field 'taget': it takes alias, target, region/)
  })

  it('reads JSON and YAML that start with a UTF-8 byte-order mark', async () => {
    const json = fileWith(`\uFEFF{"rotations": [{"alias": "alias/a", "target": "${KEY}"}]}`, '.json')
    const yaml = fileWith(`\uFEFFrotations:\n  - {alias: alias/b, target: ${KEY}}\n`, '.yaml')
    expect(await readRotationFile(json)).toEqual([{index: 1, alias: 'alias/a', target: {given: KEY}}])
    expect(await readRotationFile(yaml)).toEqual([{index: 1, alias: 'alias/b', target: {given: KEY}}])
  })

  it('says an empty file is empty', async () => {
    expect((await refusal(fileWith(''))).message).toMatch(/is empty: list the aliases to move under rotations/)
    expect((await refusal(fileWith('# nothing yet\n'))).message).toMatch(/is empty/)
    expect((await refusal(fileWith(' \n', '.json'))).message).toMatch(/is empty: list the aliases/)
  })

  it('says a binary file or a lone value is not YAML or JSON', async () => {
    const binary = fileWith(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]).toString('latin1'))
    expect((await refusal(binary)).message).toMatch(/is not YAML or JSON: it holds binary data/)
    expect((await refusal(fileWith('just some words\n'))).message).toMatch(/is not a YAML or JSON mapping/)
  })

  it('ends a YAML parse error with its position and no stray punctuation', async () => {
    const {message} = await refusal(fileWith('rotations: [\n', '.yaml'))
    expect(message).toMatch(/at line \d+, column \d+\. Fix it and run again\.$/)
  })

  it(`refuses a file of more than ${MAX_ROTATION_ENTRIES} entries, naming the count, the limit and the remedy`, async () => {
    const count = MAX_ROTATION_ENTRIES + 1
    const rows = Array.from({length: count}, (_, index) => ({alias: `alias/a${index}`, target: KEY}))
    const path = fileWith(JSON.stringify({rotations: rows}), '.json')
    const {message} = await refusal(path)
    expect(message).toContain(path)
    expect(message).toContain(`lists ${count} entries, more than the limit of ${MAX_ROTATION_ENTRIES} per file`)
    expect(message).toMatch(/split it/)
  })

  it(`reads a file of exactly ${MAX_ROTATION_ENTRIES} entries`, async () => {
    const rows = Array.from({length: MAX_ROTATION_ENTRIES}, (_, index) => ({alias: `alias/a${index}`, target: KEY}))
    expect(await readRotationFile(fileWith(JSON.stringify({rotations: rows}), '.json'))).toHaveLength(MAX_ROTATION_ENTRIES)
  })

  it('refuses a file that cannot be read', async () => {
    expect((await refusal(join(directory, 'missing.yaml'))).message).toMatch(/cannot be read \(ENOENT\)/)
  })
})

describe('refuseDuplicates', () => {
  const entry = (index: number, alias: string) => ({index, alias, target: {given: KEY}})

  it('refuses the same alias twice in one Region and profile, naming both entries', () => {
    const placed = [
      {entry: entry(1, 'alias/a'), region: 'us-east-1', profile: undefined},
      {entry: entry(2, 'alias/a'), region: 'us-east-1', profile: undefined},
    ]
    expect(() => refuseDuplicates('r.yaml', placed)).toThrow(/entry 2 \('alias\/a'\): field alias repeats entry 1/)
  })

  it('accepts the same alias in two Regions or under two profiles', () => {
    const placed = [
      {entry: entry(1, 'alias/a'), region: 'us-east-1', profile: undefined},
      {entry: entry(2, 'alias/a'), region: 'us-west-2', profile: undefined},
      {entry: entry(3, 'alias/a'), region: 'us-east-1', profile: 'other'},
    ]
    expect(() => refuseDuplicates('r.yaml', placed)).not.toThrow()
  })
})

describe('the entry limit', () => {
  it('is the one the README gives', async () => {
    const {readFile} = await import('node:fs/promises')
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
    expect(readme).toContain(`at most ${MAX_ROTATION_ENTRIES.toLocaleString('en-US')} entries`)
  })
})
