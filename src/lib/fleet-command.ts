import {resolve} from 'node:path'

import {cliProfileSettings, resolveAwsSettings, type AwsSettings} from './aws-config.js'
import {KmsRotateError, shown, UsageError} from './errors.js'
import {journalPath} from './journal.js'
import {machineFormat, queryFrom, resolveOutputFormat} from './output.js'
import {parseRates} from './pacing.js'
import {colourFor, type ColorMode, type OutputFormat} from './render.js'
import {readRotationFile, refuseDuplicates} from './rotation-file.js'
import {
  awsOptionsFrom,
  rotationOptions,
  showReport,
  unrecordedRun,
  type ConnectionFlags,
  type RotationFlags,
} from './rotation-run.js'
import {canPrompt, promptTheme} from './terminal.js'
import type {FleetProgress, FleetReport, ResolvedEntry} from './fleet.js'

/** The flags plan and apply share; apply's own are optional here. */
export interface FleetFlags extends ConnectionFlags, Partial<RotationFlags> {
  file: string
  rate?: string[]
  output?: OutputFormat
  query?: string
  debug: boolean
  color: ColorMode
  'no-cli-pager': boolean
  'allow-key-spec-change': boolean
  'acknowledge-verify-break': boolean
  'allow-access-loss': boolean
  yes?: boolean
  journal?: string
  resume?: boolean
  'fail-fast'?: boolean
}

/** Each entry's settings, resolved as the flags would resolve them with its Region and profile. */
async function resolveEntries(flags: FleetFlags, file: string): Promise<ResolvedEntry[]> {
  const entries = await readRotationFile(file)
  const cache = new Map<string, Promise<AwsSettings>>()
  const resolved: ResolvedEntry[] = []
  for (const entry of entries) {
    const profile = entry.profile ?? flags.profile
    const region = entry.region ?? flags.region
    const key = `${profile ?? ''}\n${region ?? ''}`
    if (!cache.has(key)) {
      const options = awsOptionsFrom({...flags, profile}, region)
      if (entry.profile !== undefined) options.profileNamedBy = 'its profile field'
      cache.set(key, resolveAwsSettings(options))
    }
    let settings: AwsSettings
    try {
      settings = await (cache.get(key) as Promise<AwsSettings>)
    } catch (error) {
      // A usage error is a flag's, which the file's entry did not give: it needs no entry named.
      if (!(error instanceof KmsRotateError) || error instanceof UsageError) throw error
      const where = `${shown(file)}, entry ${entry.index} (${shown(entry.alias)})`
      throw new KmsRotateError(`${where}: ${error.message}`, error.exitCode)
    }

    resolved.push({entry, region: settings.region, profile: settings.profile, settings})
  }

  refuseDuplicates(file, resolved)
  return resolved
}

/** A progress bar on stderr while apply runs, on a terminal only. */
async function progressBar(): Promise<FleetProgress | undefined> {
  if (!process.stderr.isTTY) return undefined
  const {default: cliProgress} = await import('cli-progress')
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{bar} {value}/{total} done, {failed} failed, {remaining} left, {rate}/s',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  )
  let startedAt = 0
  let failed = 0
  let done = 0
  let total = 0
  const payload = () => ({
    failed,
    remaining: total - done,
    rate: (done / Math.max((performance.now() - startedAt) / 1000, 0.001)).toFixed(1),
  })
  return {
    start(entries) {
      startedAt = performance.now()
      total = entries
      bar.start(total, 0, payload())
    },
    entryEnded(result) {
      done++
      if (result.exitCode !== 0) failed++
      bar.update(done, payload())
    },
    stop() {
      bar.stop()
    },
  }
}

/** The first Ctrl-C stops new UpdateAlias calls; a second stops at once. */
function stopOnSigint(): {signal: AbortSignal; abort: () => void; release: () => void} {
  const controller = new AbortController()
  const onSigint = () => {
    if (!controller.signal.aborted) {
      process.stderr.write('Stopping: no new UpdateAlias is sent; those on their way finish. Ctrl-C again stops now.\n')
      controller.abort(new Error('interrupted'))
      return
    }

    process.stderr.write(
      'Stopped: aliases whose UpdateAlias was on its way may or may not have moved; run plan to see.\n',
    )
    process.exit(130)
  }

  process.on('SIGINT', onSigint)
  return {
    signal: controller.signal,
    abort: () => controller.abort(new Error('interrupted')),
    release: () => process.removeListener('SIGINT', onSigint),
  }
}

/** plan and apply: read the file, run every entry, print the report, set the exit code. */
export async function runFleetCommand(command: 'plan' | 'apply', flags: FleetFlags): Promise<void> {
  const query = await queryFrom(flags.query)
  const rates = parseRates(flags.rate)
  const output = await resolveOutputFormat(flags.output, flags.profile)
  const file = resolve(flags.file)
  const entries = await resolveEntries(flags, flags.file)
  const journal = command === 'apply' ? journalPath(flags.journal) : undefined
  const profileSettings = await cliProfileSettings(flags.profile)
  const stderrColour = colourFor(process.stderr, process.env, flags.color)
  const {runFleet, formatFleetReport, failureLines, renderFleetHuman} = await import('./fleet.js')
  const debugLog = flags.debug ? (line: string) => process.stderr.write(`[debug] ${line}\n`) : undefined
  const asks = command === 'apply' && !flags.yes && canPrompt()
  const interrupt = stopOnSigint()
  let unrecorded: Error | undefined
  let report: FleetReport
  try {
    report = await runFleet({
      command,
      file,
      entries,
      options: {
        ...rotationOptions({
          'dry-run': false,
          'allow-key-spec-change': flags['allow-key-spec-change'],
          'wait-timeout': flags['wait-timeout'] ?? 120,
          'no-paginate': flags['no-paginate'],
          'acknowledge-verify-break': flags['acknowledge-verify-break'],
          'allow-access-loss': flags['allow-access-loss'],
          canary: flags.canary ?? true,
        }),
      },
      rates,
      endpointFlag: flags['endpoint-url'],
      journal,
      resume: flags.resume,
      failFast: flags['fail-fast'],
      confirm: asks
        ? async (plan: FleetReport) => {
            process.stderr.write(renderFleetHuman(plan, stderrColour))
            const moving = plan.entries.filter((entry) => entry.outcome === 'planned').length
            const {default: confirm} = await import('@inquirer/confirm')
            try {
              return await confirm(
                {message: `Move ${moving} aliases?`, default: false, theme: promptTheme(stderrColour)},
                {output: process.stderr},
              )
            } catch (error) {
              // Ctrl-C at the prompt: nothing was sent, and the run reports as interrupted.
              if (!(error instanceof Error) || error.name !== 'ExitPromptError') throw error
              interrupt.abort()
              return false
            }
          }
        : undefined,
      progress: command === 'apply' ? await progressBar() : undefined,
      signal: interrupt.signal,
      onJournalFailure(failure) {
        unrecorded ??= failure
        interrupt.abort()
      },
      debugLog,
      warn: (line: string) => process.stderr.write(`${line}\n`),
    })
  } finally {
    interrupt.release()
  }

  const machine = machineFormat(output, query) !== undefined
  if (command === 'apply' && (machine || !process.stdout.isTTY)) {
    for (const line of failureLines(report)) process.stderr.write(`${line}\n`)
  }

  const text = formatFleetReport(report, output, query, colourFor(process.stdout, process.env, flags.color))
  await showReport(text, report, {noCliPager: flags['no-cli-pager'], profilePager: profileSettings.cliPager, machine})
  if (unrecorded) throw unrecordedRun(unrecorded, report)
}
