import {mkdir, open, readFile, stat, type FileHandle} from 'node:fs/promises'
import {dirname, isAbsolute, join, resolve} from 'node:path'

import type {CheckStatus} from './checks.js'
import {ConfigurationError, shown, UsageError} from './errors.js'
import {homeDirectory} from './home.js'
import {OUTCOMES, type Outcome} from './outcomes.js'
import type {RotationReport} from './report.js'

/** Who made the calls, per STS GetCallerIdentity; all null, with the reason, when it could not be asked. */
export interface CallerIdentity {
  arn: string | null
  account: string | null
  userId: string | null
  error: string | null
}

/** One line of the journal: one run of update-alias or rollback, or one entry of apply. No credential ever goes in it. */
export interface JournalEntry {
  /** ISO 8601, UTC, when the line was written. */
  time: string
  command: 'update-alias' | 'rollback' | 'apply'
  kmsRotateVersion: string
  identity: CallerIdentity
  /** The identity's account, else the account in the alias's key ARN. */
  account: string | null
  region: string
  alias: string | null
  from: {keyId: string | null; arn: string | null}
  to: {keyId: string | null; arn: string | null}
  dryRun: boolean
  checks: Array<{id: string; status: CheckStatus}>
  /** null when the run ended with an error instead of a report; `error` then says which. */
  outcome: Outcome | null
  exitCode: number
  error: string | null
  /** The request id of each API call KMS answered, by operation, in the order they were made. */
  requestIds: Record<string, string[]>
  /** For a rollback: the journal line (1-based) of the rotation it undoes. */
  rollbackOf: number | null
  /** For apply: the run (one id per invocation), its rotation file, and the entry's number in it. */
  run?: {id: string; file: string; entry: number}
}

export const JOURNAL_VARIABLE = 'KMS_ROTATE_JOURNAL'

/**
 * Where the journal is: --journal, else KMS_ROTATE_JOURNAL, else under XDG_STATE_HOME (which the
 * XDG spec lets count only when absolute), else ~/.local/state; with no absolute home directory
 * to find that in, the run stops before any request rather than journal under the working one.
 */
export function journalPath(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  home: string | null = homeDirectory(),
): {path: string; source: string} {
  if (flag === '') throw new UsageError('--journal is empty: give a file path or leave the flag out.')
  if (flag !== undefined) return {path: resolve(flag), source: '--journal'}
  const variable = env[JOURNAL_VARIABLE]
  if (variable !== undefined && variable !== '') return {path: resolve(variable), source: JOURNAL_VARIABLE}
  const stateHome = env.XDG_STATE_HOME
  if (stateHome && isAbsolute(stateHome)) {
    return {path: join(stateHome, 'kms-rotate', 'journal.jsonl'), source: 'XDG_STATE_HOME'}
  }

  if (home === null) {
    throw new ConfigurationError(
      `The journal has no default location: HOME is ${shown(env.HOME ?? '')}, not an absolute ` +
        'path, and the account has no home directory. Set HOME, or give --journal PATH.',
    )
  }

  return {path: join(home, '.local', 'state', 'kms-rotate', 'journal.jsonl'), source: 'the default location'}
}

function reasonOf(error: unknown): string {
  const {code, message} = error as NodeJS.ErrnoException
  if (code === 'EISDIR') return 'it is a directory'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  // mkdir answers EEXIST when a part of the path is a file.
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a part of the path is not a directory'
  if (code === 'EROFS') return 'the file system is read-only'
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'no space left on the device'
  if (code === 'ENOENT') return 'a part of the path does not exist'
  return code ?? message
}

/** A journal opened for appending; only `append` writes to it, once per run. */
/**
 * mkdir -p, one directory at a time. Node's recursive mkdir never settles for a path under
 * /proc, so a journal named there would hang the run instead of failing it.
 */
async function makeDirectories(directory: string): Promise<void> {
  try {
    await mkdir(directory, {mode: 0o700})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    if (code !== 'ENOENT' || dirname(directory) === directory) throw error
    await makeDirectories(dirname(directory))
    await mkdir(directory, {mode: 0o700})
  }
}

export class Journal {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /**
   * Creates the directory (0700) and the file (0600) if missing and opens it with O_APPEND, so
   * that a run that could not record itself fails before it changes anything.
   */
  static async open({path, source}: {path: string; source: string}): Promise<Journal> {
    try {
      await makeDirectories(dirname(path))
      // a+ rather than a: append still goes to the end, and the last byte can be read.
      return new Journal(path, await open(path, 'a+', 0o600))
    } catch (error) {
      throw new ConfigurationError(
        `The journal ${shown(path)} from ${source} cannot be written: ${reasonOf(error)}. ` +
          'Pass --journal with a file in a writable directory.',
      )
    }
  }

  /**
   * Appends one line and waits until it is on disk. After a line cut short (a full disk, a
   * crash mid-write) it starts on a line of its own, so that the fragment spoils no later line.
   */
  async append(entry: JournalEntry): Promise<void> {
    try {
      const line = `${JSON.stringify(entry)}\n`
      await this.handle.appendFile((await this.endsMidLine()) ? `\n${line}` : line)
      await this.handle.sync()
    } catch (error) {
      throw new ConfigurationError(`The journal ${shown(this.path)} could not be written: ${reasonOf(error)}.`)
    }
  }

  async close(): Promise<void> {
    await this.handle.close()
  }

  private async endsMidLine(): Promise<boolean> {
    const {size} = await this.handle.stat()
    if (size === 0) return false
    const last = Buffer.alloc(1)
    await this.handle.read(last, 0, 1, size - 1)
    return last[0] !== 0x0a
  }
}

