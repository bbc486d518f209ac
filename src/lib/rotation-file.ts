import {readFile} from 'node:fs/promises'
import {extname} from 'node:path'

import {loadYaml} from './cli-input.js'
import {KmsRotateError, shown, UsageError} from './errors.js'
import {parseTargetKeyId, REGION, validateAliasName, type TargetKeyReference} from './identifiers.js'

/** One entry of a rotation file, checked; `index` counts from 1 in the file's order. */
export interface RotationEntry {
  index: number
  alias: string
  target: TargetKeyReference
  region?: string
  profile?: string
  expectedCurrentKey?: TargetKeyReference
}

/** The fields an entry may have, in the order messages and the schema list them. */
export const ENTRY_FIELDS = ['alias', 'target', 'region', 'profile', 'expectedCurrent'] as const

/**
 * The most entries one file may list. Each entry holds its clients' state and full report until the
 * run ends, so a much larger file would exhaust the heap; more entries go in more files.
 */
export const MAX_ROTATION_ENTRIES = 2000

/**
 * The published schema, in the package's schema/: two levels up from src/lib/, dist/lib/ and the
 * bundle in dist/bundle/ alike.
 */
const SCHEMA_URL = new URL('../../schema/rotations.schema.json', import.meta.url)

async function readSchema(): Promise<string> {
  return readFile(SCHEMA_URL, 'utf8')
}

interface SchemaError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

type Validator = ((data: unknown) => boolean) & {errors?: SchemaError[] | null}

let validator: Validator | undefined

/** The schema's validator; ajv and the schema load only when a rotation file is read. */
async function schemaValidator(): Promise<Validator> {
  if (validator) return validator
  const [ajvModule, schemaText] = await Promise.all([import('ajv/dist/2020.js'), readSchema()])
  // ajv's CommonJS build puts the class on .default once more under Node's ESM loader.
  const Ajv = ajvModule.default.default
  validator = new Ajv({allErrors: true, strict: true}).compile(JSON.parse(schemaText)) as Validator
  return validator
}

