import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ListGrantsCommand,
  SignCommand,
  UpdateAliasCommand,
  VerifyCommand,
  VerifyMacCommand,
  type DecryptCommandInput,
  type DecryptCommandOutput,
  type EncryptCommandInput,
  type EncryptCommandOutput,
  type GenerateMacCommandInput,
  type GenerateMacCommandOutput,
  type SignCommandInput,
  type SignCommandOutput,
  type VerifyCommandInput,
  type VerifyCommandOutput,
  type VerifyMacCommandInput,
  type VerifyMacCommandOutput,
  type UpdateAliasCommandInput,
  type UpdateAliasCommandOutput,
  type AliasListEntry,
  type KeyListEntry,
  type GrantListEntry,
  type KeyMetadata,
  type KMSClientConfig,
} from '@aws-sdk/client-kms'
import {defaultProvider} from '@aws-sdk/credential-provider-node'
import {NodeHttpHandler} from '@smithy/node-http-handler'
import type {AwsCredentialIdentity, AwsCredentialIdentityProvider, DeserializeMiddleware} from '@smithy/types'

import {withoutUserInfo, type AwsSettings} from './aws-config.js'
import {
  ConfigurationError,
  IncompleteListingError,
  KmsRotateError,
  ServiceError,
  UpdateAnswerLostError,
} from './errors.js'
import {EXIT} from './outcomes.js'
import {LOG_EACH_ATTEMPT, logEachAttempt, requestHandlerOptions, unsignedRequestConfig} from './transport.js'

export {unverifiedTlsWarning} from './transport.js'

/**
 * The SDK reports through this only what we ask it for; without it, the credential chain
 * writes its own warnings straight to the console.
 */
class SilentLogger {
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(): void {}
}

export interface KmsClientOptions {
  /** Receives a line per HTTP attempt and one when credentials are found; never a secret. */
  debugLog?: (line: string) => void
}

/**
 * In the AWS CLI, keys in the environment beat a profile named by AWS_PROFILE (not one named by
 * --profile); the SDK's default chain would take the profile.
 */
function environmentKeysOverProfile(
  settings: Pick<AwsSettings, 'profileSource'>,
  env: NodeJS.ProcessEnv,
): AwsCredentialIdentity | undefined {
  const {AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey} = env
  const sessionToken = env.AWS_SESSION_TOKEN
  if (settings.profileSource !== 'AWS_PROFILE' || !accessKeyId || !secretAccessKey) return undefined
  return {accessKeyId, secretAccessKey, ...(sessionToken ? {sessionToken} : {})}
}

/** Says which source the credentials came from, by the SDK's names for them, and nothing of the keys. */
function reportingSource(provider: AwsCredentialIdentityProvider, log: (line: string) => void, otherwise: string) {
  return async (...args: Parameters<AwsCredentialIdentityProvider>) => {
    const credentials = await provider(...args)
    const sources = Object.keys((credentials as {$source?: object}).$source ?? {})
    log(`credentials from ${sources.length > 0 ? sources.join(', ') : otherwise}`)
    return credentials
  }
}

interface CredentialChain {
  provider: AwsCredentialIdentityProvider
  /** What --debug names as the source when the credentials do not say. */
  label: string
}

/** One chain per run, so that a second client does not run credential_process or SSO again. */
const chains = new WeakMap<AwsSettings, CredentialChain>()

function chainFor(settings: AwsSettings, logger: SilentLogger): CredentialChain {
  let chain = chains.get(settings)
  if (!chain) {
    const keys = environmentKeysOverProfile(settings, process.env)
    chain = keys
      ? {provider: async () => keys, label: 'AWS_ACCESS_KEY_ID, over AWS_PROFILE'}
      : {provider: defaultProvider({profile: settings.profile, logger}), label: 'the default chain'}
    chains.set(settings, chain)
  }

  return chain
}

