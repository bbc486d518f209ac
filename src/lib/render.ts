import {Chalk, type ChalkInstance} from 'chalk'
import type Table from 'cli-table3'
import type {stringify as YamlStringify} from 'yaml'

import type {CheckResult, CheckStatus} from './checks.js'
import {ConfigurationError, shown} from './errors.js'
import {OUTCOMES} from './outcomes.js'
import type {KeySummary, RotationReport} from './report.js'

import {OUTPUT_FORMATS, type ColorMode, type OutputFormat} from './formats.js'

export {COLOR_MODES, OUTPUT_FORMATS, type ColorMode, type OutputFormat} from './formats.js'

/** The AWS CLI's default output format, when it names one of ours; empty counts as unset. */
export function outputFormatFromEnvironment(env: NodeJS.ProcessEnv = process.env): OutputFormat | undefined {
  const value = env.AWS_DEFAULT_OUTPUT
  if (value === undefined || value === '') return undefined
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) {
    throw new ConfigurationError(
      `AWS_DEFAULT_OUTPUT ${shown(value)} is not one of ${OUTPUT_FORMATS.join(', ')}: pass --output or change the variable.`,
    )
  }

  return value as OutputFormat
}

/**
 * `--color`: `auto` colours only on a terminal, and not when NO_COLOR is set to anything or TERM
 * is dumb; `on` colours even into a pipe and beats NO_COLOR, since a flag on the command line is
 * the more specific wish; `off` never colours.
 */
export function colourFor(
  stream: NodeJS.WriteStream,
  env: NodeJS.ProcessEnv = process.env,
  mode: ColorMode = 'auto',
): ChalkInstance {
  const wanted =
    mode === 'on' || (mode === 'auto' && stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb')
  return new Chalk({level: wanted ? 1 : 0})
}

const STATUS_MARKS: Record<CheckStatus, string> = {pass: '✓', fail: '✗', warn: '!', skip: '-'}

function statusColour(colour: ChalkInstance, status: CheckStatus): (text: string) => string {
  switch (status) {
    case 'pass': {
      return colour.green
    }

    case 'fail': {
      return colour.red
    }

    case 'warn': {
      return colour.yellow
    }

    case 'skip': {
      return colour.dim
    }
  }
}

function describeKey(key: KeySummary): string {
  if (key.keyId === null) return 'unknown'
  const traits = [key.keySpec, key.keyUsage, key.keyState].filter((trait) => trait !== null)
  return `${key.keyId} (${traits.join(', ')})`
}

function headerLines(report: RotationReport, colour: ChalkInstance): string[] {
  return [
    `${colour.bold(report.alias)} in ${report.region}${report.dryRun ? colour.dim(' (dry run)') : ''}`,
    `  from  ${describeKey(report.from)}`,
    `  to    ${describeKey(report.to)}`,
  ]
}

function checkLine(check: CheckResult, idWidth: number, colour: ChalkInstance): string {
  const mark = statusColour(colour, check.status)(STATUS_MARKS[check.status])
  return `  ${mark} ${check.id.padEnd(idWidth)}  ${check.message}`
}

/** The report for a person: alias, from and to, each check with a mark, the outcome. */
export function renderHuman(report: RotationReport, colour: ChalkInstance): string {
  const idWidth = Math.max(...report.checks.map((check) => check.id.length), 0)
  const succeeded = OUTCOMES[report.outcome].exitCode === 0
  const outcome = succeeded ? colour.green.bold(report.outcome) : colour.red.bold(report.outcome)
  const lines = [
    ...headerLines(report, colour),
    '',
    ...report.checks.map((check) => checkLine(check, idWidth, colour)),
    '',
    `${outcome}  ${report.summary}`,
  ]
  return lines.join('\n') + '\n'
}

/** What is shown before the confirmation prompt: the move, and every warning in full. */
export function renderPlan(report: RotationReport, colour: ChalkInstance): string {
  const warnings = report.checks.filter((check) => check.status === 'warn')
  const passed = report.checks.filter((check) => check.status === 'pass').length
  const skipped = report.checks.filter((check) => check.status === 'skip').length
  const idWidth = Math.max(...warnings.map((check) => check.id.length), 0)
  const lines = [
    ...headerLines(report, colour),
    `  ${passed} of ${report.checks.length} checks passed, ${warnings.length} warned, ${skipped} skipped`,
    ...warnings.map((check) => checkLine(check, idWidth, colour)),
  ]
  return lines.join('\n') + '\n'
}

export type Json = null | boolean | number | string | Json[] | {[key: string]: Json}

function isScalar(value: Json): value is null | boolean | number | string {
  return value === null || typeof value !== 'object'
}

/** Scalars print as the AWS CLI prints them from Python. */
function scalarText(value: Json): string {
  if (value === null) return 'None'
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  return String(value)
}

/**
 * The AWS CLI's `text` format: each object's scalars on one tab-separated line, led by the
 * upper-cased name of the key that holds it; nested objects and lists follow on lines of their own.
 */
function textLines(value: Json, identifier: string | undefined, columns?: string[]): string[] {
  if (isScalar(value)) return [scalarText(value)]

  if (Array.isArray(value)) {
    if (value.length === 0) return []
    if (value.some((element) => !isScalar(element) && !Array.isArray(element))) {
      const keys = new Set<string>()
      for (const element of value) {
        if (isScalar(element) || Array.isArray(element)) continue
        for (const [key, field] of Object.entries(element)) if (isScalar(field)) keys.add(key)
      }

      return value.flatMap((element) => textLines(element, identifier, [...keys].sort()))
    }

    const scalars = value.filter((element) => isScalar(element))
    const nested = value.filter((element) => !isScalar(element))
    const scalarLines =
      scalars.length === 0
        ? []
        : identifier === undefined
          ? [scalars.map((element) => scalarText(element)).join('\t')]
          : scalars.map((element) => `${identifier.toUpperCase()}\t${scalarText(element)}`)
    return [...scalarLines, ...nested.flatMap((element) => textLines(element, identifier))]
  }

  const keys = columns ?? Object.keys(value).filter((key) => isScalar(value[key])).sort()
  // A column another element has is blank here; a null of this element prints as None.
  const scalarFields = keys.map((key) => scalarText(value[key] === undefined ? '' : value[key]))
  const nestedKeys = Object.keys(value)
    .filter((key) => !keys.includes(key))
    .sort()
  const lines: string[] = []
  if (scalarFields.length > 0) {
    lines.push([...(identifier === undefined ? [] : [identifier.toUpperCase()]), ...scalarFields].join('\t'))
  }

  for (const key of nestedKeys) lines.push(...textLines(value[key], key))
  return lines
}

/**
 * The libraries of the yaml and table formats: together a third of a megabyte to compile, and
 * most runs print in neither. resolveOutputFormat loads them when its format needs them.
 */
const formatLibraries: {toYaml?: typeof YamlStringify; Table?: typeof Table} = {}

/** Loads what rendering in `format` needs; call it before renderValue or renderMachine. */
export async function loadFormatLibraries(format: OutputFormat | undefined): Promise<void> {
  const needed = format === 'yaml' || format === 'yaml-stream' || format === 'table'
  if (needed && formatLibraries.toYaml === undefined) Object.assign(formatLibraries, await import('./format-libraries.js'))
}

function loaded<T>(library: T | undefined, format: OutputFormat): T {
  if (library === undefined) throw new Error(`the ${format} format was rendered before loadFormatLibraries loaded it`)
  return library
}

function toYaml(value: unknown, format: OutputFormat): string {
  return loaded(formatLibraries.toYaml, format)(value)
}

function asciiTable(head?: string[]): Table.Table {
  const TableOfCells = loaded(formatLibraries.Table, 'table')
  return new TableOfCells({
    ...(head ? {head} : {}),
    chars: {
      top: '-', 'top-mid': '+', 'top-left': '+', 'top-right': '+',
      bottom: '-', 'bottom-mid': '+', 'bottom-left': '+', 'bottom-right': '+',
      // No rule between rows, as in the AWS CLI's tables.
      left: '|', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '|', 'right-mid': '', middle: '|',
    },
    style: {head: [], border: []},
  })
}

/** A cell as the AWS CLI's table prints it: Python's spelling of booleans, nothing for null. */
function tableCell(value: string | number | boolean | null): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  return value === null ? '' : String(value)
}

