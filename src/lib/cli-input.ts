import {readFile} from 'node:fs/promises'
import {homedir} from 'node:os'

import type {parseDocument as ParseYamlDocument} from 'yaml'

import {shown, UsageError} from './errors.js'
import {parseTargetKeyId, validateAliasName, type TargetKeyReference} from './identifiers.js'

/** The UpdateAlias request members an input document may set, each with the flag that sets it too. */
export const INPUT_MEMBERS = {AliasName: '--alias-name', TargetKeyId: '--target-key-id'} as const
type InputMember = keyof typeof INPUT_MEMBERS
const MEMBER_NAMES = Object.keys(INPUT_MEMBERS) as InputMember[]

/** What the command line and an input document say about the request; either value may be missing. */
export interface OperationInput {
  aliasName?: string
  targetKeyId?: string
  /** Where a value came from when it was not its flag, for error messages. */
  sources?: {aliasName?: string; targetKeyId?: string}
}

/** The request once every value is there and valid. */
export interface CheckedInput {
  aliasName: string
  target: TargetKeyReference
}

/** The options that carry an input document; the AWS CLI accepts at most one of them. */
export interface InputDocumentOptions {
  'cli-input-json'?: string
  'cli-input-yaml'?: string
}

const SKELETON_FLAG = '--generate-cli-skeleton'

/** `--yes=true` and the like: a switch given a value is refused by name, before parsing. */
export function rejectSwitchValues(argv: readonly string[], switches: ReadonlySet<string>): void {
  for (const token of argv) {
    if (token === '--') return
    const match = /^--((?:no-)?([a-z][\w-]*))=(.*)$/s.exec(token)
    if (match && (switches.has(match[1]) || switches.has(match[2]))) {
      throw new UsageError(`--${match[1]} takes no value, but was given ${shown(match[3])}: leave out the '='.`)
    }
  }
}

/**
 * The AWS CLI takes the last of a repeated option, so that a runbook can append one to override
 * an earlier one; the flag parser refuses any repeat. Earlier occurrences of `valueFlags` (flag
 * names that take a value) are left out before parsing; booleans may repeat as they are.
 */
export function withLastValues(argv: readonly string[], valueFlags: ReadonlySet<string>): string[] {
  const occurrences = new Map<string, number[]>()
  const tokenCount = new Map<number, number>()
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === '--') break
    const match = /^--([a-z][\w-]*)(=.*)?$/.exec(argv[index])
    if (!match || !valueFlags.has(match[1])) continue
    const count = match[2] === undefined && index + 1 < argv.length ? 2 : 1
    occurrences.set(match[1], [...(occurrences.get(match[1]) ?? []), index])
    tokenCount.set(index, count)
    index += count - 1
  }

  const dropped = new Set<number>()
  for (const starts of occurrences.values()) {
    for (const start of starts.slice(0, -1)) {
      for (let offset = 0; offset < (tokenCount.get(start) ?? 1); offset++) dropped.add(start + offset)
    }
  }

  return argv.filter((_, index) => !dropped.has(index))
}

/**
 * `--generate-cli-skeleton` with no value means `input`, as in the AWS CLI. The flag parser only
 * knows options with a value, so the value is written in before parsing.
 */
export function withSkeletonValue(argv: readonly string[]): string[] {
  const normalised: string[] = []
  for (const [index, token] of argv.entries()) {
    normalised.push(token)
    const next = argv[index + 1]
    if (token === SKELETON_FLAG && (next === undefined || next.startsWith('-'))) normalised.push('input')
  }

  return normalised
}

const FILE_PREFIXES = ['file://', 'fileb://']

function describeReadFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return 'no such file'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EISDIR') return 'it is a directory'
  return (error as Error).message.split('\n')[0]
}

/** The document itself: the option's value, or the file that a file:// value names. */
async function documentText(option: string, value: string): Promise<{text: string; label: string}> {
  const prefix = FILE_PREFIXES.find((candidate) => value.startsWith(candidate))
  if (prefix === undefined) return {text: value, label: option}

  const given = value.slice(prefix.length)
  const path = given === '~' || given.startsWith('~/') ? homedir() + given.slice(1) : given
  const label = `${option} ${shown(value)}`
  if (path === '') throw new UsageError(`${label} names no file: write file://PATH.`)
  try {
    return {text: await readFile(path, 'utf8'), label}
  } catch (error) {
    throw new UsageError(`${label} cannot be read (${describeReadFailure(error)}): check the path.`)
  }
}

type DocumentFormat = 'JSON' | 'YAML'

/**
 * YAML text as plain data. The library's warnings (an unknown tag, a key that is a collection)
 * would otherwise reach stderr as Node warnings; here they are usage errors like its errors.
 */
function parseYaml(text: string, parseYamlDocument: typeof ParseYamlDocument): unknown {
  const document = parseYamlDocument(text, {logLevel: 'silent'})
  const [problem] = [...document.errors, ...document.warnings]
  if (problem) throw problem
  return document.toJS({maxAliasCount: 100})
}

/** The yaml module; from the bundle, a CommonJS module comes as the default export alone. */
export async function loadYaml(): Promise<typeof import('yaml')> {
  const module = await import('yaml')
  return 'parseDocument' in module ? module : (module as {default: typeof module}).default
}

