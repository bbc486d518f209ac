import type {ChalkInstance} from 'chalk'

import {describeSettings, type AwsOptions, type AwsSettings, type CliProfileSettings} from './aws-config.js'
import {KmsRotateError} from './errors.js'
import {Journal, journalEntry, type CallerIdentity, type EntryFacts} from './journal.js'
import type {KmsGateway} from './kms.js'
import {EXIT, OUTCOMES, type Outcome} from './outcomes.js'
import {formatReport, machineFormat} from './output.js'
import {pagerFor, writeThroughPager} from './pager.js'
import type {ReportQuery} from './query.js'
import type {PreflightMode} from './formats.js'
import {colourFor, type ColorMode, type OutputFormat} from './render.js'
import type {RotationReport} from './report.js'
import type {RotationHooks, RotationRequest} from './rotate.js'
import {canPrompt, confirmOnTerminal, interruptOnSigint, pollProgress, type Interrupt} from './terminal.js'
import {packageNameAndVersion} from './version.js'

/** The flags that update-alias and rollback share for running a rotation and showing its report. */
export interface RunFlags {
  'endpoint-url'?: string
  /** basic also leaves the caller identity unread: the journal takes the account from the key. */
  preflight?: PreflightMode
  'dry-run': boolean
  yes: boolean
  debug: boolean
  color: ColorMode
  'no-cli-pager': boolean
}

export interface RotationRun {
  command: 'update-alias' | 'rollback'
  settings: AwsSettings
  profileSettings: CliProfileSettings
  flags: RunFlags
  output: OutputFormat | undefined
  query: ReportQuery | undefined
  journal: {path: string; source: string}
  /** The request, once a client exists to prompt with; it may throw to end the run. */
  prepare: (kms: KmsGateway, stderrColour: ChalkInstance) => Promise<RotationRequest>
  /** For a rollback: the journal line it undoes. */
  rollbackOf?: number
}

/**
 * Opens the journal, builds the client, runs the rotation, prints its report, and appends the
 * run's journal line, whether it ended with a report or an error; sets the exit code.
 */
export async function runRotation(run: RotationRun): Promise<void> {
  const {settings, flags} = run
  // The SDK loads while the journal opens; the journal is open before any client exists, so a
  // run that cannot be recorded changes nothing.
  const modules = Promise.all([import('./kms.js'), import('./rotate.js'), import('./identity.js')])
  // Awaited below; a journal that fails first must not leave a failed load unhandled.
  modules.catch(() => undefined)
  const journal = await Journal.open(run.journal)
  const [{createKmsClient, endpointOf, KmsGateway, unverifiedTlsWarning}, {rotateAlias}, {callerIdentity, NOT_ASKED_IN_BASIC_PREFLIGHT, unknownIdentity}] =
    await modules
  const debugLog = flags.debug ? (line: string) => process.stderr.write(`[debug] ${line}\n`) : undefined
  debugLog?.(describeSettings(settings))
  const endpoint = endpointOf(settings)
  const warning = unverifiedTlsWarning(settings, endpoint)
  if (warning) process.stderr.write(`${warning}\n`)
  const client = createKmsClient(settings, {debugLog})
  const kms = new KmsGateway(client, {endpoint, profile: settings.profile}, debugLog)
  const colour = colourFor(process.stdout, process.env, flags.color)
  const stderrColour = colourFor(process.stderr, process.env, flags.color)

  // Asked alongside the rotation's own calls rather than after them: it is only for the record.
  const identityRead: Promise<CallerIdentity> =
    flags.preflight === 'basic'
      ? Promise.resolve(unknownIdentity(NOT_ASKED_IN_BASIC_PREFLIGHT))
      : callerIdentity(settings, flags['endpoint-url'], {debugLog})
  let interrupt: Interrupt | undefined
  let aliasName: string | null = null
  let report: RotationReport
  const record = async (result: JournalResult) => {
    const identity = await identityRead
    const facts = entryFacts(run.command, settings.region, aliasName, flags, identity, kms, run.rollbackOf)
    await journal.append(journalEntry(facts, result))
  }

  // The journal opened, yet its line may still fail (a full disk): what the run did to the alias
  // is said all the same, with the report, before the failure ends the run.
  let unrecorded: KmsRotateError | undefined
  try {
    try {
      const request = await run.prepare(kms, stderrColour)
      aliasName = request.aliasName
      interrupt = interruptOnSigint(request.aliasName)
      report = await rotateAlias(kms, request, rotationHooks(flags, request.aliasName, stderrColour, interrupt))
    } catch (error) {
      const exitCode = error instanceof KmsRotateError ? error.exitCode : EXIT.other
      // The run's own error says what happened to the alias; a journal failure is said beside it.
      await record({error: (error as Error).message, exitCode}).catch((failure: Error) => {
        process.stderr.write(`${failure.message}\n`)
      })
      throw error
    } finally {
      interrupt?.release()
    }

    await record({report}).catch((failure: KmsRotateError) => {
      unrecorded = failure
    })
  } finally {
    client.destroy()
    await journal.close().catch(() => undefined)
  }

  const text = formatReport(report, run.output, run.query, colour)
  await showReport(text, report, {
    noCliPager: flags['no-cli-pager'],
    profilePager: run.profileSettings.cliPager,
    machine: machineFormat(run.output, run.query) !== undefined,
  })
  if (unrecorded) throw unrecordedRun(unrecorded, report)
}