function renderTable(report: RotationReport): string {
  const summary = asciiTable()
  const fields = ['alias', 'region', 'outcome', 'dryRun', 'updateSent', 'updateAccepted', 'updateError'] as const
  for (const key of [...fields, 'elapsedMs', 'summary'] as const) summary.push({[key]: tableCell(report[key])})

  const keys = asciiTable(['', 'keyId', 'arn', 'keySpec', 'keyUsage', 'keyState', 'keyManager'])
  for (const side of ['from', 'to'] as const) {
    const key = report[side]
    keys.push([side, key.keyId, key.arn, key.keySpec, key.keyUsage, key.keyState, key.keyManager].map(tableCell))
  }

  const checks = asciiTable(['check', 'status', 'message'])
  for (const check of report.checks) checks.push([check.id, check.status, check.message])

  const tables = [summary, keys, checks]
  if (report.verification) {
    const {polls, pagesRead, waitedMs, lastSeenTarget, error} = report.verification
    const verification = asciiTable(['polls', 'pagesRead', 'waitedMs', 'lastSeenTarget', 'error'])
    verification.push([polls, pagesRead, waitedMs, lastSeenTarget, error].map(tableCell))
    tables.push(verification)
  }

  const calls = asciiTable(['operation', 'calls', 'retries'])
  for (const [operation, count] of Object.entries(report.apiCalls)) {
    calls.push([operation, String(count), String(report.apiRetries[operation] ?? 0)])
  }

  tables.push(calls)
  return tables.map((table) => table.toString()).join('\n') + '\n'
}

