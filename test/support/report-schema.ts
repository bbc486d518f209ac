/** The JSON report, parsed and checked against schema/report.schema.json. */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import Ajv2020 from 'ajv/dist/2020.js'

import type {RotationReport} from '../../src/lib/report.js'
import {REPO_ROOT} from './moto.js'

const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'schema', 'report.schema.json'), 'utf8')) as object
const validate = new Ajv2020.default({allErrors: true, strict: true}).compile(schema)

/** Throws, naming every violation, unless `stdout` is exactly one report that the schema accepts. */
export function parseJsonReport(stdout: string): RotationReport {
  const report: unknown = JSON.parse(stdout)
  if (!validate(report)) {
    throw new Error(`the report does not match the schema: ${JSON.stringify(validate.errors, null, 2)}`)
  }

  return report as RotationReport
}
