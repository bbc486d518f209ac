import {loadSharedConfigFiles} from '@smithy/shared-ini-file-loader'
import type {ChalkInstance} from 'chalk'

import {ConfigurationError, shown} from './errors.js'
import type {ReportQuery} from './query.js'
import {
  OUTPUT_FORMATS,
  outputFormatFromEnvironment,
  loadFormatLibraries,
  machineFormat,
  renderHuman,
  renderMachine,
  renderValue,
  type Json,
  type OutputFormat,
} from './render.js'
import type {RotationReport} from './report.js'

/**
 * The format named by --output, else AWS_DEFAULT_OUTPUT, else the `output` setting of the
 * profile, as in the AWS CLI; undefined means the human report. The library that the format
 * renders with is loaded by the time it returns.
 */
export async function resolveOutputFormat(
  flag: OutputFormat | undefined,
  profileFlag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OutputFormat | undefined> {
  const format = await outputFormatOf(flag, profileFlag, env)
  await loadFormatLibraries(format)
  return format
}

async function outputFormatOf(
  flag: OutputFormat | undefined,
  profileFlag: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<OutputFormat | undefined> {
  const fromEnvironment = flag ?? outputFormatFromEnvironment(env)
  if (fromEnvironment !== undefined) return fromEnvironment

  const profile = profileFlag || env.AWS_PROFILE || 'default'
  const {configFile} = await loadSharedConfigFiles({configFilepath: env.AWS_CONFIG_FILE || undefined})
  const value = configFile[profile]?.output
  if (value === undefined || value === '') return undefined
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) {
    const file = env.AWS_CONFIG_FILE || '~/.aws/config'
    throw new ConfigurationError(
      `The output setting ${shown(value)} of profile ${profile} in ${file} is not one of ` +
        `${OUTPUT_FORMATS.join(', ')}: pass --output or change the profile.`,
    )
  }

  return value as OutputFormat
}

/** --query compiled, checked before anything is sent; the JMESPath library loads only when needed. */
export async function queryFrom(expression: string | undefined): Promise<ReportQuery | undefined> {
  if (expression === undefined) return undefined
  const {compileQuery} = await import('./query.js')
  return compileQuery(expression)
}

export {machineFormat} from './render.js'

/** What stdout gets at the end of a run. */
export function formatReport(
  report: RotationReport,
  format: OutputFormat | undefined,
  query: ReportQuery | undefined,
  colour: ChalkInstance,
): string {
  const machine = machineFormat(format, query)
  if (machine === undefined) return renderHuman(report, colour)
  // With output off nothing is printed, so the query need not be applied.
  if (machine === 'off') return ''
  return query ? renderValue(query.apply(report) as Json, machine) : renderMachine(report, machine)
}
