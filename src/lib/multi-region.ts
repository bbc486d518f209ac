import type {ChalkInstance} from 'chalk'

import type {AwsSettings} from './aws-config.js'
import {KmsRotateError, ServiceError, shown, UsageError} from './errors.js'
import {isReservedAliasName, MULTI_REGION_KEY_ID, REGION, type TargetKeyReference} from './identifiers.js'
import {createKmsClient, endpointOf, KmsGateway} from './kms.js'
import {OUTCOMES, type Outcome} from './outcomes.js'
import type {ReportQuery} from './query.js'
import {formatRunReport, renderHuman, type OutputFormat} from './render.js'
import type {RotationReport} from './report.js'
import {rotateAlias, type RotationHooks, type RotationRequest} from './rotate.js'

/** A Region whose run ended with an error instead of a report, as a single-Region run would exit. */
export interface RegionFailure {
  alias: string
  region: string
  error: string
  exitCode: number
}

export type RegionResult = RotationReport | RegionFailure

export interface RollbackCommand {
  region: string
  command: string
}

/** What a --regions run prints; schema/multi-region-report.schema.json describes it. */
export interface MultiRegionReport {
  alias: string
  outcome: Outcome
  summary: string
  /** One entry per Region, in the order of --regions; Regions not started (after Ctrl-C) are left out. */
  regions: RegionResult[]
  /** For each Region where the alias moved or may have moved, the command that moves it back. */
  rollback: RollbackCommand[]
  elapsedMs: number
}

export function isFailure(result: RegionResult): result is RegionFailure {
  return 'error' in result
}

/** Parses --regions: Region names separated by commas, each once. */
export function parseRegions(text: string): string[] {
  const regions = text.split(',').map((region) => region.trim())
  const bad = regions.find((region) => !REGION.test(region))
  if (bad !== undefined) {
    const what = bad === '' ? 'has an empty entry' : `names ${shown(bad)}, which is not a Region`
    throw new UsageError(
      `--regions ${shown(text)} ${what}: give Region names separated by commas, as in us-east-1,eu-west-1.`,
    )
  }

  const repeated = regions.find((region, index) => regions.indexOf(region) !== index)
  if (repeated !== undefined) {
    throw new UsageError(`--regions ${shown(text)} names ${repeated} twice: give each Region once.`)
  }

  return regions
}

/**
 * With --regions a key is named by its multi-Region key id, which is the same in every Region;
 * an ARN would name the replica of one Region only.
 */
export function checkMultiRegionKey(flag: string, key: TargetKeyReference): void {
  if (key.arn === undefined && MULTI_REGION_KEY_ID.test(key.given)) return
  const hint = key.arn && MULTI_REGION_KEY_ID.test(key.arn.keyId) ? `: give its key id, ${key.arn.keyId}` : ''
  throw new UsageError(
    `${flag} ${shown(key.given)} is not a multi-Region key id: --regions needs the mrk- id that every ` +
      `Region's replica shares${hint}.`,
  )
}

const SUCCEEDED_IN_ORDER: Outcome[] = ['submitted', 'rotated', 'planned', 'unchanged']
const NOTHING_CHANGED: Outcome[] = ['refused', 'not-found', 'declined']

/**
 * The outcome of the whole run from each Region's (an error counts as a failure):
 * any Region interrupted: interrupted; every Region the same outcome: that outcome; every Region
 * exit 0: the first of submitted, rotated, planned, unchanged among them; every Region refused,
 * not-found or declined: refused; anything else: partial.
 */
export function combineOutcomes(outcomes: Array<Outcome | 'error'>): Outcome {
  if (outcomes.includes('interrupted')) return 'interrupted'
  const known = outcomes.filter((outcome): outcome is Outcome => outcome !== 'error')
  if (known.length < outcomes.length || known.length === 0) return 'partial'
  if (known.every((outcome) => outcome === known[0])) return known[0]
  if (known.every((outcome) => OUTCOMES[outcome].exitCode === 0)) {
    return SUCCEEDED_IN_ORDER.find((outcome) => known.includes(outcome)) ?? 'partial'
  }

  if (known.every((outcome) => NOTHING_CHANGED.includes(outcome))) return 'refused'
  return 'partial'
}

/** Outcomes after which the alias points, or may point, at the new key because of this run. */
const MAY_HAVE_MOVED: Outcome[] = ['rotated', 'submitted', 'unconfirmed', 'interrupted']

export function rollbackCommands(results: RegionResult[]): RollbackCommand[] {
  return results.flatMap((result) => {
    if (isFailure(result) || !result.updateSent || !MAY_HAVE_MOVED.includes(result.outcome)) return []
    const {alias, region, from, to} = result
    if (from.keyId === null || to.keyId === null) return []
    const command =
      `kms-rotate update-alias --region ${region} --alias-name ${alias} --target-key-id ${from.keyId} ` +
      `--expected-current-key ${to.keyId}`
    return [{region, command}]
  })
}

