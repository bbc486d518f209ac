import {randomUUID} from 'node:crypto'
import {once} from 'node:events'

import type {KMSClient} from '@aws-sdk/client-kms'
import type {ChalkInstance} from 'chalk'
import Table from 'cli-table3'

import type {AwsSettings} from './aws-config.js'
import {KmsRotateError} from './errors.js'
import {callerIdentity} from './identity.js'
import {
  Journal,
  journalEntry,
  MOVED_OUTCOMES,
  readJournalContents,
  unreadableWarning,
  type CallerIdentity,
  type JournalEntry,
  type NumberedEntry,
} from './journal.js'
import {createKmsClient, endpointOf, KmsGateway} from './kms.js'
import {combineOutcomes} from './multi-region.js'
import {OUTCOMES, type Outcome} from './outcomes.js'
import {PACING, pacingMiddleware, PacerRegistry, type Pacer, type Rates} from './pacing.js'
import type {ReportQuery} from './query.js'
import {formatRunReport, type OutputFormat} from './render.js'
import type {RotationReport} from './report.js'
import type {PlacedEntry, RotationEntry} from './rotation-file.js'
import {rotateAlias, type RotationRequest} from './rotate.js'
import {packageNameAndVersion} from './version.js'

/** Why an entry was not sent to KMS although its preflight passed. */
export type SkipReason = 'fail-fast' | 'already-rotated'

/** One entry's result; schema/fleet-report.schema.json describes it. */
export interface FleetEntryResult {
  index: number
  alias: string
  region: string
  profile: string | null
  account: string | null
  target: string
  /** null when the entry ended with an error instead of a report, or was never started. */
  outcome: Outcome | null
  exitCode: number
  summary: string
  skipped: SkipReason | null
  error: string | null
  report: RotationReport | null
}

export interface FleetTotals {
  entries: number
  /** How many entries ended with each outcome; `error` counts those that ended with an error. */
  outcomes: Record<string, number>
  updateAliasSent: number
  failed: number
}

/** What plan and apply print; schema/fleet-report.schema.json describes it. */
export interface FleetReport {
  command: 'plan' | 'apply'
  runId: string
  file: string
  outcome: Outcome
  summary: string
  totals: FleetTotals
  entries: FleetEntryResult[]
  elapsedMs: number
}

/** An entry with a settled Region, profile and AWS settings. */
export interface ResolvedEntry extends PlacedEntry {
  settings: AwsSettings
}

/** Told as each entry ends, for the progress bar. */
export interface FleetProgress {
  start(total: number): void
  entryEnded(result: FleetEntryResult): void
  stop(): void
}

export interface FleetRun {
  command: 'plan' | 'apply'
  file: string
  entries: ResolvedEntry[]
  /** The request options every entry shares, from the flags. */
  options: Omit<RotationRequest, 'aliasName' | 'target' | 'region' | 'expectedCurrentKey' | 'dryRun'>
  rates: Rates
  endpointFlag: string | undefined
  /** apply: where every entry's line goes. */
  journal?: {path: string; source: string}
  resume?: boolean
  failFast?: boolean
  /** apply on a terminal: shown the plan, answers whether to go on. */
  confirm?: (plan: FleetReport) => Promise<boolean>
  progress?: FleetProgress
  /** Aborted by Ctrl-C: no new UpdateAlias; those already on their way finish. */
  signal?: AbortSignal
  /**
   * Told once when a journal line cannot be written (a full disk): no later line is tried, and
   * the caller should stop the run, as Ctrl-C does, so that no further move goes unrecorded.
   */
  onJournalFailure?: (failure: Error) => void
  debugLog?: (line: string) => void
  /** One diagnostic line for stderr. */
  warn?: (line: string) => void
  /** Tests pass a client factory; the CLI builds real clients. */
  createClient?: (settings: AwsSettings) => Pick<KMSClient, 'send' | 'destroy' | 'middlewareStack'>
  identityOf?: (settings: AwsSettings) => Promise<CallerIdentity>
}

/** The preflight window holds this many seconds of UpdateAlias calls, and at least 20 entries. */
const PREFLIGHT_WINDOW_SECONDS = 4
const PREFLIGHT_WINDOW_MIN = 20