interface TableSection {
  title?: string
  head?: string[]
  rows: string[][]
}

function isRecord(value: Json): value is {[key: string]: Json} {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * Any value as the AWS CLI's table format lays it out: an object's scalars as a header and one
 * row, a list of objects as a header and a row per element, and each nested value as a section
 * of its own, titled with its key. Nothing at all for null and for empty objects and lists.
 */
function tableSections(value: Json, title: string | undefined, sections: TableSection[]): TableSection[] {
  if (value === null) return sections
  if (isScalar(value)) {
    sections.push({title, rows: [[scalarText(value)]]})
    return sections
  }

  type JsonObject = {[key: string]: Json}
  const scalarKeys = (object: JsonObject) => Object.keys(object).filter((key) => isScalar(object[key]))
  const nestedKeys = (object: JsonObject) => Object.keys(object).filter((key) => !isScalar(object[key]))
  if (Array.isArray(value)) {
    if (value.length === 0) return sections
    if (value.every((element) => isRecord(element))) {
      const head = [...new Set(value.flatMap((element) => scalarKeys(element)))].sort()
      const rows = value.map((element) => head.map((key) => (key in element ? scalarText(element[key]) : '')))
      if (head.length > 0) sections.push({title, head, rows})
      for (const element of value) {
        for (const key of nestedKeys(element).sort()) tableSections(element[key], key, sections)
      }

      return sections
    }

    // Scalars, and lists of scalars, are rows of one section; anything else is a section of its own.
    const asRow = (element: Json): string[] | undefined => {
      const cells = Array.isArray(element) ? element : [element]
      return cells.every((cell) => isScalar(cell)) ? cells.map((cell) => scalarText(cell)) : undefined
    }

    const flat = value.filter((element) => asRow(element) !== undefined)
    if (flat.length > 0) sections.push({title, rows: flat.map((element) => asRow(element) as string[])})

    for (const element of value) if (!flat.includes(element)) tableSections(element, title, sections)
    return sections
  }

  const head = scalarKeys(value).sort()
  if (head.length === 1) sections.push({title, rows: [[head[0], scalarText(value[head[0]])]]})
  if (head.length > 1) sections.push({title, head, rows: [head.map((key) => scalarText(value[key]))]})
  for (const key of nestedKeys(value).sort()) tableSections(value[key], key, sections)
  return sections
}

function renderSection({title, head, rows}: TableSection): string {
  const width = Math.max(head?.length ?? 0, ...rows.map((row) => row.length))
  const table = asciiTable(head)
  for (const row of rows) table.push([...row, ...Array.from({length: width - row.length}, () => '')])
  const body = table.toString()
  if (title === undefined) return body
  const inner = (body.split('\n')[0] ?? '').length - 2
  const left = Math.max(Math.floor((inner - title.length) / 2), 1)
  const centred = ' '.repeat(left) + title + ' '.repeat(Math.max(inner - left - title.length, 1))
  return [`+${'-'.repeat(centred.length)}+`, `|${centred}|`, body].join('\n')
}

/**
 * The machine format a run prints in; undefined means the human report. The AWS CLI has no human
 * format, so a --query result is printed as JSON unless a format is named.
 */
export function machineFormat(format: OutputFormat | undefined, query: object | undefined): OutputFormat | undefined {
  return format ?? (query ? 'json' : undefined)
}

/**
 * What stdout gets at the end of a run of any command: its human report, or the report (or the
 * --query result) in a machine format. JMESPath takes any JSON, whatever report it was checked on.
 */
export function formatRunReport<Report>(
  report: Report,
  format: OutputFormat | undefined,
  query: {apply: (report: never) => unknown} | undefined,
  renderHumanReport: (report: Report) => string,
): string {
  const machine = machineFormat(format, query)
  if (machine === undefined) return renderHumanReport(report)
  // With output off nothing is printed, so the query need not be applied.
  if (machine === 'off') return ''
  const value = query ? (query.apply as (report: Report) => unknown)(report) : report
  return renderValue(value as Json, machine)
}

/** Any value, such as the result of --query, in one of the formats of `--output`. */
export function renderValue(value: Json, format: OutputFormat): string {
  switch (format) {
    case 'json': {
      return JSON.stringify(value, null, 4) + '\n'
    }

    case 'yaml': {
      return toYaml(value, format)
    }

    case 'yaml-stream': {
      // The AWS CLI streams each response as an item of one YAML sequence; there is one here.
      return toYaml([value], format)
    }

    case 'text': {
      const lines = textLines(value, undefined)
      return lines.length === 0 ? '' : lines.join('\n') + '\n'
    }

    case 'table': {
      const sections = tableSections(value, undefined, [])
      return sections.length === 0 ? '' : sections.map((section) => renderSection(section)).join('\n') + '\n'
    }

    case 'off': {
      return ''
    }
  }
}

/** The report in one of the machine formats of `--output`. */
export function renderMachine(report: RotationReport, format: OutputFormat): string {
  return format === 'table' ? renderTable(report) : renderValue(report as unknown as Json, format)
}
