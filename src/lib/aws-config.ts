import {readFile} from 'node:fs/promises'

import {loadSharedConfigFiles} from '@smithy/shared-ini-file-loader'

import {ConfigurationError, shown, UsageError} from './errors.js'

export interface AwsOptions {
  region?: string
  profile?: string
  /** What named `profile`, for messages: --profile unless another flag or a file did. */
  profileNamedBy?: string
  endpointUrl?: string
  /** false: --no-verify-ssl. */
  verifySsl?: boolean
  caBundle?: string
  /** Seconds; 0 waits forever, undefined is the AWS CLI's 60. */
  connectTimeoutSeconds?: number
  readTimeoutSeconds?: number
  /** false: --no-sign-request. */
  signRequests?: boolean
}

/** Certificates to trust instead of Node's own list, with the setting that named the file. */
export interface CaBundle {
  path: string
  source: string
  pem: string
}

/** Where requests go and as whom, resolved the way the AWS CLI resolves it. */
export interface AwsSettings {
  region: string
  /** undefined means the default profile, or none at all. */
  profile: string | undefined
  /** Keys in the environment beat a profile from AWS_PROFILE, but not one from --profile. */
  profileSource: '--profile' | 'AWS_PROFILE' | undefined
  /** undefined means the public KMS endpoint of the Region. */
  endpoint: string | undefined
  /** How the SDK retries throttling and server errors. */
  retryMode: string
  /** Attempts per call, the first included. */
  maxAttempts: number
  /** false: TLS certificates are not checked at all (--no-verify-ssl). */
  verifySsl: boolean
  /** undefined: Node's own list of CAs; never read when verifySsl is false. */
  caBundle: CaBundle | undefined
  /** 0 means no limit. */
  connectTimeoutMs: number
  /** The longest silence while waiting for an answer; 0 means no limit. */
  readTimeoutMs: number
  /** false: requests go unsigned and no credentials are looked for (--no-sign-request). */
  signRequests: boolean
}

/** The AWS CLI's default for both the connect and the read timeout. */
export const DEFAULT_TIMEOUT_SECONDS = 60

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

/**
 * A bad value is a usage error (exit 252) when a flag gave it, and a configuration error (exit
 * 253) when it came from the environment or a config file, where the command line cannot fix it.
 */
export function invalidSetting(source: string, message: string): UsageError | ConfigurationError {
  const text = `${source.charAt(0).toUpperCase()}${source.slice(1)} ${message}`
  return source.startsWith('--') ? new UsageError(text) : new ConfigurationError(text)
}

function checkEndpoint(endpoint: string, source: string): string {
  if (endpoint.trim() !== endpoint) {
    throw invalidSetting(source, `${shown(endpoint)} has white space around it: did you mean ${shown(endpoint.trim())}?`)
  }

  let url: URL | undefined
  try {
    url = new URL(endpoint)
  } catch {
    url = undefined
  }

  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw invalidSetting(
      source,
      `${shown(withoutUserInfo(endpoint))} is not a valid http:// or https:// URL: write it as https://HOST[:PORT].`,
    )
  }

  return endpoint
}

const BEGIN_CERTIFICATE = '-----BEGIN CERTIFICATE-----'
const END_CERTIFICATE = '-----END CERTIFICATE-----'
const PEM_CERTIFICATE = new RegExp(`${BEGIN_CERTIFICATE}[^-]+${END_CERTIFICATE}`, 'g')

/**
 * Whether a PEM block holds one DER structure whose length agrees with its header: a damaged or
 * truncated block fails. Parsing each certificate with X509Certificate took about 25 ms for a
 * system bundle of 150 on every run; this takes well under one, and TLS parses them anyway.
 */
function isCertificate(pem: string): boolean {
  const base64 = pem.slice(BEGIN_CERTIFICATE.length, -END_CERTIFICATE.length)
  // Buffer.from skips what is not base64; the block must hold nothing else but line breaks.
  if (/[^A-Za-z0-9+/=\s]/.test(base64)) return false
  const der = Buffer.from(base64, 'base64')
  // A certificate is one SEQUENCE; its length is one byte, or 0x80 + n followed by n bytes.
  if (der.length < 2 || der[0] !== 0x30) return false
  if (der[1] < 0x80) return der.length === 2 + der[1]
  const lengthBytes = der[1] & 0x7f
  if (lengthBytes === 0 || lengthBytes > 4 || der.length < 2 + lengthBytes) return false
  let length = 0
  for (let index = 0; index < lengthBytes; index++) length = length * 256 + der[2 + index]
  return der.length === 2 + lengthBytes + length
}