/** A count of places; an acquire waits for one to be free. */
class Slots {
  private free: number
  private readonly waiting: Array<() => void> = []

  constructor(size: number) {
    this.free = size
  }

  /** True once a place is held; false when `signal` aborted first, and then none is held. */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false
    if (this.free > 0) {
      this.free--
      return true
    }

    return new Promise<boolean>((resolve) => {
      const granted = () => {
        signal?.removeEventListener('abort', gaveUp)
        resolve(true)
      }

      const gaveUp = () => {
        this.waiting.splice(this.waiting.indexOf(granted), 1)
        resolve(false)
      }

      this.waiting.push(granted)
      signal?.addEventListener('abort', gaveUp, {once: true})
    })
  }

  release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.free++
  }
}

/** The account and Region where the entry's requests count against KMS quotas. */
interface Place {
  account: string | null
  client: Pick<KMSClient, 'send' | 'destroy'>
  endpoint: string
  pacer: Pacer
  /** UpdateAlias on its way in this account and Region at most this many at once. */
  slots: Slots
  /**
   * Entries between their start and UpdateAlias, at most this many at once: enough to keep
   * UpdateAlias at its rate, few enough that their preflight calls do not queue in front of it.
   */
  window: Slots
  identity: CallerIdentity
}

interface EntryState {
  resolved: ResolvedEntry
  place: Place
  controller: AbortController
  /** Past the point where a stop no longer holds it back: UpdateAlias is or was on its way. */
  committed: boolean
  holdsSlot: boolean
  holdsWindow: boolean
  result?: FleetEntryResult
  /** The journal line that already moved this alias to this target, with --resume. */
  journaled?: NumberedEntry
}

function resultOf(state: EntryState, outcome: Partial<FleetEntryResult>): FleetEntryResult {
  const {entry, region, profile} = state.resolved
  return {
    index: entry.index,
    alias: entry.alias,
    region,
    profile: profile ?? null,
    account: state.place.account,
    target: entry.target.given,
    outcome: null,
    exitCode: 0,
    summary: '',
    skipped: null,
    error: null,
    report: null,
    ...outcome,
  }
}

function fromReport(state: EntryState, report: RotationReport): FleetEntryResult {
  return resultOf(state, {
    outcome: report.outcome,
    exitCode: OUTCOMES[report.outcome].exitCode,
    summary: report.summary,
    report,
  })
}

/** Whether a journal line moved this entry's alias to this entry's target. */
function movedToTarget(line: JournalEntry, entry: RotationEntry): boolean {
  const {given, arn} = entry.target
  return line.to.keyId === given || line.to.arn === given || (arn !== undefined && line.to.keyId === arn.keyId)
}

/**
 * With --resume: the journal line that settles an entry, when the latest line that moved its
 * alias in its account and Region moved it to its target. A later move elsewhere unsettles it.
 */
export function alreadyRotated(
  lines: NumberedEntry[],
  entry: RotationEntry,
  place: {region: string; account: string | null},
): NumberedEntry | undefined {
  const moves = lines.filter(
    ({entry: line}) =>
      line.alias === entry.alias &&
      line.region === place.region &&
      (place.account === null || line.account === place.account) &&
      !line.dryRun &&
      line.outcome !== null &&
      MOVED_OUTCOMES.includes(line.outcome),
  )
  const latest = moves.at(-1)
  return latest && movedToTarget(latest.entry, entry) ? latest : undefined
}

const SUCCESS_ORDER: Outcome[] = ['rotated', 'submitted', 'planned', 'unchanged']

/** Whether KMS accepted this entry's UpdateAlias in this run (or it may have, its answer lost). */
function moved(result: FleetEntryResult): boolean {
  if (result.skipped) return false
  return (result.outcome !== null && MOVED_OUTCOMES.includes(result.outcome)) || Boolean(result.report?.updateAccepted)
}

/**
 * The run's outcome. plan: planned (or unchanged) when no entry failed, else refused. apply:
 * interrupted after Ctrl-C; the entries' outcome when they share one; partial only when an entry
 * moved and another failed; when none moved and some failed, declined (the prompt said no) or
 * refused, since nothing was changed. The README says the same.
 */