/**
 * A journal line that failed after the run: exit 253, saying how the run itself ended. The
 * summary of a run that did not exit 0 is already on stderr (showReport), or in the report on
 * the terminal, and is not said twice.
 */
export function unrecordedRun(failure: Error, report: {outcome: Outcome; summary: string}): KmsRotateError {
  const {exitCode} = OUTCOMES[report.outcome]
  const ending = `The run itself ended ${report.outcome} (exit ${exitCode} otherwise)`
  return new KmsRotateError(
    exitCode === 0 ? `${failure.message} ${ending}: ${report.summary}` : `${failure.message} ${ending}.`,
    EXIT.configuration,
  )
}

type JournalResult = Parameters<typeof journalEntry>[1]

/** The flags of a command that say where requests go and how. */
export interface ConnectionFlags {
  region?: string
  profile?: string
  'endpoint-url'?: string
  'no-verify-ssl': boolean
  'ca-bundle'?: string
  'cli-connect-timeout'?: number
  'cli-read-timeout'?: number
  'no-sign-request'?: boolean
}

/** Those flags as resolveAwsSettings takes them; `region` overrides --region (for --regions). */
export function awsOptionsFrom(flags: ConnectionFlags, region = flags.region): AwsOptions {
  return {
    region,
    profile: flags.profile,
    endpointUrl: flags['endpoint-url'],
    verifySsl: !flags['no-verify-ssl'],
    caBundle: flags['ca-bundle'],
    connectTimeoutSeconds: flags['cli-connect-timeout'],
    readTimeoutSeconds: flags['cli-read-timeout'],
    signRequests: !flags['no-sign-request'],
  }
}

/** The flags that shape a rotation; rollback has no --no-paginate. */
export interface RotationFlags {
  'dry-run': boolean
  'allow-key-spec-change': boolean
  'wait-timeout': number
  'no-paginate'?: boolean
  'acknowledge-verify-break': boolean
  'allow-access-loss': boolean
  canary: boolean
  preflight?: PreflightMode
}

/** A rotation request's options, from the flags. */
export function rotationOptions(flags: RotationFlags) {
  return {
    dryRun: flags['dry-run'],
    allowKeySpecChange: flags['allow-key-spec-change'],
    waitTimeoutSeconds: flags['wait-timeout'],
    onePagePerPoll: flags['no-paginate'],
    acknowledgeVerifyBreak: flags['acknowledge-verify-break'],
    allowAccessLoss: flags['allow-access-loss'],
    canary: flags.canary,
    preflight: flags.preflight,
  }
}

/** What every journal line of a run says besides its result. */
export function entryFacts(
  command: RotationRun['command'],
  region: string,
  aliasName: string | null,
  flags: Pick<RunFlags, 'dry-run'>,
  identity: CallerIdentity,
  kms: Pick<KmsGateway, 'requestIds'>,
  rollbackOf?: number,
): EntryFacts {
  return {
    command,
    version: packageNameAndVersion().version,
    identity,
    region,
    alias: aliasName,
    dryRun: flags['dry-run'],
    requestIds: kms.requestIds,
    rollbackOf,
  }
}

/** Progress, the prompt and Ctrl-C for one rotation of `aliasName`. */
export function rotationHooks(
  flags: Pick<RunFlags, 'yes' | 'dry-run'>,
  aliasName: string,
  stderrColour: ChalkInstance,
  interrupt: Interrupt,
): RotationHooks {
  const asks = !flags.yes && !flags['dry-run'] && canPrompt()
  return {
    ...pollProgress(aliasName, stderrColour),
    confirm: asks ? confirmOnTerminal(stderrColour, interrupt.controller) : undefined,
    signal: interrupt.controller.signal,
    onUpdateInFlight: interrupt.onUpdateInFlight,
  }
}

/** Prints a report, through the pager when there is one, and sets the exit code of its outcome. */
export async function showReport(
  text: string,
  report: {outcome: Outcome; summary: string},
  options: {noCliPager: boolean; profilePager: string | undefined; machine: boolean},
): Promise<void> {
  const {exitCode} = OUTCOMES[report.outcome]
  const pager = pagerFor({
    noCliPager: options.noCliPager,
    profilePager: options.profilePager,
    stdoutIsTerminal: process.stdout.isTTY === true,
  })
  if (pager && text !== '') await writeThroughPager(text, pager)
  else if (text !== '') process.stdout.write(text)
  // A runbook's log keeps stderr: it gets the one line that says what went wrong, unless the
  // human report has just shown it on the same terminal.
  if (exitCode !== 0 && (options.machine || !process.stdout.isTTY)) process.stderr.write(`${report.summary}\n`)
  process.exitCode = exitCode
}
