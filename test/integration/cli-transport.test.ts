/**
 * The AWS CLI's transport options on the built CLI: --debug, TLS trust, timeouts, unsigned
 * requests, --no-paginate and --cli-binary-format, against moto directly or through a local
 * endpoint in front of it.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {cliEnvironment, linesOf, runCli} from '../support/cli.js'
import {makeTestCertificates, opensslAvailable, type TestCertificates} from '../support/certificates.js'
import {useMoto} from '../support/moto-per-test.js'
import {
  startRecordingEndpoint,
  startSilentEndpoint,
  type RecordingEndpoint,
  type SilentEndpoint,
} from '../support/recording-endpoint.js'
import {parseJsonReport} from '../support/report-schema.js'
import {aliasAndTarget, ALIAS, SYMMETRIC, type Given} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()

let given: Given
let endpoint: RecordingEndpoint | SilentEndpoint | undefined

beforeEach(async () => {
  given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
})

afterEach(async () => {
  await endpoint?.close()
  endpoint = undefined
})

function updateAlias(url: string, extra: string[], env: NodeJS.ProcessEnv = cliEnvironment()) {
  const args = ['--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', url, '--yes']
  return runCli(['update-alias', ...args, ...extra], env)
}

function expectOneLineWithoutStack(stderr: string): void {
  expect(linesOf(stderr)).toHaveLength(1)
  expect(stderr).not.toMatch(/^\s+at /m)
}

describe('--debug', () => {
  const SECRET_KEY = 'wJalrXUtnFEMI-kms-rotate-secret-key'
  const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEkms-rotate-session-token'

  it('prints each call and each HTTP attempt on stderr, and never the secret key, session token or signature', async () => {
    // given temporary credentials in the environment
    const env = {...cliEnvironment(), AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_SESSION_TOKEN: SESSION_TOKEN}

    const recording = await startRecordingEndpoint(motoUrl)
    endpoint = recording

    // when
    const run = await updateAlias(recording.url, ['--debug', '--output', 'json'], env)

    // then the rotation went through and stdout holds only the report
    expect(run.exitCode).toBe(0)
    expect(parseJsonReport(run.stdout).outcome).toBe('rotated')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    // one line per call and one per attempt, for every operation
    const debug = linesOf(run.stderr)
    for (const operation of ['DescribeKey', 'UpdateAlias', 'ListAliases']) {
      const call = `^\\[debug\\] ${operation} ${recording.url} status=200 requestId=\\S+ retries=0 \\d+ms$`
      const attempt = `^\\[debug\\] ${operation} attempt 1/\\d+ POST ${recording.url}/ signed=yes -> HTTP 200 requestId=\\S+ \\d+ms$`
      expect(debug).toContainEqual(expect.stringMatching(new RegExp(call)))
      expect(debug).toContainEqual(expect.stringMatching(new RegExp(attempt)))
    }

    expect(debug).toContainEqual('[debug] credentials from CREDENTIALS_ENV_VARS')
    // and nothing secret anywhere: not the keys, not any signature the requests carried
    const signatures = recording.requests.map(
      (request) => /Signature=([0-9a-f]{64})/.exec(String(request.headers.authorization))?.[1],
    )
    expect(signatures.length).toBeGreaterThanOrEqual(4)
    expect(signatures.every((signature) => signature !== undefined)).toBe(true)
    expect(recording.requests.every((request) => request.headers['x-amz-security-token'] === SESSION_TOKEN)).toBe(true)
    for (const output of [run.stdout, run.stderr]) {
      for (const signature of signatures) expect(output).not.toContain(signature)
      expect(output).not.toContain(SECRET_KEY)
      expect(output).not.toContain(SESSION_TOKEN)
      expect(output).not.toContain('Signature=')
      expect(output).not.toMatch(/authorization/i)
    }
  })
})

describe('--endpoint-url', () => {
  it('without http:// or https:// is a usage error, exit 252, before any request', async () => {
    const run = await updateAlias('127.0.0.1:4566', [])
    expect(run.exitCode).toBe(252)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain("--endpoint-url '127.0.0.1:4566' is not a valid http:// or https:// URL")
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe.skipIf(!opensslAvailable)(
  `an HTTPS endpoint whose certificate comes from a private CA${opensslAvailable ? '' : ' (skipped: no openssl on PATH)'}`,
  () => {
    let certificates: TestCertificates
    let directory: string

    beforeAll(() => {
      certificates = makeTestCertificates()
    })

    afterAll(() => certificates.remove())

    beforeEach(async () => {
      endpoint = await startRecordingEndpoint(motoUrl, {tls: {key: certificates.key, cert: certificates.cert}})
      directory = mkdtempSync(join(tmpdir(), 'kms-rotate-ca-bundle-'))
    })

    afterEach(() => rmSync(directory, {recursive: true, force: true}))

    it('fails SSL validation without a CA bundle: exit 255, one line, nothing changed', async () => {
      // when
      const run = await updateAlias(endpoint!.url, [])

      // then
      expect(run.exitCode).toBe(255)
      expectOneLineWithoutStack(run.stderr)
      expect(run.stderr).toContain(`SSL validation failed for ${endpoint!.url}`)
      expect(run.stderr).toContain('--ca-bundle')
      expect(run.stdout).toBe('')
      expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
    })

    it('rotates with --ca-bundle naming the CA', async () => {
      const run = await updateAlias(endpoint!.url, ['--ca-bundle', certificates.caFile, '--output', 'json'])
      expect(run.exitCode).toBe(0)
      expect(run.stderr).toBe('')
      expect(parseJsonReport(run.stdout).outcome).toBe('rotated')
      expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    })

    it('rotates with AWS_CA_BUNDLE naming the CA', async () => {
      const env = {...cliEnvironment(), AWS_CA_BUNDLE: certificates.caFile}
      const run = await updateAlias(endpoint!.url, ['--output', 'json'], env)
      expect(run.exitCode).toBe(0)
      expect(parseJsonReport(run.stdout).outcome).toBe('rotated')
      expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    })

    it("rotates with the profile's ca_bundle naming the CA", async () => {
      // given a config file whose default profile names the bundle
      const configFile = join(directory, 'config')
      writeFileSync(configFile, `[default]\nca_bundle = ${certificates.caFile}\n`)
      const env = {...cliEnvironment(), AWS_CONFIG_FILE: configFile}

      // when
      const run = await updateAlias(endpoint!.url, ['--output', 'json'], env)

      // then
      expect(run.exitCode).toBe(0)
      expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    })

    it('takes --ca-bundle over AWS_CA_BUNDLE', async () => {
      // given AWS_CA_BUNDLE names a file that is not there
      const env = {...cliEnvironment(), AWS_CA_BUNDLE: join(directory, 'missing.pem')}

      // when the flag names the right one
      const run = await updateAlias(endpoint!.url, ['--ca-bundle', certificates.caFile], env)

      // then
      expect(run.exitCode).toBe(0)
      expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    })

    it('rotates with --no-verify-ssl, warning once on stderr that the certificate is not checked', async () => {
      const run = await updateAlias(endpoint!.url, ['--no-verify-ssl', '--output', 'json'])
      expect(run.exitCode).toBe(0)
      expect(linesOf(run.stderr)).toEqual([expect.stringMatching(/^Warning: --no-verify-ssl: .*not checked/)])
      expect(run.stderr).toContain(endpoint!.url)
      expect(parseJsonReport(run.stdout).outcome).toBe('rotated')
      expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    })
  },
)

describe('--ca-bundle and AWS_CA_BUNDLE that cannot be used', () => {
  it.each([
    ['--ca-bundle', (path: string) => ({args: ['--ca-bundle', path], env: cliEnvironment()})],
    ['AWS_CA_BUNDLE', (path: string) => ({args: [], env: {...cliEnvironment(), AWS_CA_BUNDLE: path}})],
  ])('a missing file named by %s is exit 253 naming the path, before any request', async (source, arrange) => {
    // given
    const recording = await startRecordingEndpoint(motoUrl)
    endpoint = recording
    const path = join(tmpdir(), 'kms-rotate-no-such-bundle.pem')
    const {args, env} = arrange(path)

    // when
    const run = await updateAlias(recording.url, args, env)

    // then
    expect(run.exitCode).toBe(253)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain(`'${path}' from ${source} cannot be read`)
    expect(recording.requests).toEqual([])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('--cli-read-timeout', () => {
  it('ends a call that gets no answer: exit 255, one "Read timeout on endpoint URL" line, no stack trace', async () => {
    // given an endpoint that accepts connections and never answers
    const silent = await startSilentEndpoint()
    endpoint = silent

    // when
    const run = await updateAlias(silent.url, ['--cli-read-timeout', '1'])

    // then
    expect(run.exitCode).toBe(255)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain(`Read timeout on endpoint URL: "${silent.url}"`)
    expect(run.stdout).toBe('')
  })

  it.each([['--cli-read-timeout'], ['--cli-connect-timeout']])('%s -1 is a usage error, exit 252', async (flag) => {
    const run = await updateAlias(motoUrl, [flag, '-1'])
    expect(run.exitCode).toBe(252)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain(flag)
  })

  it('0 (no timeout) and a connect timeout rotate against an endpoint that answers', async () => {
    const run = await updateAlias(motoUrl, ['--cli-read-timeout', '0', '--cli-connect-timeout', '5', '--output', 'json'])
    expect(run.exitCode).toBe(0)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })
})

describe('--no-sign-request', () => {
  it('sends every request without Authorization and needs no credentials at all', async () => {
    // given no credentials anywhere, and an endpoint that records what arrives
    const recording = await startRecordingEndpoint(motoUrl)
    endpoint = recording

    // when
    const env = cliEnvironment({credentials: false})
    const run = await updateAlias(recording.url, ['--no-sign-request', '--output', 'json'], env)

    // then the rotation went through, unsigned
    expect(run.exitCode).toBe(0)
    expect(parseJsonReport(run.stdout).outcome).toBe('rotated')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    expect(recording.requests.map((request) => request.operation)).toEqual(
      expect.arrayContaining(['DescribeKey', 'UpdateAlias', 'ListAliases']),
    )
    for (const {headers} of recording.requests) {
      expect(headers).not.toHaveProperty('authorization')
      expect(headers).not.toHaveProperty('x-amz-security-token')
    }
  })

  it('leaves requests signed without it', async () => {
    const recording = await startRecordingEndpoint(motoUrl)
    endpoint = recording
    const run = await updateAlias(recording.url, [])
    expect(run.exitCode).toBe(0)
    for (const {headers} of recording.requests) expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /)
  })
})

describe('--no-paginate', () => {
  it('rotates when the alias is on the first ListAliases page', async () => {
    const run = await updateAlias(motoUrl, ['--no-paginate', '--output', 'json'])
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.verification).toMatchObject({pagesRead: 1, error: null})
  })
})

describe('--cli-binary-format', () => {
  it.each([['base64'], ['raw-in-base64-out']])('%s is accepted and changes nothing in the rotation', async (format) => {
    const run = await updateAlias(motoUrl, ['--cli-binary-format', format, '--output', 'json'])
    expect(run.exitCode).toBe(0)
    expect(parseJsonReport(run.stdout).outcome).toBe('rotated')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('another value is a usage error, exit 252, naming the flag and the values it takes', async () => {
    const run = await updateAlias(motoUrl, ['--cli-binary-format', 'hex'])
    expect(run.exitCode).toBe(252)
    expectOneLineWithoutStack(run.stderr)
    expect(run.stderr).toContain('--cli-binary-format')
    expect(run.stderr).toContain('base64, raw-in-base64-out')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})
