import {loadSharedConfigFiles} from '@smithy/shared-ini-file-loader'

import {ConfigurationError, shown, UsageError} from './errors.js'

export interface AwsOptions {
  region?: string
  profile?: string
  endpointUrl?: string
}

/** Where requests go and as whom, resolved the way the AWS CLI resolves it. */
export interface AwsSettings {
  region: string
  /** undefined means the default profile, or none at all. */
  profile: string | undefined
  /** undefined means the public KMS endpoint of the Region. */
  endpoint: string | undefined
  /** How the SDK retries throttling and server errors. */
  retryMode: string
  /** Attempts per call, the first included. */
  maxAttempts: number
}

const REGION_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/
const RETRY_MODES = ['standard', 'adaptive', 'legacy']
/**
 * The AWS CLI's legacy default: four retries. The SDK's own default of three attempts gives up
 * too soon for an alias move that a runbook should not have to restart.
 */
const DEFAULT_MAX_ATTEMPTS = 5

/** An environment variable set to the empty string counts as unset, as in the AWS CLI. */
function fromEnvironment(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value
}

/** The first setting that has a value, with where it came from for error messages. */
function firstSet(candidates: Array<[string, string | undefined]>): {source: string; value: string} | undefined {
  const found = candidates.find(([, value]) => value !== undefined && value !== '')
  return found && {source: found[0], value: found[1] as string}
}

/** A URL as messages show it: any user name and password in it left out. */
export function withoutUserInfo(endpoint: string): string {
  return endpoint.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')
}

function checkEndpoint(endpoint: string, source: string): string {
  if (endpoint.trim() !== endpoint) {
    throw new UsageError(`${source} ${shown(endpoint)} has white space around it: did you mean ${shown(endpoint.trim())}?`)
  }

  let url: URL | undefined
  try {
    url = new URL(endpoint)
  } catch {
    url = undefined
  }

  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new UsageError(
      `${source} ${shown(withoutUserInfo(endpoint))} is not a valid http:// or https:// URL: ` +
        'write it as https://HOST[:PORT].',
    )
  }

  return endpoint
}

export async function resolveAwsSettings(
  options: AwsOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AwsSettings> {
  for (const [flag, value] of [['--region', options.region], ['--endpoint-url', options.endpointUrl]]) {
    if (value === '') throw new UsageError(`${flag} is empty: give a value or leave the flag out.`)
  }

  const profileSource = options.profile === undefined ? 'AWS_PROFILE' : '--profile'
  const profile = options.profile ?? fromEnvironment(env, 'AWS_PROFILE')
  if (profile === '') throw new UsageError('--profile is empty: give a value or leave the flag out.')

  const {configFile, credentialsFile} = await loadSharedConfigFiles()
  if (profile !== undefined && !(profile in configFile) && !(profile in credentialsFile)) {
    throw new ConfigurationError(
      `The config profile (${profile}) named by ${profileSource} could not be found in ~/.aws/config ` +
        'or ~/.aws/credentials: check the name, or set AWS_CONFIG_FILE to the file that has it.',
    )
  }

  const region = firstSet([
    ['--region', options.region],
    ['AWS_REGION', fromEnvironment(env, 'AWS_REGION')],
    ['AWS_DEFAULT_REGION', fromEnvironment(env, 'AWS_DEFAULT_REGION')],
    ['the profile', configFile[profile ?? 'default']?.region],
  ])
  if (region === undefined) {
    throw new ConfigurationError(
      'No AWS Region is configured: pass --region, set AWS_REGION, or add region to the profile in ~/.aws/config.',
    )
  }

  if (!REGION_NAME.test(region.value)) {
    throw new UsageError(`${region.source} ${shown(region.value)} is not a Region name such as us-east-1.`)
  }

  const profileSection = configFile[profile ?? 'default'] ?? {}
  const ignoreConfigured =
    (fromEnvironment(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS') ?? profileSection.ignore_configured_endpoint_urls)
      ?.toLowerCase() === 'true'
  const servicesSection = profileSection.services ? configFile[`services.${profileSection.services}`] : undefined
  const endpoint = firstSet([
    ['--endpoint-url', options.endpointUrl],
    ...(ignoreConfigured
      ? []
      : ([
          ['AWS_ENDPOINT_URL_KMS', fromEnvironment(env, 'AWS_ENDPOINT_URL_KMS')],
          ['AWS_ENDPOINT_URL', fromEnvironment(env, 'AWS_ENDPOINT_URL')],
          ['the kms endpoint_url of the services section', servicesSection?.['kms.endpoint_url']],
          ['the endpoint_url of the profile', profileSection.endpoint_url],
        ] as Array<[string, string | undefined]>)),
  ])

  const retryMode = firstSet([
    ['AWS_RETRY_MODE', fromEnvironment(env, 'AWS_RETRY_MODE')],
    ['the retry_mode of the profile', profileSection.retry_mode],
  ])
  if (retryMode && !RETRY_MODES.includes(retryMode.value)) {
    throw new ConfigurationError(
      `${retryMode.source} ${shown(retryMode.value)} is not a retry mode: use ${RETRY_MODES.join(', ')}.`,
    )
  }

  const maxAttempts = firstSet([
    ['AWS_MAX_ATTEMPTS', fromEnvironment(env, 'AWS_MAX_ATTEMPTS')],
    ['the max_attempts of the profile', profileSection.max_attempts],
  ])
  if (maxAttempts && !/^[1-9]\d{0,2}$/.test(maxAttempts.value)) {
    throw new ConfigurationError(
      `${maxAttempts.source} ${shown(maxAttempts.value)} is not a number of attempts from 1 to 999.`,
    )
  }

  return {
    region: region.value,
    profile,
    endpoint: endpoint && checkEndpoint(endpoint.value, endpoint.source),
    // Adaptive mode slows down on throttling as well as retrying; it suits a tool that may run in bulk.
    retryMode: retryMode?.value ?? 'adaptive',
    maxAttempts: maxAttempts ? Number(maxAttempts.value) : DEFAULT_MAX_ATTEMPTS,
  }
}

/** Settings of the AWS CLI itself that a profile can hold; absent when the profile has none. */
export interface CliProfileSettings {
  cliPager?: string
  cliAutoPrompt?: string
}

/** The profile's cli_pager and cli_auto_prompt; `profile` undefined means the default profile. */
export async function cliProfileSettings(profile: string | undefined): Promise<CliProfileSettings> {
  const {configFile} = await loadSharedConfigFiles()
  const section = configFile[profile ?? 'default'] ?? {}
  return {cliPager: section.cli_pager, cliAutoPrompt: section.cli_auto_prompt}
}
