import {readFileSync} from 'node:fs'

import {Ajv2020} from 'ajv/dist/2020.js'
import {describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {CHECK_IDS} from '../../src/lib/checks.js'
import {inputSkeletonJson, inputSkeletonYaml, placeholderReport} from '../../src/lib/skeleton.js'

const schemaFile = new URL('../../schema/report.schema.json', import.meta.url)
const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as object
const validate = new Ajv2020({allErrors: true, strict: true}).compile(schema)

describe('the input skeletons', () => {
  it('prints the JSON skeleton byte for byte as the AWS CLI prints it', () => {
    expect(inputSkeletonJson()).toBe('{\n    "AliasName": "",\n    "TargetKeyId": ""\n}\n')
  })

  it('prints the YAML skeleton with each member empty and marked required in a comment', () => {
    // when
    const lines = inputSkeletonYaml().trimEnd().split('\n')
    // then
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^AliasName: '' # \[REQUIRED\] \S/)
    expect(lines[1]).toMatch(/^TargetKeyId: '' # \[REQUIRED\] \S/)
    expect(parseYaml(inputSkeletonYaml())).toEqual({AliasName: '', TargetKeyId: ''})
  })
})

describe('placeholderReport', () => {
  it('has the shape that the report schema describes', () => {
    const report = placeholderReport('alias/app')
    const valid = validate(JSON.parse(JSON.stringify(report)))
    expect(validate.errors ?? []).toEqual([])
    expect(valid).toBe(true)
  })

  it('names the alias given and lists every check', () => {
    const report = placeholderReport('alias/app')
    expect(report.alias).toBe('alias/app')
    expect(report.checks.map((check) => check.id)).toEqual(CHECK_IDS)
  })
})
