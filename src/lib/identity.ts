import {GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'

import type {AwsSettings} from './aws-config.js'
import {escapeControlCharacters} from './errors.js'
import type {CallerIdentity} from './journal.js'
import {kmsClientConfig, type KmsClientOptions} from './kms.js'

function fromEnvironment(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value
}

/**
 * Where GetCallerIdentity goes: --endpoint-url (an emulator such as moto serves STS on the
 * KMS port), else AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the SDK's STS endpoint for
 * the Region. A KMS-only setting, such as AWS_ENDPOINT_URL_KMS, is not an STS endpoint.
 */
export function stsEndpoint(
  endpointFlag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (endpointFlag !== undefined) return endpointFlag
  if (fromEnvironment(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS')?.toLowerCase() === 'true') return undefined
  return fromEnvironment(env, 'AWS_ENDPOINT_URL_STS') ?? fromEnvironment(env, 'AWS_ENDPOINT_URL')
}

export function unknownIdentity(error: string): CallerIdentity {
  return {arn: null, account: null, userId: null, error}
}

/** --preflight basic makes no call beyond the rotation's own; the journal then has the key's account. */
export const NOT_ASKED_IN_BASIC_PREFLIGHT = 'not asked: --preflight basic reads no caller identity'

/**
 * STS GetCallerIdentity with the KMS client's Region, credentials and transport settings. It is
 * only for the record: one attempt, and a failure comes back as an unknown identity.
 */
export async function callerIdentity(
  settings: AwsSettings,
  endpointFlag: string | undefined,
  options: KmsClientOptions = {},
): Promise<CallerIdentity> {
  if (!settings.signRequests) return unknownIdentity('not asked: --no-sign-request sends no credentials')
  const endpoint = stsEndpoint(endpointFlag)
  // KMS at a URL of its own, say an emulator, and STS at AWS's would record a stranger's identity.
  if (settings.endpoint !== undefined && endpoint === undefined) {
    return unknownIdentity('not asked: KMS has an endpoint of its own and AWS_ENDPOINT_URL_STS is not set')
  }

  const {region, profile, credentials, logger, retryMode, requestHandler} = kmsClientConfig(settings, options)
  const client = new STSClient({
    region,
    profile,
    credentials,
    logger,
    retryMode,
    requestHandler,
    endpoint,
    maxAttempts: 1,
  })
  try {
    const output = await client.send(new GetCallerIdentityCommand({}))
    return {arn: output.Arn ?? null, account: output.Account ?? null, userId: output.UserId ?? null, error: null}
  } catch (error) {
    const {name, message} = error as Error
    return unknownIdentity(escapeControlCharacters(`${name}: ${message.split('\n')[0]}`))
  } finally {
    client.destroy()
  }
}