function describeRun(
  outcome: Outcome,
  results: RegionResult[],
  notStarted: string[],
  rollback: RollbackCommand[],
): string {
  const each = results.map((result) => `${result.region} ${isFailure(result) ? 'error' : result.outcome}`)
  const skipped = notStarted.length > 0 ? `; not started: ${notStarted.join(', ')}` : ''
  const undo =
    rollback.length > 0 && (outcome === 'partial' || outcome === 'interrupted')
      ? ` To move the alias back where it changed, run: ${rollback.map((entry) => entry.command).join(' ; ')}`
      : ''
  const verdict = outcome === 'partial' ? 'The Regions ended differently' : `All Regions: ${outcome}`
  return `${verdict} (${each.join(', ')}${skipped}).${undo}`
}

/** What every Region's run starts from: the settings, the rotation, the prompt and Ctrl-C. */
export interface MultiRegionRun {
  settings: AwsSettings
  regions: string[]
  request: Omit<RotationRequest, 'region' | 'multiRegion'>
  hooks: RotationHooks
  debugLog?: (line: string) => void
  /** Told of each Region's result as it ends, with that Region's client, for the journal. */
  onRegionEnd?: (region: string, result: RegionResult, kms: KmsGateway) => Promise<void>
}

/** The key the alias points at in this Region, or undefined when DescribeKey finds no alias. */
async function currentKeyOf(kms: KmsGateway, aliasName: string, signal?: AbortSignal): Promise<string | undefined> {
  // DescribeKey on a predefined AWS alias can create its key; the preflight refuses the name anyway.
  if (isReservedAliasName(aliasName)) return undefined
  try {
    return (await kms.describeKey(aliasName, signal)).KeyId
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'NotFoundException') return undefined
    throw error
  }
}

/**
 * One full run per Region, one after the other, each with its own client: preflight, a
 * compare-and-swap UpdateAlias against the key that Region's alias was found on, and the poll.
 * Sequential so that a prompt, a Ctrl-C and the progress on stderr each concern one Region,
 * and Ctrl-C leaves the Regions not yet started untouched.
 */
export async function rotateInRegions(run: MultiRegionRun): Promise<MultiRegionReport> {
  const startedAt = performance.now()
  const {settings, request, hooks} = run
  const results: RegionResult[] = []
  const errors: KmsRotateError[] = []
  let started = 0
  for (const region of run.regions) {
    if (hooks.signal?.aborted) break
    started++
    const regionSettings = {...settings, region}
    const client = createKmsClient(regionSettings, {debugLog: run.debugLog})
    const kms = new KmsGateway(client, {endpoint: endpointOf(regionSettings), profile: settings.profile}, run.debugLog)
    try {
      const {aliasName, expectedCurrentKey: given} = request
      const found = given ? undefined : await currentKeyOf(kms, aliasName, hooks.signal)
      const expectedCurrentKey = given ?? (found === undefined ? undefined : {given: found})
      results.push(await rotateAlias(kms, {...request, region, expectedCurrentKey, multiRegion: true}, hooks))
    } catch (error) {
      if (!(error instanceof KmsRotateError)) throw error
      errors.push(error)
      results.push({alias: request.aliasName, region, error: error.message, exitCode: error.exitCode})
    } finally {
      client.destroy()
    }

    await run.onRegionEnd?.(region, results.at(-1) as RegionResult, kms)
  }

  // Every Region failed the way a single-Region run fails: end the same way, with one line.
  if (errors.length === run.regions.length) throw errors[0]
  const interrupted = started < run.regions.length || hooks.signal?.aborted === true
  const outcomes = results.map((result) => (isFailure(result) ? 'error' : result.outcome))
  const outcome = interrupted ? 'interrupted' : combineOutcomes(outcomes)
  const rollback = rollbackCommands(results)
  const notStarted = run.regions.slice(started)
  return {
    alias: request.aliasName,
    outcome,
    summary: describeRun(outcome, results, notStarted, rollback),
    regions: results,
    rollback,
    elapsedMs: Math.round(performance.now() - startedAt),
  }
}

/** The report for a person: one section per Region, then the run's outcome and any rollback commands. */
export function renderMultiRegionHuman(report: MultiRegionReport, colour: ChalkInstance): string {
  const sections = report.regions.map((result) =>
    isFailure(result)
      ? `${colour.bold(result.alias)} in ${result.region}\n\n${colour.red.bold('error')}  ${result.error}\n`
      : renderHuman(result, colour),
  )
  const succeeded = OUTCOMES[report.outcome].exitCode === 0
  const outcome = succeeded ? colour.green.bold(report.outcome) : colour.red.bold(report.outcome)
  const lines = [`${outcome}  ${report.summary.replace(/ To move the alias back.*$/, '')}`]
  if (report.rollback.length > 0 && !succeeded) {
    lines.push('', 'To move the alias back in the Regions where it changed:')
    for (const entry of report.rollback) lines.push(`  ${entry.command}`)
  }

  return [...sections, lines.join('\n') + '\n'].join('\n')
}

/** What stdout gets at the end of a --regions run, in the format asked for. */
export function formatMultiRegionReport(
  report: MultiRegionReport,
  format: OutputFormat | undefined,
  query: ReportQuery | undefined,
  colour: ChalkInstance,
): string {
  return formatRunReport(report, format, query, (regions) => renderMultiRegionHuman(regions, colour))
}