function credentialsConfig(
  settings: AwsSettings,
  logger: SilentLogger,
  debugLog: ((line: string) => void) | undefined,
): Partial<KMSClientConfig> {
  if (!settings.signRequests) {
    return {
      ...unsignedRequestConfig(),
      // Nothing should ask for credentials now; if something does, the run fails loudly.
      credentials: () => Promise.reject(new Error('credentials were asked for despite --no-sign-request')),
    }
  }

  const {provider, label} = chainFor(settings, logger)
  return {credentials: debugLog ? reportingSource(provider, debugLog, label) : provider}
}

/**
 * The configuration every KMS client of a run shares: Region, endpoint, credentials (or none),
 * the request handler with its TLS trust and timeouts, and a logger that keeps the SDK quiet.
 */
export function kmsClientConfig(settings: AwsSettings, {debugLog}: KmsClientOptions = {}): KMSClientConfig {
  // The SDK warns on every run under Node 20; the warning is for us, not for operators.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

  const logger = new SilentLogger()
  return {
    region: settings.region,
    endpoint: settings.endpoint,
    profile: settings.profile,
    ...credentialsConfig(settings, logger, debugLog),
    logger,
    // Throttling and 5xx answers are retried here, so the visibility poll never retries them again.
    retryMode: settings.retryMode,
    maxAttempts: settings.maxAttempts,
    requestHandler: new NodeHttpHandler(requestHandlerOptions(settings, logger)),
  }
}

/** A KMS client from the shared configuration; `overrides` let a client differ, in its retries say. */
export function createKmsClient(
  settings: AwsSettings,
  options: KmsClientOptions = {},
  overrides: Partial<KMSClientConfig> = {},
): KMSClient {
  const client = new KMSClient({...kmsClientConfig(settings, options), ...overrides})
  if (options.debugLog) client.middlewareStack.add(logEachAttempt(options.debugLog), LOG_EACH_ATTEMPT)
  return client
}

export function endpointOf(settings: Pick<AwsSettings, 'region' | 'endpoint'>): string {
  if (settings.endpoint) return withoutUserInfo(settings.endpoint)
  const suffix = settings.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'
  return `https://kms.${settings.region}.${suffix}`
}

interface ResponseMetadata {
  httpStatusCode?: number
  requestId?: string
  attempts?: number
}

interface SdkError extends Error {
  code?: string
  $fault?: 'client' | 'server'
  $metadata?: ResponseMetadata
}

const GENERIC_CREDENTIALS_MESSAGE = /^Could not load credentials from any providers/
/** Every way the SDK's SSO providers say that the cached token is missing, invalid or expired ends so. */
const SSO_LOGIN_NEEDED = /run '?aws sso login/i
/** Node's codes for a certificate that does not check out, as against a TLS exchange that broke. */
const CERTIFICATE_NOT_TRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/

function firstLine(text: string): string {
  return text.split('\n')[0].trim()
}

/** One page of a paged KMS list, its items under one name whatever the operation calls them. */
interface ListPage<T> {
  $metadata?: ResponseMetadata
  items?: T[]
  Truncated?: boolean
  NextMarker?: string
}

/** Where calls go and as whom, for messages about them. */
export interface CallTarget {
  endpoint: string
  profile?: string
}