export function fleetOutcome(command: 'plan' | 'apply', results: FleetEntryResult[], interrupted: boolean): Outcome {
  if (interrupted) return 'interrupted'
  // An entry that --fail-fast kept from being sent changed nothing, as a refused one.
  const outcomes = results.map((result) => result.outcome ?? (result.skipped === 'fail-fast' ? 'refused' : 'error'))
  const failed = results.some((result) => result.exitCode !== 0)
  if (command === 'apply') {
    if (!failed || results.some(moved)) return combineOutcomes(outcomes)
    const known = outcomes.filter((outcome): outcome is Outcome => outcome !== 'error')
    if (known.length === outcomes.length && known.every((outcome) => outcome === known[0])) return known[0]
    return outcomes.includes('declined') ? 'declined' : 'refused'
  }

  if (!failed) return SUCCESS_ORDER.find((outcome) => outcomes.includes(outcome)) ?? 'planned'
  return 'refused'
}

function describeFleet(command: 'plan' | 'apply', outcome: Outcome, totals: FleetTotals): string {
  const counts = Object.entries(totals.outcomes)
    .map(([name, count]) => `${count} ${name}`)
    .join(', ')
  const verb = command === 'plan' ? 'Planned' : 'Applied'
  const sent = `UpdateAlias sent for ${totals.updateAliasSent}`
  const entries = `${totals.entries} ${totals.entries === 1 ? 'entry' : 'entries'}`
  return `${verb} ${entries}: ${counts}; ${sent}. Outcome: ${outcome}.`
}

export function fleetReport(
  run: Pick<FleetRun, 'command' | 'file'>,
  runId: string,
  results: FleetEntryResult[],
  interrupted: boolean,
  startedAt: number,
): FleetReport {
  const outcomes: Record<string, number> = {}
  for (const result of results) {
    const name = result.skipped ?? result.outcome ?? 'error'
    outcomes[name] = (outcomes[name] ?? 0) + 1
  }

  const totals: FleetTotals = {
    entries: results.length,
    outcomes,
    updateAliasSent: results.filter((result) => result.report?.updateSent).length,
    failed: results.filter((result) => result.exitCode !== 0).length,
  }
  const outcome = fleetOutcome(run.command, results, interrupted)
  return {
    command: run.command,
    runId,
    file: run.file,
    outcome,
    summary: describeFleet(run.command, outcome, totals),
    totals,
    entries: [...results].sort((a, b) => a.index - b.index),
    elapsedMs: Math.round(performance.now() - startedAt),
  }
}

/** The clients, one per profile and Region, each paced with its account and Region's quotas. */
async function placeEntries(run: FleetRun): Promise<{states: EntryState[]; places: Place[]}> {
  const pacers = new PacerRegistry(run.rates)
  const identities = new Map<string, Promise<CallerIdentity>>()
  const identityOf =
    run.identityOf ?? ((settings: AwsSettings) => callerIdentity(settings, run.endpointFlag, {debugLog: run.debugLog}))
  const places = new Map<string, Place>()
  const states: EntryState[] = []
  for (const resolved of run.entries) {
    // One GetCallerIdentity per profile: the account is the same in every Region.
    const who = resolved.profile ?? ''
    if (!identities.has(who)) identities.set(who, identityOf(resolved.settings))
    const identity = await (identities.get(who) as Promise<CallerIdentity>)
    const placeKey = `${who}\n${resolved.region}`
    let place = places.get(placeKey)
    if (!place) {
      const client = run.createClient
        ? run.createClient(resolved.settings)
        : createKmsClient(resolved.settings, {debugLog: run.debugLog})
      // Without an account, the profile stands for it: its requests are paced together.
      const account = identity.account
      const pacer = pacers.forPlace(account ?? `profile ${who}`, resolved.region)
      client.middlewareStack.add(pacingMiddleware(pacer), PACING)
      place = {
        account,
        client,
        endpoint: endpointOf(resolved.settings),
        pacer,
        slots: new Slots(Math.max(1, Math.floor(run.rates.UpdateAlias))),
        window: new Slots(Math.max(PREFLIGHT_WINDOW_MIN, Math.ceil(run.rates.UpdateAlias * PREFLIGHT_WINDOW_SECONDS))),
        identity,
      }
      places.set(placeKey, place)
    }

    const controller = new AbortController()
    states.push({resolved, place, controller, committed: false, holdsSlot: false, holdsWindow: false})
  }

  return {states, places: [...places.values()]}
}