function parseDocument(
  text: string,
  format: DocumentFormat,
  label: string,
  parseYamlDocument: typeof ParseYamlDocument | undefined,
): unknown {
  // A byte order mark, as some Windows editors save files, is not part of the document.
  const body = text.replace(/^\uFEFF/, '')
  try {
    return format === 'JSON' ? JSON.parse(body) : parseYaml(body, parseYamlDocument as typeof ParseYamlDocument)
  } catch (error) {
    // The YAML parser adds a picture of the line under its first line; the first line says it all.
    const reason = (error as Error).message.split('\n')[0].replace(/:$/, '')
    throw new UsageError(`${label} is not valid ${format} (${reason}): ${example(format)}.`)
  }
}

function example(format: DocumentFormat): string {
  return format === 'JSON'
    ? 'write an object such as {"AliasName": "alias/my-app", "TargetKeyId": "KEY-ID"}'
    : "write a mapping such as 'AliasName: alias/my-app' and 'TargetKeyId: KEY-ID' on two lines"
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return `a ${typeof value}`
}

/** A near miss such as aliasName or target-key-id, matched without case, dashes or underscores. */
function memberNamed(key: string): InputMember | undefined {
  const bare = (name: string) => name.replaceAll(/[-_]/g, '').toLowerCase()
  return MEMBER_NAMES.find((member) => bare(member) === bare(key))
}

type Members = Partial<Record<InputMember, string>>

function membersOf(document: unknown, format: DocumentFormat, label: string): Members {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    const wanted = format === 'JSON' ? 'an object' : 'a mapping'
    throw new UsageError(`${label} is ${describeValue(document)}, not ${wanted}: ${example(format)}.`)
  }

  const members: Members = {}
  for (const [key, value] of Object.entries(document)) {
    if (!(MEMBER_NAMES as string[]).includes(key)) {
      const nearMiss = memberNamed(key)
      const hint = nearMiss ? `did you mean ${shown(nearMiss)}?` : `the keys are ${MEMBER_NAMES.join(' and ')}.`
      throw new UsageError(`${label} has an unknown parameter ${shown(key)}: ${hint}`)
    }

    if (typeof value !== 'string') {
      throw new UsageError(`${label} gives ${key} as ${describeValue(value)}: it must be a string.`)
    }

    members[key as InputMember] = value
  }

  return members
}

/**
 * The request members from `--cli-input-json` or `--cli-input-yaml`, each a document or
 * file://PATH; nothing when neither was given.
 */
export async function readInputDocument(
  options: InputDocumentOptions,
): Promise<{members: Members; option: string} | undefined> {
  const json = options['cli-input-json']
  const yaml = options['cli-input-yaml']
  if (json !== undefined && yaml !== undefined) {
    throw new UsageError('--cli-input-json and --cli-input-yaml cannot be used together: give one of them.')
  }

  if (json === undefined && yaml === undefined) return undefined
  const [option, format, value]: [string, DocumentFormat, string] =
    json === undefined ? ['--cli-input-yaml', 'YAML', yaml as string] : ['--cli-input-json', 'JSON', json]
  const {text, label} = await documentText(option, value)
  // The YAML parser is loaded only for YAML input: it is large, and most runs have none.
  const parseYamlDocument = format === 'YAML' ? (await loadYaml()).parseDocument : undefined
  return {members: membersOf(parseDocument(text, format, label, parseYamlDocument), format, label), option}
}

/**
 * The flags merged with the input document. A flag given on the command line wins over the
 * document, even when it is empty, as in the AWS CLI.
 */
export async function operationInput(
  flags: InputDocumentOptions & {'alias-name'?: string; 'target-key-id'?: string},
): Promise<OperationInput> {
  const document = await readInputDocument(flags)
  const input: OperationInput = {aliasName: flags['alias-name'], targetKeyId: flags['target-key-id']}
  if (!document) return input

  for (const [member, field] of [['AliasName', 'aliasName'], ['TargetKeyId', 'targetKeyId']] as const) {
    const value = document.members[member]
    if (input[field] === undefined && value !== undefined) {
      input[field] = value
      input.sources = {...input.sources, [field]: `${document.option} ${member}`}
    }
  }

  return input
}

/** Throws one usage line naming every missing value, then checks each value's form. */
export function checkOperationInput(input: OperationInput): CheckedInput {
  const missing = ([['aliasName', 'AliasName'], ['targetKeyId', 'TargetKeyId']] as const).filter(
    ([field]) => input[field] === undefined,
  )
  if (missing.length > 0) {
    const flags = missing.map(([, member]) => INPUT_MEMBERS[member]).join(', ')
    const members = missing.map(([, member]) => member).join(' and ')
    throw new UsageError(
      `The following arguments are required: ${flags} (or ${members} in --cli-input-json or ` +
        "--cli-input-yaml). See 'kms-rotate update-alias --help'.",
    )
  }

  const aliasName = input.aliasName as string
  validateAliasName(aliasName, input.sources?.aliasName)
  return {aliasName, target: parseTargetKeyId(input.targetKeyId as string, input.sources?.targetKeyId)}
}