/** Turns what the SDK threw into an error with our exit code and a one-line message. */
export function toKmsRotateError(error: unknown, operation: string, {endpoint, profile}: CallTarget): Error {
  if (error instanceof KmsRotateError || !(error instanceof Error)) return error as Error
  const sdkError = error as SdkError

  if (sdkError.name === 'CredentialsProviderError' || sdkError.name === 'TokenProviderError') {
    if (SSO_LOGIN_NEEDED.test(sdkError.message)) {
      const [whose, login] =
        profile === undefined
          ? ['the default profile', 'aws sso login']
          : [`profile ${profile}`, `aws sso login --profile ${profile}`]
      return new ConfigurationError(
        `Unable to locate credentials: the SSO token of ${whose} is missing, invalid or expired. ` +
          `Run "${login}", then run this command again.`,
      )
    }

    if (!GENERIC_CREDENTIALS_MESSAGE.test(sdkError.message)) {
      return new ConfigurationError(`Unable to locate credentials: ${firstLine(sdkError.message)}.`)
    }

    return new ConfigurationError(
      profile === undefined
        ? 'Unable to locate credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile, ' +
            'or run "aws configure".'
        : `Unable to locate credentials for profile ${profile}: check its keys, credential_process, ` +
            'sso_session or role_arn, and whether their commands and files work.',
    )
  }

  const status = sdkError.$metadata?.httpStatusCode
  if (status !== undefined && status < 300 && sdkError.$fault === undefined) {
    // A success status with a body the SDK cannot read: something other than KMS answered.
    return new KmsRotateError(
      `The endpoint "${endpoint}" answered ${operation} with HTTP ${status} but not as KMS does: ` +
        'check that it is a KMS endpoint.',
      EXIT.other,
    )
  }

  if (status !== undefined) {
    // Without $fault the SDK could not read the answer at all: a proxy's error page, say.
    return sdkError.$fault === undefined
      ? new ServiceError(String(status), operation, `HTTP ${status} with a body that is not a KMS answer`, status)
      : new ServiceError(sdkError.name, operation, sdkError.message, status)
  }

  if (sdkError.name === 'AbortError') return error

  if (error instanceof AnswerLost) {
    const unanswered = toKmsRotateError(error.unanswered, operation, {endpoint, profile})
    return new UpdateAnswerLostError(unanswered.message)
  }

  const code = sdkError.code ?? ''
  if (code === 'ECONNRESET' || /socket hang up/i.test(sdkError.message)) {
    return new KmsRotateError(
      `The connection to "${endpoint}" closed before ${operation} was answered.`,
      EXIT.other,
    )
  }

  if (sdkError.name === 'TimeoutError' || code === 'ETIMEDOUT') {
    const phase = /establish a connection/.test(sdkError.message) ? 'Connect' : 'Read'
    return new KmsRotateError(`${phase} timeout on endpoint URL: "${endpoint}" (${operation}).`, EXIT.other)
  }

  if (CERTIFICATE_NOT_TRUSTED.test(code)) {
    return new KmsRotateError(
      `SSL validation failed for ${endpoint}: ${firstLine(sdkError.message)}. ` +
        'If its CA is private, name a PEM file of it with --ca-bundle or AWS_CA_BUNDLE.',
      EXIT.other,
    )
  }

  if (/SSL|TLS|EPROTO/.test(code)) {
    return new KmsRotateError(`SSL validation failed for ${endpoint}: ${firstLine(sdkError.message)}.`, EXIT.other)
  }

  return new KmsRotateError(
    `Could not connect to the endpoint URL: "${endpoint}" (${operation}: ${firstLine(sdkError.message) || code}).`,
    EXIT.other,
  )
}

/** Failures that happen before a request can have reached KMS, so sending it again is safe. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

function neverSent(error: SdkError): boolean {
  if (NEVER_SENT_CODES.has(error.code ?? '')) return true
  return error.name === 'TimeoutError' && /establish a connection/.test(error.message)
}

/**
 * Marks a request that may have been applied by KMS although no answer arrived. The SDK's error
 * is kept out of `cause` on purpose: the retry classifier follows `cause` and would retry it.
 */
class AnswerLost extends Error {
  constructor(readonly unanswered: SdkError) {
    super(unanswered.message)
    this.name = 'AnswerLost'
  }
}

/**
 * Runs for each attempt, inside the SDK's retry loop. An error without any HTTP answer is
 * turned into AnswerLost, which the retry strategy does not retry: UpdateAlias may already
 * have been applied, and a second write could undo a concurrent writer's change.
 */
const markLostAnswers: DeserializeMiddleware<UpdateAliasCommandInput, UpdateAliasCommandOutput> = (next) => async (args) => {
  try {
    return await next(args)
  } catch (error) {
    const sdkError = error as SdkError
    const answered = sdkError.$metadata?.httpStatusCode !== undefined || '$response' in sdkError
    if (answered || sdkError.name === 'AbortError' || neverSent(sdkError)) throw error
    throw new AnswerLost(sdkError)
  }
}

