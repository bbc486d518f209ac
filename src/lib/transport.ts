/**
 * How requests travel: TLS trust, timeouts, unsigned requests, and a line per HTTP attempt for
 * --debug. Only kms.ts imports this, inside the dynamic import of the AWS SDK.
 */
import {Agent as HttpAgent} from 'node:http'
import {Agent as HttpsAgent} from 'node:https'

import type {
  AbsoluteLocation,
  DeserializeHandlerOptions,
  DeserializeMiddleware,
  HttpAuthScheme,
  Logger,
  NodeHttpHandlerOptions,
} from '@smithy/types'

import type {AwsSettings} from './aws-config.js'
import {escapeControlCharacters} from './errors.js'

type TransportSettings = Pick<AwsSettings, 'verifySsl' | 'caBundle' | 'connectTimeoutMs' | 'readTimeoutMs'>

/** The options of the NodeHttpHandler: its agents carry the TLS trust, its timeouts the CLI's. */
export function requestHandlerOptions(settings: TransportSettings, logger: Logger): NodeHttpHandlerOptions {
  return {
    // 0 turns each of them off, as the AWS CLI documents for its timeout options.
    connectionTimeout: settings.connectTimeoutMs,
    // An answer that stops arriving for this long ends the attempt, like the AWS CLI's read timeout.
    socketTimeout: settings.readTimeoutMs,
    httpAgent: new HttpAgent({keepAlive: true}),
    httpsAgent: new HttpsAgent({
      keepAlive: true,
      rejectUnauthorized: settings.verifySsl,
      // The bundle replaces Node's list of CAs, as a CA bundle does in the AWS CLI.
      ...(settings.caBundle ? {ca: settings.caBundle.pem} : {}),
    }),
    logger,
  }
}

/** Said once on stderr, since nothing else shows that the endpoint's identity goes unchecked. */
export function unverifiedTlsWarning(
  settings: Pick<AwsSettings, 'verifySsl'>,
  endpoint: string,
): string | undefined {
  if (settings.verifySsl || !endpoint.startsWith('https:')) return undefined
  return (
    `Warning: --no-verify-ssl: the TLS certificate of ${endpoint} is not checked, ` +
    'so anyone on the network path could read or change these requests.'
  )
}

const NO_AUTH = 'smithy.api#noAuth'

/**
 * Client settings for unsigned requests: the SDK's own "no auth" scheme, whose identity is
 * empty and whose signer leaves the request as it is, chosen for every operation.
 */
export function unsignedRequestConfig(): {
  httpAuthSchemeProvider: () => Array<{schemeId: string}>
  httpAuthSchemes: HttpAuthScheme[]
} {
  return {
    httpAuthSchemeProvider: () => [{schemeId: NO_AUTH}],
    httpAuthSchemes: [
      {
        schemeId: NO_AUTH,
        identityProvider: () => async () => ({}),
        signer: {sign: async (request) => request},
      },
    ],
  }
}

interface WireRequest {
  method: string
  protocol: string
  hostname: string
  port?: number
  path: string
  headers: Record<string, string>
}

interface WireResponse {
  statusCode: number
  headers: Record<string, string>
}

function isWireRequest(value: unknown): value is WireRequest {
  return typeof value === 'object' && value !== null && 'hostname' in value && 'headers' in value
}

function header(headers: Record<string, string>, name: string): string | undefined {
  const found = Object.keys(headers).find((key) => key.toLowerCase() === name)
  return found === undefined ? undefined : headers[found]
}

/** 'attempt=2; max=3' as the retry middleware writes it, shown as 2/3. */
function attemptOf(request: WireRequest): string {
  const value = header(request.headers, 'amz-sdk-request') ?? ''
  const attempt = /attempt=(\d+)/.exec(value)?.[1] ?? '1'
  const max = /max=(\d+)/.exec(value)?.[1]
  return max ? `${attempt}/${max}` : attempt
}

/**
 * One line per HTTP attempt. Header values are never printed: the Authorization header and
 * X-Amz-Security-Token carry the signature and the session token, so only whether the request
 * was signed is said.
 */
export function logEachAttempt<Input extends object, Output extends object>(
  log: (line: string) => void,
): DeserializeMiddleware<Input, Output> {
  return (next, context) => async (args) => {
    const {request} = args
    if (!isWireRequest(request)) return next(args)
    const startedAt = performance.now()
    const port = request.port === undefined ? '' : `:${request.port}`
    const operation = (context.commandName ?? '').replace(/Command$/, '')
    const head = [
      `${operation} attempt ${attemptOf(request)}`,
      `${request.method} ${request.protocol}//${request.hostname}${port}${request.path}`,
      `signed=${header(request.headers, 'authorization') === undefined ? 'no' : 'yes'}`,
    ].join(' ')
    const took = () => `${Math.round(performance.now() - startedAt)}ms`
    try {
      const output = await next(args)
      const response = output.response as WireResponse
      const requestId = header(response.headers, 'x-amzn-requestid') ?? '-'
      log(`${head} -> HTTP ${response.statusCode} requestId=${requestId} ${took()}`)
      return output
    } catch (error) {
      const {name, code, message} = error as Partial<NodeJS.ErrnoException>
      const reason = escapeControlCharacters(`${code ?? name ?? 'Error'}: ${String(message).split('\n')[0]}`)
      log(`${head} -> ${reason} ${took()}`)
      throw error
    }
  }
}

/** Closest to the network: after the deserializer, so that each retry and its raw answer pass by. */
export const LOG_EACH_ATTEMPT: DeserializeHandlerOptions & AbsoluteLocation = {
  step: 'deserialize',
  priority: 'low',
  name: 'kmsRotateLogEachAttempt',
}
