/** The JSON report, parsed and checked against schema/report.schema.json. */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import Ajv2020 from 'ajv/dist/2020.js'

import type {AuditReport} from '../../src/lib/audit.js'
import type {FleetReport} from '../../src/lib/fleet.js'
import type {MultiRegionReport} from '../../src/lib/multi-region.js'
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

const multiRegionSchema = JSON.parse(
  readFileSync(join(REPO_ROOT, 'schema', 'multi-region-report.schema.json'), 'utf8'),
) as object
const validateMultiRegion = new Ajv2020.default({allErrors: true, strict: true})
  .addSchema(schema)
  .compile(multiRegionSchema)

/** Throws, naming every violation, unless `stdout` is one --regions report that its schema accepts. */
export function parseMultiRegionReport(stdout: string): MultiRegionReport {
  const report: unknown = JSON.parse(stdout)
  if (!validateMultiRegion(report)) {
    throw new Error(`the report does not match the schema: ${JSON.stringify(validateMultiRegion.errors, null, 2)}`)
  }

  return report as MultiRegionReport
}

const auditSchema = JSON.parse(readFileSync(join(REPO_ROOT, 'schema', 'audit-report.schema.json'), 'utf8')) as object
const validateAudit = new Ajv2020.default({allErrors: true, strict: true}).compile(auditSchema)

/** Throws, naming every violation, unless `stdout` is one audit report that its schema accepts. */
export function parseAuditReport(stdout: string): AuditReport {
  const report: unknown = JSON.parse(stdout)
  if (!validateAudit(report)) {
    throw new Error(`the report does not match the schema: ${JSON.stringify(validateAudit.errors, null, 2)}`)
  }

  return report as AuditReport
}

const fleetSchema = JSON.parse(readFileSync(join(REPO_ROOT, 'schema', 'fleet-report.schema.json'), 'utf8')) as object
const validateFleet = new Ajv2020.default({allErrors: true, strict: true})
  .addSchema(schema)
  .compile(fleetSchema)

/** Throws, naming every violation, unless `stdout` is one plan or apply report that its schema accepts. */
export function parseFleetReport(stdout: string): FleetReport {
  const report: unknown = JSON.parse(stdout)
  if (!validateFleet(report)) {
    throw new Error(`the report does not match the schema: ${JSON.stringify(validateFleet.errors, null, 2)}`)
  }

  return report as FleetReport
}