/** Appends journal lines one at a time, in the order entries end; none after one that failed. */
class JournalWriter {
  private last: Promise<void> = Promise.resolve()
  private failed = false

  constructor(
    private readonly journal: Journal,
    private readonly runId: string,
    private readonly file: string,
    private readonly onFailure: (failure: Error) => void = () => undefined,
  ) {}

  write(state: EntryState, gateway: KmsGateway, result: FleetEntryResult): void {
    const facts = {
      command: 'apply' as const,
      version: packageNameAndVersion().version,
      identity: state.place.identity,
      region: state.resolved.region,
      alias: state.resolved.entry.alias,
      dryRun: false,
      requestIds: gateway.requestIds,
    }
    const outcome = result.report
      ? {report: result.report}
      : {error: result.error ?? result.summary, exitCode: result.exitCode}
    const run = {id: this.runId, file: this.file, entry: state.resolved.entry.index}
    const line = {...journalEntry(facts, outcome), run}
    this.last = this.last.then(async () => {
      if (this.failed) return
      await this.journal.append(line).catch((failure: Error) => {
        this.failed = true
        this.onFailure(failure)
      })
    })
  }

  async flush(): Promise<void> {
    await this.last
  }
}

/** The journal lines --resume goes by; a journal that does not exist is refused, exit 253. */
async function resumeFrom(path: string, warn: FleetRun['warn']): Promise<NumberedEntry[]> {
  const {entries, unreadable} = await readJournalContents(path, {mustExist: true})
  if (unreadable > 0) warn?.(unreadableWarning({path, unreadable, readable: entries.length}, '--resume'))

  return entries
}

/**
 * plan: every entry's preflight at once (dry runs), paced per account and Region. apply: the
 * same, then UpdateAlias, the visibility poll and the canary for those that passed, with every
 * entry journaled. Entry errors are part of the report; only when every entry ended with one
 * does the run end with the first of them.
 */