/**
 * The KMS operations a rotation uses, each counted so that the report can say which calls
 * reached AWS.
 */
export class KmsGateway {
  readonly apiCalls: Record<string, number> = {}
  /** Attempts the SDK made beyond the first, per operation: throttling and server errors. */
  readonly apiRetries: Record<string, number> = {}
  /** The request id of every call KMS answered, per operation, for the journal. */
  readonly requestIds: Record<string, string[]> = {}

  constructor(
    private readonly kms: Pick<KMSClient, 'send'>,
    private readonly target: CallTarget,
    /** Receives one line per call; it never sees credentials or signatures. */
    private readonly log?: (line: string) => void,
  ) {}

  private async call<T extends {$metadata?: ResponseMetadata}>(operation: string, send: () => Promise<T>): Promise<T> {
    this.apiCalls[operation] = (this.apiCalls[operation] ?? 0) + 1
    const startedAt = performance.now()
    try {
      const output = await send()
      this.logCall(operation, startedAt, output.$metadata)
      return output
    } catch (error) {
      this.logCall(operation, startedAt, (error as SdkError).$metadata, (error as Error).name)
      throw toKmsRotateError(error, operation, this.target)
    }
  }

  private logCall(operation: string, startedAt: number, metadata?: ResponseMetadata, errorName?: string): void {
    this.recordRequestId(operation, metadata?.requestId)
    const retries = Math.max((metadata?.attempts ?? 1) - 1, 0)
    if (retries > 0) this.apiRetries[operation] = (this.apiRetries[operation] ?? 0) + retries
    if (!this.log) return
    const fields = [
      operation,
      this.target.endpoint,
      `status=${metadata?.httpStatusCode ?? '-'}`,
      `requestId=${metadata?.requestId ?? '-'}`,
      `retries=${Math.max((metadata?.attempts ?? 1) - 1, 0)}`,
      `${Math.round(performance.now() - startedAt)}ms`,
      ...(errorName ? [`error=${errorName}`] : []),
    ]
    this.log(fields.join(' '))
  }

  async describeKey(keyId: string, abortSignal?: AbortSignal): Promise<KeyMetadata> {
    const output = await this.call('DescribeKey', () =>
      this.kms.send(new DescribeKeyCommand({KeyId: keyId}), {abortSignal}),
    )
    if (!output.KeyMetadata) throw new ServiceError('EmptyResponse', 'DescribeKey', 'no KeyMetadata in the answer')
    return output.KeyMetadata
  }

  async updateAlias(aliasName: string, targetKeyId: string): Promise<void> {
    const command = new UpdateAliasCommand({AliasName: aliasName, TargetKeyId: targetKeyId})
    command.middlewareStack.add(markLostAnswers, {step: 'deserialize', name: 'markLostAnswers', priority: 'high'})
    await this.call('UpdateAlias', () => this.kms.send(command))
  }

  /** One page of every alias in the account and Region, as many per page as KMS allows. */
  async listAliasesPage(
    marker: string | undefined,
    abortSignal?: AbortSignal,
  ): Promise<{aliases: AliasListEntry[]; truncated: boolean; nextMarker?: string}> {
    const output = await this.call('ListAliases', () =>
      this.kms.send(new ListAliasesCommand({Marker: marker, Limit: 100}), {abortSignal}),
    )
    return {aliases: output.Aliases ?? [], truncated: output.Truncated ?? false, nextMarker: output.NextMarker}
  }

  /**
   * Every item of a paged list: `readPage` is called with each NextMarker until a page is not
   * Truncated. A page that says Truncated but gives no marker ends the listing with an error
   * naming it, instead of a list that is silently short.
   */
  private async allPages<T>(
    operation: string,
    readPage: (marker: string | undefined) => Promise<ListPage<T>>,
  ): Promise<T[]> {
    const items: T[] = []
    let marker: string | undefined
    for (let page = 1; ; page++) {
      const output = await this.call(operation, () => readPage(marker))
      items.push(...(output.items ?? []))
      if (!output.Truncated) return items
      if (!output.NextMarker) throw new IncompleteListingError(operation, page)
      marker = output.NextMarker
    }
  }

