/**
 * Named profiles on the built CLI: credentials from credential_process, the precedence of
 * --profile, AWS_PROFILE and keys in the environment, and an SSO profile nobody has logged in to.
 * An endpoint in front of moto records which access key signed each request.
 */
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {cliEnvironment, linesOf, runCli} from '../support/cli.js'
import {FAKE_CREDENTIALS} from '../support/moto.js'
import {useMoto} from '../support/moto-per-test.js'
import {startRecordingEndpoint, type RecordingEndpoint} from '../support/recording-endpoint.js'
import {aliasAndTarget, ALIAS, SYMMETRIC, type Given} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()

const PROCESS_KEY_ID = 'AKIDFROMCREDENTIALPROCESS'

let given: Given
let endpoint: RecordingEndpoint
let directory: string
let configFile: string

beforeEach(async () => {
  given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
  endpoint = await startRecordingEndpoint(motoUrl)
  directory = mkdtempSync(join(tmpdir(), 'kms-rotate-profiles-'))
  const script = join(directory, 'credentials.sh')
  const answer = {Version: 1, AccessKeyId: PROCESS_KEY_ID, SecretAccessKey: 'secret', SessionToken: 'token'}
  writeFileSync(script, `#!/bin/sh\nprintf '%s' '${JSON.stringify(answer)}'\n`)
  chmodSync(script, 0o755)
  configFile = join(directory, 'config')
  writeFileSync(
    configFile,
    `[profile from-process]
credential_process = ${script}

[profile sso-dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin

[profile sso-legacy]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = Admin

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
`,
  )
})

afterEach(async () => {
  await endpoint.close()
  rmSync(directory, {recursive: true, force: true})
})

/** The environment of a run that reads the test's config file; `credentials` as in cliEnvironment. */
function environment(credentials: boolean, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {...cliEnvironment({credentials}), AWS_CONFIG_FILE: configFile, ...extra}
}

function updateAlias(extra: string[], env: NodeJS.ProcessEnv) {
  const args = ['--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', endpoint.url, '--yes']
  return runCli(['update-alias', ...args, ...extra], env)
}

/** The access key ids that signed the recorded requests. */
function signingKeys(): string[] {
  const keys = endpoint.requests.map(({headers}) => /Credential=([^/]+)\//.exec(headers.authorization ?? '')?.[1])
  return [...new Set(keys.map(String))]
}

describe('a profile with credential_process', () => {
  it('signs with the credentials the process prints, and rotates', async () => {
    // when the profile is the only source of credentials
    const run = await updateAlias(['--profile', 'from-process'], environment(false))

    // then
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe('')
    expect(signingKeys()).toEqual([PROCESS_KEY_ID])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('named by --profile wins over keys in the environment, as in the AWS CLI', async () => {
    const run = await updateAlias(['--profile', 'from-process'], environment(true))
    expect(run.exitCode).toBe(0)
    expect(signingKeys()).toEqual([PROCESS_KEY_ID])
  })

  it('named by AWS_PROFILE gives way to keys in the environment, as in the AWS CLI', async () => {
    const run = await updateAlias([], environment(true, {AWS_PROFILE: 'from-process'}))
    expect(run.exitCode).toBe(0)
    expect(signingKeys()).toEqual([FAKE_CREDENTIALS.accessKeyId])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('named by AWS_PROFILE is used when the environment has no keys', async () => {
    const run = await updateAlias([], environment(false, {AWS_PROFILE: 'from-process'}))
    expect(run.exitCode).toBe(0)
    expect(signingKeys()).toEqual([PROCESS_KEY_ID])
  })
})

describe('an SSO profile without a cached token', () => {
  it.each([
    ['an sso-session section', 'sso-dev'],
    ['the older sso_start_url keys', 'sso-legacy'],
  ])('with %s is exit 253, one line saying to run aws sso login for it, nothing sent', async (_, profile) => {
    // when
    const run = await updateAlias(['--profile', profile], environment(false))

    // then
    expect(run.exitCode).toBe(253)
    expect(linesOf(run.stderr)).toHaveLength(1)
    expect(run.stderr).not.toMatch(/^\s+at /m)
    expect(run.stderr).toContain(`aws sso login --profile ${profile}`)
    expect(endpoint.requests).toEqual([])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('a profile that no config file defines', () => {
  it('named by AWS_PROFILE is exit 253 naming it and the variable', async () => {
    const run = await updateAlias([], environment(true, {AWS_PROFILE: 'no-such-profile'}))
    expect(run.exitCode).toBe(253)
    expect(linesOf(run.stderr)).toHaveLength(1)
    expect(run.stderr).toContain('(no-such-profile) named by AWS_PROFILE')
    expect(endpoint.requests).toEqual([])
  })
})