export async function runFleet(run: FleetRun): Promise<FleetReport> {
  const startedAt = performance.now()
  const runId = randomUUID()
  // Read before the journal is opened, which would create it: --resume needs an earlier run's.
  const journalLines = run.resume && run.journal ? await resumeFrom(run.journal.path, run.warn) : []
  // Before any client exists: a run that cannot be recorded changes nothing.
  const journal = run.journal ? await Journal.open(run.journal) : undefined
  const {states, places} = await placeEntries(run)
  const writer = journal ? new JournalWriter(journal, runId, run.file, run.onJournalFailure) : undefined
  let stopped = false
  const stop = () => {
    stopped = true
    for (const state of states) if (!state.committed) state.controller.abort(new Error('stopped'))
  }

  const onAbort = () => stop()
  run.signal?.addEventListener('abort', onAbort)
  if (run.signal?.aborted) stop()

  const attempt = async (
    state: EntryState,
    dryRun: boolean,
    hooks: Parameters<typeof rotateAlias>[2] = {},
    {checkExpectedCurrent = true} = {},
  ) => {
    const {entry, region} = state.resolved
    const target = {endpoint: state.place.endpoint, profile: state.resolved.profile}
    const gateway = new KmsGateway(state.place.client, target, run.debugLog)
    const request: RotationRequest = {
      ...run.options,
      aliasName: entry.alias,
      target: entry.target,
      region,
      expectedCurrentKey: checkExpectedCurrent ? entry.expectedCurrentKey : undefined,
      dryRun,
    }
    let result: FleetEntryResult
    try {
      result = fromReport(state, await rotateAlias(gateway, request, {signal: state.controller.signal, ...hooks}))
    } catch (error) {
      if (!(error instanceof KmsRotateError)) throw error
      result = resultOf(state, {exitCode: error.exitCode, summary: error.message, error: error.message})
    }

    return {result, gateway}
  }

  try {
    if (run.resume) {
      for (const state of states) {
        state.journaled = alreadyRotated(journalLines, state.resolved.entry, {
          region: state.resolved.region,
          account: state.place.account,
        })
      }
    }

    // The plan: on its own for plan, and for apply when a person confirms before anything moves.
    const planFirst = run.command === 'plan' || run.confirm !== undefined
    const planned = new Map<EntryState, FleetEntryResult>()
    if (planFirst) {
      await Promise.all(
        states.map(async (state) => {
          const {result} = await attempt(state, true)
          planned.set(state, result)
          if (run.command === 'plan') run.progress?.entryEnded(result)
        }),
      )
    }

    if (run.command === 'plan') {
      const results = states.map((state) => planned.get(state) as FleetEntryResult)
      return finish(results)
    }

    let declined = false
    if (run.confirm) {
      const planReport = fleetReport(run, runId, [...planned.values()], false, startedAt)
      const wouldMove = [...planned.values()].some((result) => result.outcome === 'planned')
      const failedAlready = run.failFast && [...planned.values()].some((result) => result.exitCode !== 0)
      if (wouldMove && !failedAlready && !stopped) declined = !(await run.confirm(planReport))
    }

    run.progress?.start(states.length)
    const failFastBy = (result: FleetEntryResult) => {
      if (run.failFast && result.exitCode !== 0 && !stopped) stop()
    }

    const applyOne = async (state: EntryState): Promise<FleetEntryResult> => {
      const plannedResult = planned.get(state)
      const settled = (result: FleetEntryResult, gateway?: KmsGateway) => {
        state.result = result
        // An entry settled without calls of its own is journaled with no request ids.
        writer?.write(state, gateway ?? new KmsGateway(state.place.client, {endpoint: state.place.endpoint}), result)
        run.progress?.entryEnded(result)
        failFastBy(result)
        return result
      }

      if (plannedResult && plannedResult.outcome !== 'planned') return settled(plannedResult)
      if (declined) {
        return settled(resultOf(state, {
          outcome: 'declined',
          exitCode: OUTCOMES.declined.exitCode,
          summary: 'The prompt was answered no: nothing was sent.',
          report: plannedResult?.report ?? null,
        }))
      }

      await state.place.window.acquire()
      state.holdsWindow = true
      try {
        return await applyInWindow(state, plannedResult, settled)
      } finally {
        leaveWindow(state)
      }
    }

    const leaveWindow = (state: EntryState) => {
      if (!state.holdsWindow) return
      state.holdsWindow = false
      state.place.window.release()
    }

    const applyInWindow = async (
      state: EntryState,
      plannedResult: FleetEntryResult | undefined,
      settled: (result: FleetEntryResult, gateway?: KmsGateway) => FleetEntryResult,
    ): Promise<FleetEntryResult> => {
      // Stopped before its turn: nothing of it is sent at all.
      if (state.controller.signal.aborted) {
        if (!run.signal?.aborted) return settled(skippedByFailFast(state, plannedResult))
        return settled(
          resultOf(state, {
            outcome: 'interrupted',
            exitCode: OUTCOMES.interrupted.exitCode,
            summary: 'Not sent: Ctrl-C stopped the run before this entry started.',
            report: plannedResult?.report ?? null,
          }),
        )
      }

      // Journaled as moved: checked again, never sent again. On its target it ends unchanged.
      // expectedCurrent held when the journaled move was made; the alias has left that key since.
      if (state.journaled) {
        const {result, gateway} = await attempt(state, true, {}, {checkExpectedCurrent: false})
        if (result.outcome !== 'planned') return settled(result, gateway)
        const lastSeen = result.report?.from.keyId ?? 'another key'
        return settled(
          resultOf(state, {
            outcome: 'overwritten',
            exitCode: OUTCOMES.overwritten.exitCode,
            skipped: 'already-rotated',
            summary:
              `Journal line ${state.journaled.line} already moved ${state.resolved.entry.alias} to its target, and ` +
              `it now points at ${lastSeen}: another writer moved it since. Not sent again.`,
            report: result.report,
          }),
          gateway,
        )
      }

      const {result, gateway} = await attempt(state, false, {
        // Not a question: the place where an entry waits for its turn to send UpdateAlias, and
        // where a stop (Ctrl-C, --fail-fast) still holds it back.
        async confirm() {
          const {signal} = state.controller
          state.holdsSlot = await state.place.slots.acquire(signal)
          if (!state.holdsSlot) return true
          // Its turn at the UpdateAlias rate comes here, where a stop still holds it back.
          await Promise.race([state.place.pacer.admit('UpdateAlias'), once(signal, 'abort')])
          if (signal.aborted) return true
          state.committed = true
          leaveWindow(state)
          return true
        },
        onUpdateInFlight(inFlight) {
          if (!inFlight && state.holdsSlot) {
            state.holdsSlot = false
            state.place.slots.release()
          }
        },
      })
      if (state.holdsSlot) {
        state.holdsSlot = false
        state.place.slots.release()
      }

      const failFastSkip = result.outcome === 'interrupted' && !result.report?.updateSent && !run.signal?.aborted
      return settled(failFastSkip ? skippedByFailFast(state, plannedResult ?? result) : result, gateway)
    }

    const results = await Promise.all(states.map(applyOne))
    return finish(results)
  } finally {
    run.signal?.removeEventListener('abort', onAbort)
    run.progress?.stop()
    await writer?.flush()
    await journal?.close()
    for (const place of places) place.client.destroy()
  }

  function finish(results: FleetEntryResult[]): FleetReport {
    const errors = results.filter((result) => result.outcome === null && result.skipped === null)
    // Every entry failed as a single run would: end the same way, with one line.
    if (errors.length === results.length && results.length > 0) {
      const first = errors[0]
      throw new KmsRotateError(`entry ${first.index} (${first.alias}): ${first.error}`, first.exitCode)
    }

    return fleetReport(run, runId, results, run.signal?.aborted === true, startedAt)
  }
}