  /** Every alias in the account and Region, AWS managed ones included. */
  async listAliases(): Promise<AliasListEntry[]> {
    return this.allPages('ListAliases', async (Marker) => {
      const output = await this.kms.send(new ListAliasesCommand({Marker, Limit: 100}))
      return {...output, items: output.Aliases}
    })
  }

  /** Every key in the account and Region, whatever its state or manager. */
  async listKeys(): Promise<KeyListEntry[]> {
    return this.allPages('ListKeys', async (Marker) => {
      const output = await this.kms.send(new ListKeysCommand({Marker, Limit: 1000}))
      return {...output, items: output.Keys}
    })
  }

  /** Every alias that points at `keyId` (a key id or key ARN). */
  async listAliasesOfKey(keyId: string, abortSignal?: AbortSignal): Promise<AliasListEntry[]> {
    return this.allPages('ListAliases', async (Marker) => {
      const output = await this.kms.send(new ListAliasesCommand({KeyId: keyId, Marker, Limit: 100}), {abortSignal})
      return {...output, items: output.Aliases}
    })
  }

  /** The key policy; every KMS key has exactly one, named default. */
  async getKeyPolicy(keyId: string, abortSignal?: AbortSignal): Promise<string> {
    const output = await this.call('GetKeyPolicy', () =>
      this.kms.send(new GetKeyPolicyCommand({KeyId: keyId, PolicyName: 'default'}), {abortSignal}),
    )
    if (output.Policy === undefined) throw new ServiceError('EmptyResponse', 'GetKeyPolicy', 'no Policy in the answer')
    return output.Policy
  }

  /** Every grant on the key. */
  async listGrants(keyId: string, abortSignal?: AbortSignal): Promise<GrantListEntry[]> {
    return this.allPages('ListGrants', async (Marker) => {
      const output = await this.kms.send(new ListGrantsCommand({KeyId: keyId, Marker, Limit: 100}), {abortSignal})
      return {...output, items: output.Grants}
    })
  }

  // The canary's calls. Their answers hold plaintext, ciphertext, signatures or MACs; the debug
  // log, as for every call, gets only the operation, status and request id.

  async encrypt(input: EncryptCommandInput, abortSignal?: AbortSignal): Promise<EncryptCommandOutput> {
    return this.call('Encrypt', () => this.kms.send(new EncryptCommand(input), {abortSignal}))
  }

  async decrypt(input: DecryptCommandInput, abortSignal?: AbortSignal): Promise<DecryptCommandOutput> {
    return this.call('Decrypt', () => this.kms.send(new DecryptCommand(input), {abortSignal}))
  }

  async sign(input: SignCommandInput, abortSignal?: AbortSignal): Promise<SignCommandOutput> {
    return this.call('Sign', () => this.kms.send(new SignCommand(input), {abortSignal}))
  }

  async verify(input: VerifyCommandInput, abortSignal?: AbortSignal): Promise<VerifyCommandOutput> {
    return this.call('Verify', () => this.kms.send(new VerifyCommand(input), {abortSignal}))
  }

  async generateMac(input: GenerateMacCommandInput, abortSignal?: AbortSignal): Promise<GenerateMacCommandOutput> {
    return this.call('GenerateMac', () => this.kms.send(new GenerateMacCommand(input), {abortSignal}))
  }

  async verifyMac(input: VerifyMacCommandInput, abortSignal?: AbortSignal): Promise<VerifyMacCommandOutput> {
    return this.call('VerifyMac', () => this.kms.send(new VerifyMacCommand(input), {abortSignal}))
  }

  private recordRequestId(operation: string, requestId: string | undefined): void {
    if (requestId) (this.requestIds[operation] ??= []).push(requestId)
  }
}