/** Reads the bundle now, so that a bad path ends the run before any request, naming the setting. */
async function loadCaBundle({source, value: path}: {source: string; value: string}): Promise<CaBundle> {
  let pem: string
  try {
    pem = await readFile(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new ConfigurationError(
      `The CA bundle ${shown(path)} from ${source} cannot be read (${reason}): ` +
        'give the path of a PEM file of CA certificates.',
    )
  }

  const certificates = pem.match(PEM_CERTIFICATE) ?? []
  // Node would take a file without certificates silently and then trust nothing.
  if (certificates.length === 0 || !certificates.every(isCertificate)) {
    const problem = certificates.length === 0 ? 'holds no' : 'has an unreadable'
    throw new ConfigurationError(
      `The CA bundle ${shown(path)} from ${source} ${problem} PEM certificate: ` +
        'give a file of "-----BEGIN CERTIFICATE-----" blocks.',
    )
  }

  return {path, source, pem}
}

export async function resolveAwsSettings(
  options: AwsOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AwsSettings> {
  const givenEmpty: Array<[string, string | undefined]> = [
    ['--region', options.region],
    ['--endpoint-url', options.endpointUrl],
    ['--ca-bundle', options.caBundle],
  ]
  for (const [flag, value] of givenEmpty) {
    if (value === '') throw new UsageError(`${flag} is empty: give a value or leave the flag out.`)
  }

  const profileSource = options.profile === undefined ? 'AWS_PROFILE' : '--profile'
  const profileNamedBy = options.profile === undefined ? 'AWS_PROFILE' : (options.profileNamedBy ?? '--profile')
  const profile = options.profile ?? fromEnvironment(env, 'AWS_PROFILE')
  if (profile === '') throw new UsageError('--profile is empty: give a value or leave the flag out.')

  const {configFile, credentialsFile} = await loadSharedConfigFiles()
  if (profile !== undefined && !(profile in configFile) && !(profile in credentialsFile)) {
    const files = `${env.AWS_CONFIG_FILE || '~/.aws/config'} or ${env.AWS_SHARED_CREDENTIALS_FILE || '~/.aws/credentials'}`
    throw new ConfigurationError(
      `The config profile (${profile}) named by ${profileNamedBy} could not be found in ${files}: check the ` +
        'name, or set AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE to the file that has it.',
    )
  }

  // How messages name a setting read from the profile.
  const ofProfile = (setting: string) =>
    profile === undefined ? `the default profile's ${setting}` : `profile ${profile}'s ${setting}`

  const region = firstSet([
    ['--region', options.region],
    ['AWS_REGION', fromEnvironment(env, 'AWS_REGION')],
    ['AWS_DEFAULT_REGION', fromEnvironment(env, 'AWS_DEFAULT_REGION')],
    [ofProfile('region'), configFile[profile ?? 'default']?.region],
  ])
  if (region === undefined) {
    throw new ConfigurationError(
      'No AWS Region is configured: pass --region, set AWS_REGION, or add region to the profile in ~/.aws/config.',
    )
  }

  if (!REGION_NAME.test(region.value)) {
    throw invalidSetting(region.source, `${shown(region.value)} is not a Region name such as us-east-1.`)
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
          [`the kms endpoint_url of services section ${profileSection.services}`, servicesSection?.['kms.endpoint_url']],
          [ofProfile('endpoint_url'), profileSection.endpoint_url],
        ] as Array<[string, string | undefined]>)),
  ])

  const retryMode = firstSet([
    ['AWS_RETRY_MODE', fromEnvironment(env, 'AWS_RETRY_MODE')],
    [ofProfile('retry_mode'), profileSection.retry_mode],
  ])
  if (retryMode && !RETRY_MODES.includes(retryMode.value)) {
    throw invalidSetting(retryMode.source, `${shown(retryMode.value)} is not a retry mode: use ${RETRY_MODES.join(', ')}.`)
  }

  const maxAttempts = firstSet([
    ['AWS_MAX_ATTEMPTS', fromEnvironment(env, 'AWS_MAX_ATTEMPTS')],
    [ofProfile('max_attempts'), profileSection.max_attempts],
  ])
  if (maxAttempts && !/^[1-9]\d{0,2}$/.test(maxAttempts.value)) {
    throw invalidSetting(
      maxAttempts.source,
      `${shown(maxAttempts.value)} is not a number of attempts from 1 to 999: change it, or unset it for the default of 5.`,
    )
  }

  const verifySsl = options.verifySsl ?? true
  // As in the AWS CLI, --no-verify-ssl wins over any CA bundle, which is then not even read.
  const caBundle = verifySsl
    ? firstSet([
        ['--ca-bundle', options.caBundle],
        ['AWS_CA_BUNDLE', fromEnvironment(env, 'AWS_CA_BUNDLE')],
        [ofProfile('ca_bundle'), profileSection.ca_bundle],
      ])
    : undefined

  return {
    region: region.value,
    profile,
    profileSource: profile === undefined ? undefined : profileSource,
    endpoint: endpoint && checkEndpoint(endpoint.value, endpoint.source),
    // Adaptive mode slows down on throttling as well as retrying; it suits a tool that may run in bulk.
    retryMode: retryMode?.value ?? 'adaptive',
    verifySsl,
    caBundle: caBundle && (await loadCaBundle(caBundle)),
    connectTimeoutMs: (options.connectTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    readTimeoutMs: (options.readTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    signRequests: options.signRequests ?? true,
    maxAttempts: maxAttempts ? Number(maxAttempts.value) : DEFAULT_MAX_ATTEMPTS,
  }
}

/** One line on where requests go and how, for --debug; it holds no credentials. */
export function describeSettings(settings: AwsSettings): string {
  const seconds = (milliseconds: number) => (milliseconds === 0 ? 'none' : `${milliseconds / 1000}s`)
  return [
    `region=${settings.region}`,
    `profile=${settings.profile === undefined ? '-' : `${settings.profile} (${settings.profileSource})`}`,
    `endpoint=${settings.endpoint === undefined ? '-' : withoutUserInfo(settings.endpoint)}`,
    `signing=${settings.signRequests ? 'SigV4' : 'none'}`,
    `verify-ssl=${settings.verifySsl}`,
    `ca-bundle=${settings.caBundle ? `${settings.caBundle.path} (${settings.caBundle.source})` : '-'}`,
    `connect-timeout=${seconds(settings.connectTimeoutMs)}`,
    `read-timeout=${seconds(settings.readTimeoutMs)}`,
    `retry-mode=${settings.retryMode}`,
    `max-attempts=${settings.maxAttempts}`,
  ].join(' ')
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