export interface EntryFacts {
  command: JournalEntry['command']
  version: string
  identity: CallerIdentity
  region: string
  alias: string | null
  dryRun: boolean
  requestIds: Record<string, string[]>
  rollbackOf?: number
  time?: Date
}

/** The journal line for a run that ended with a report, or with an error in place of one. */
export function journalEntry(
  facts: EntryFacts,
  result: {report: RotationReport} | {error: string; exitCode: number},
): JournalEntry {
  const report = 'report' in result ? result.report : undefined
  const keyAccount = report?.from.arn?.split(':')[4] || null
  return {
    time: (facts.time ?? new Date()).toISOString(),
    command: facts.command,
    kmsRotateVersion: facts.version,
    identity: facts.identity,
    account: facts.identity.account ?? keyAccount,
    region: facts.region,
    alias: facts.alias,
    from: {keyId: report?.from.keyId ?? null, arn: report?.from.arn ?? null},
    to: {keyId: report?.to.keyId ?? null, arn: report?.to.arn ?? null},
    dryRun: facts.dryRun,
    checks: (report?.checks ?? []).map(({id, status}) => ({id, status})),
    outcome: report?.outcome ?? null,
    exitCode: report ? OUTCOMES[report.outcome].exitCode : (result as {exitCode: number}).exitCode,
    error: 'error' in result ? result.error : null,
    requestIds: facts.requestIds,
    rollbackOf: facts.rollbackOf ?? null,
  }
}

/**
 * Outcomes after which the alias was moved, or may have been: KMS accepted UpdateAlias (or its
 * answer was lost and the alias was read back on the new key). `overwritten` is left out: the
 * alias is known to be on a third key, which a rollback would throw away.
 */
export const MOVED_OUTCOMES: readonly Outcome[] = ['rotated', 'submitted', 'unconfirmed']

/** A journal line with its 1-based line number in the file. */
export interface NumberedEntry {
  line: number
  entry: JournalEntry
}

/** The journal's entries, and how many non-blank lines were not journal entries. */
export interface JournalContents {
  entries: NumberedEntry[]
  unreadable: number
}

function isJournalEntry(value: unknown): value is JournalEntry {
  if (typeof value !== 'object' || value === null) return false
  // What rollback and --resume go by; every line kms-rotate writes has them.
  const line = value as Record<string, unknown>
  return typeof line.region === 'string' && 'alias' in line && 'outcome' in line
}

/**
 * Every journal entry in the file. A line that is not one (cut short by a crash, or not written
 * by kms-rotate) is counted and passed over; the lines around it still count. A file that does
 * not exist reads as empty unless `mustExist`, which refuses it, exit 253.
 */
export async function readJournalContents(path: string, {mustExist = false} = {}): Promise<JournalContents> {
  let text: string
  try {
    const isFile = (await stat(path)).isFile()
    // A device or FIFO named as the journal would be read without end.
    if (!isFile) throw new ConfigurationError(`The journal ${shown(path)} cannot be read: it is not a regular file.`)
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (error instanceof ConfigurationError) throw error
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigurationError(`The journal ${shown(path)} cannot be read: ${reasonOf(error)}.`)
    }

    if (!mustExist) return {entries: [], unreadable: 0}
    throw new ConfigurationError(
      `Nothing to resume from: the journal ${shown(path)} does not exist; run without --resume, ` +
        'or name the journal of the earlier run with --journal.',
    )
  }

  const entries: NumberedEntry[] = []
  let unreadable = 0
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      value = undefined
    }

    if (isJournalEntry(value)) entries.push({line: index + 1, entry: value})
    else unreadable++
  }

  return {entries, unreadable}
}

/**
 * Every journal entry in the file; one that does not exist reads as empty. `warn` is told of
 * lines that are not entries, which rollback then goes without.
 */
export async function readJournal(path: string, warn?: (line: string) => void): Promise<NumberedEntry[]> {
  const {entries, unreadable} = await readJournalContents(path)
  if (unreadable > 0) warn?.(unreadableWarning({path, unreadable, readable: entries.length}, 'rollback'))
  return entries
}

/** The one warning about lines that are not entries; `reader` is what goes by the rest. */
export function unreadableWarning(
  {path, unreadable, readable}: {path: string; unreadable: number; readable: number},
  reader: string,
): string {
  const lines = unreadable === 1 ? '1 line that is not a journal entry' : `${unreadable} lines that are not journal entries`
  return `Warning: the journal ${shown(path)} holds ${lines}; ${reader} goes by the ${readable} that are.`
}

/**
 * The rotation a rollback undoes: the `nth` most recent journal line (1 = the latest) that moved
 * `alias` in `region` and names both keys. Refused, exit 252, when there is none.
 */
export function rotationToUndo(
  entries: NumberedEntry[],
  {alias, region, path}: {alias: string; region: string; path: string},
  nth = 1,
): NumberedEntry {
  const moves = entries.filter(
    ({entry}) =>
      entry.alias === alias &&
      entry.region === region &&
      !entry.dryRun &&
      entry.outcome !== null &&
      MOVED_OUTCOMES.includes(entry.outcome) &&
      Boolean(entry.from?.keyId) &&
      Boolean(entry.to?.keyId),
  )
  const chosen = moves.at(-nth)
  if (chosen) return chosen
  const held = moves.length === 0 ? 'none' : `only ${moves.length}`
  const asked = nth > 1 ? `, and --journal-entry ${nth} asks for the ${nth}th most recent` : ''
  throw new UsageError(
    `No rotation of ${shown(alias)} in ${region} to roll back: the journal ${shown(path)} holds ${held}${asked}. ` +
      'Name the journal that recorded it with --journal, or move the alias with update-alias.',
  )
}