/** YAML or JSON by the extension, else by the first character: JSON texts start with { or [. */
async function parseDocument(path: string, text: string): Promise<unknown> {
  const extension = extname(path).toLowerCase()
  const json = extension === '.json' || (extension !== '.yaml' && extension !== '.yml' && /^\s*[[{]/.test(text))
  // Nothing at all reads as empty whatever the extension; checkShape says so.
  if (text.trim() === '') return null
  try {
    if (json) return JSON.parse(text)
    const {parse} = await loadYaml()
    // Warnings would go to process.emitWarning, and so to stderr as Node warnings; errors still throw.
    return parse(text, {logLevel: 'error'})
  } catch (error) {
    // The YAML parser ends its first line with a colon before a code frame; keep the line only.
    const reason = (error as Error).message.split('\n')[0].replace(/[\s.:]+$/, '')
    throw new UsageError(
      `The rotation file ${shown(path)} is not valid ${json ? 'JSON' : 'YAML'}: ${reason}. Fix it and run again.`,
    )
  }
}

/** Text that no YAML or JSON file holds: NUL bytes, or bytes that are not UTF-8. */
const BINARY = /[\u0000\uFFFD]/

/** A file that is empty, binary or a lone value says so, rather than how the schema sees it. */
function checkShape(path: string, document: unknown): void {
  const file = `The rotation file ${shown(path)}`
  if (document === null || document === undefined) {
    throw new UsageError(`${file} is empty: list the aliases to move under rotations, as the README shows.`)
  }

  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new UsageError(
      `${file} is not a YAML or JSON mapping: it must hold a rotations list, as the README shows.`,
    )
  }

  const {rotations} = document as {rotations?: unknown}
  if (Array.isArray(rotations) && rotations.length > MAX_ROTATION_ENTRIES) {
    throw new UsageError(
      `${file} lists ${rotations.length} entries, more than the limit of ${MAX_ROTATION_ENTRIES} per file: ` +
        `split it into files of at most ${MAX_ROTATION_ENTRIES} entries and run each.`,
    )
  }
}

/**
 * The violation to report: the first in the document's order, and at one place an unknown field
 * before a missing one, since a misspelled field is both.
 */
function firstError(errors: SchemaError[]): SchemaError {
  const at = errors[0].instancePath
  return errors.find((error) => error.instancePath === at && error.keyword === 'additionalProperties') ?? errors[0]
}

/** Where in the file a problem is: the file, and the entry by number and alias when it is in one. */
function place(path: string, document: unknown, entryIndex: number | undefined): string {
  if (entryIndex === undefined) return `The rotation file ${shown(path)}`
  const entries = (document as {rotations?: unknown[]}).rotations ?? []
  const alias = (entries[entryIndex] as {alias?: unknown} | undefined)?.alias
  const named = typeof alias === 'string' ? ` (${shown(alias)})` : ''
  return `${shown(path)}, entry ${entryIndex + 1}${named}`
}

/** The first schema violation as one line naming the file, the entry and the field. */
function schemaMessage(path: string, document: unknown, error: SchemaError): string {
  const [, top, index, field] = error.instancePath.split('/')
  const entryIndex = top === 'rotations' && index !== undefined ? Number(index) : undefined
  const where = place(path, document, entryIndex)
  const known = `it takes ${entryIndex === undefined ? 'rotations' : ENTRY_FIELDS.join(', ')}`
  switch (error.keyword) {
    case 'additionalProperties': {
      return `${where}: unknown field ${shown(String(error.params.additionalProperty))}: ${known}.`
    }

    case 'required': {
      return `${where}: field ${String(error.params.missingProperty)} is missing: add it.`
    }

    case 'type': {
      const what = field ?? (entryIndex === undefined ? top || 'the document' : 'the entry')
      const label = field ? `field ${what}` : what
      return `${where}: ${label} must be of type ${String(error.params.type)}.`
    }

    case 'minItems': {
      return `${where}: rotations is empty: list at least one entry.`
    }

    default: {
      return `${where}: ${field ? `field ${field} ` : ''}${error.message ?? 'is not valid'}.`
    }
  }
}

/** The entry's values by the same rules as the flags they stand for; the message names the entry. */
function checkEntry(path: string, document: unknown, raw: Record<string, string>, index: number): RotationEntry {
  const field = (check: () => void) => {
    try {
      check()
    } catch (error) {
      if (!(error instanceof KmsRotateError)) throw error
      throw new UsageError(`${place(path, document, index)}: ${error.message}`)
    }
  }

  const entry: RotationEntry = {index: index + 1, alias: raw.alias, target: {given: raw.target}}
  field(() => validateAliasName(raw.alias, 'field alias'))
  field(() => (entry.target = parseTargetKeyId(raw.target, 'field target')))
  if (raw.region !== undefined) {
    field(() => {
      if (!REGION.test(raw.region)) {
        throw new UsageError(`field region ${shown(raw.region)} is not a Region, such as us-east-1.`)
      }
    })
    entry.region = raw.region
  }

  if (raw.profile !== undefined) {
    field(() => {
      if (raw.profile.trim() === '') {
        throw new UsageError('field profile is empty: give a profile name or leave it out.')
      }
    })
    entry.profile = raw.profile
  }

  if (raw.expectedCurrent !== undefined) {
    field(() => {
      entry.expectedCurrentKey = parseTargetKeyId(raw.expectedCurrent, 'field expectedCurrent')
    })
  }

  return entry
}

/**
 * Reads and checks a rotation file: the schema first (unknown fields refused), then each value by
 * the rules of its flag. Anything wrong is one usage error naming the file, entry and field.
 */
export async function readRotationFile(path: string): Promise<RotationEntry[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new UsageError(`The rotation file ${shown(path)} cannot be read (${code}): check the path given to --file.`)
  }

  // Editors on Windows may start a UTF-8 file with a byte-order mark, which neither parser takes.
  if (text.startsWith('\uFEFF')) text = text.slice(1)
  if (BINARY.test(text)) {
    throw new UsageError(
      `The rotation file ${shown(path)} is not YAML or JSON: it holds binary data. Check the path given to --file.`,
    )
  }

  const document = await parseDocument(path, text)
  checkShape(path, document)
  const validate = await schemaValidator()
  if (!validate(document)) {
    throw new UsageError(schemaMessage(path, document, firstError(validate.errors ?? [])))
  }

  const rows = (document as {rotations: Array<Record<string, string>>}).rotations
  return rows.map((row, index) => checkEntry(path, document, row, index))
}

/** An entry once its Region and profile are settled, from the file or the usual resolution. */
export interface PlacedEntry {
  entry: RotationEntry
  region: string
  profile: string | undefined
}

/** Refuses an alias listed twice for the same Region and profile: the second move would race the first. */
export function refuseDuplicates(path: string, placed: PlacedEntry[]): void {
  const seen = new Map<string, RotationEntry>()
  for (const {entry, region, profile} of placed) {
    const key = `${entry.alias}\n${region}\n${profile ?? ''}`
    const first = seen.get(key)
    if (first) {
      const who = profile === undefined ? 'the default profile' : `profile ${profile}`
      throw new UsageError(
        `${shown(path)}, entry ${entry.index} (${shown(entry.alias)}): field alias repeats entry ${first.index} ` +
          `for ${region} and ${who}: list each alias once per Region and profile.`,
      )
    }

    seen.set(key, entry)
  }
}
