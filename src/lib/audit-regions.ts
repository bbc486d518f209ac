/**
 * The Regions enabled for an account, from EC2 DescribeRegions. Imported only for --all-regions:
 * the EC2 client is large, and no other run needs it.
 */
import {DescribeRegionsCommand, EC2Client} from '@aws-sdk/client-ec2'

import type {AwsSettings} from './aws-config.js'
import {ConfigurationError} from './errors.js'
import {kmsClientConfig, toKmsRotateError, type KmsClientOptions} from './kms.js'

function fromEnvironment(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value
}

/**
 * Where DescribeRegions goes: --endpoint-url (an emulator serves EC2 on the KMS port), else
 * AWS_ENDPOINT_URL_EC2, else AWS_ENDPOINT_URL, else the SDK's EC2 endpoint for the Region.
 */
export function ec2Endpoint(endpointFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (endpointFlag !== undefined) return endpointFlag
  if (fromEnvironment(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS')?.toLowerCase() === 'true') return undefined
  return fromEnvironment(env, 'AWS_ENDPOINT_URL_EC2') ?? fromEnvironment(env, 'AWS_ENDPOINT_URL')
}

/**
 * The names of the Regions that DescribeRegions calls enabled for the account (opted in, or
 * needing no opt-in), asked in the profile's Region with the KMS client's credentials and transport.
 */
export async function enabledRegions(
  settings: AwsSettings,
  endpointFlag: string | undefined,
  options: KmsClientOptions & {env?: NodeJS.ProcessEnv} = {},
): Promise<string[]> {
  const endpoint = ec2Endpoint(endpointFlag, options.env)
  // KMS at a URL of its own and EC2 at AWS's would list the Regions of another place.
  if (settings.endpoint !== undefined && endpoint === undefined) {
    throw new ConfigurationError(
      'KMS has an endpoint of its own, so --all-regions does not ask AWS for the Regions: ' +
        'set AWS_ENDPOINT_URL_EC2 too, or name the Regions with --regions.',
    )
  }

  const {region, profile, credentials, logger, retryMode, maxAttempts, requestHandler} = kmsClientConfig(settings, options)
  const client = new EC2Client({region, profile, credentials, logger, retryMode, maxAttempts, requestHandler, endpoint})
  try {
    const output = await client.send(new DescribeRegionsCommand({AllRegions: false}))
    options.debugLog?.(`DescribeRegions ${endpoint ?? `ec2.${region}`} regions=${output.Regions?.length ?? 0}`)
    return (output.Regions ?? [])
      .filter((entry) => entry.OptInStatus === undefined || entry.OptInStatus !== 'not-opted-in')
      .map((entry) => entry.RegionName)
      .filter((name): name is string => typeof name === 'string')
      .sort()
  } catch (error) {
    throw toKmsRotateError(error, 'DescribeRegions', {endpoint: endpoint ?? `https://ec2.${region}.amazonaws.com`, profile})
  } finally {
    client.destroy()
  }
}