function skippedByFailFast(state: EntryState, planned: FleetEntryResult | undefined): FleetEntryResult {
  return resultOf(state, {
    outcome: null,
    exitCode: OUTCOMES.refused.exitCode,
    skipped: 'fail-fast',
    summary: 'Not sent: --fail-fast stopped the run at an earlier failed entry.',
    report: planned?.report ?? null,
  })
}

/** The report for a person: one row per entry, then the totals and the run's outcome. */
export function renderFleetHuman(report: FleetReport, colour: ChalkInstance): string {
  const table = new Table({
    head: ['#', 'alias', 'Region', 'outcome', 'summary'],
    style: {head: [], border: []},
    colWidths: [null, null, null, null, 70] as unknown as number[],
    wordWrap: true,
  })
  for (const entry of report.entries) {
    const name = entry.skipped ?? entry.outcome ?? 'error'
    const outcome = entry.exitCode === 0 ? colour.green(name) : colour.red(name)
    table.push([String(entry.index), entry.alias, entry.region, outcome, entry.summary])
  }

  const succeeded = OUTCOMES[report.outcome].exitCode === 0
  const outcome = succeeded ? colour.green.bold(report.outcome) : colour.red.bold(report.outcome)
  return `${table.toString()}\n\n${outcome}  ${report.summary}\n`
}

/** What stdout gets at the end of plan or apply, in the format asked for. */
export function formatFleetReport(
  report: FleetReport,
  format: OutputFormat | undefined,
  query: ReportQuery | undefined,
  colour: ChalkInstance,
): string {
  return formatRunReport(report, format, query, (fleet) => renderFleetHuman(fleet, colour))
}

/** One stderr line per entry that did not end well, for the runbook's log. */
export function failureLines(report: FleetReport): string[] {
  return report.entries
    .filter((entry) => entry.exitCode !== 0)
    .map((entry) => {
      const how = entry.skipped ?? entry.outcome ?? 'error'
      return `entry ${entry.index} (${entry.alias} in ${entry.region}): ${how}: ${entry.summary}`
    })
}
