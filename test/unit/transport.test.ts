/**
 * The KMS client as the CLI builds it, with a request handler that answers in memory: what goes
 * on the wire (signed or not), the per-attempt debug lines, TLS trust and timeouts.
 */
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import type {Agent as HttpsAgent} from 'node:https'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {DescribeKeyCommand} from '@aws-sdk/client-kms'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {resolveAwsSettings, type AwsOptions} from '../../src/lib/aws-config.js'
import {createKmsClient} from '../../src/lib/kms.js'
import {requestHandlerOptions, unverifiedTlsWarning} from '../../src/lib/transport.js'

const ENDPOINT = 'https://kms.example.test'
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab'
const SECRET_KEY = 'wJalrXUtnFEMI-unit-secret-key'
const SESSION_TOKEN = 'IQoJb3JpZ2luX2Vj-unit-session-token'

interface SentRequest {
  method: string
  headers: Record<string, string>
}

interface Answer {
  status?: number
  body?: object
  /** Thrown instead of answering, as the HTTP handler does when the connection fails. */
  error?: Error
}

/** A request handler that records each request and gives the answers in turn, the last one forever. */
function answering(...answers: Answer[]) {
  const sent: SentRequest[] = []
  const handler = {
    metadata: {handlerProtocol: 'http/1.1'},
    async handle(request: SentRequest) {
      sent.push(request)
      const answer = answers[Math.min(sent.length, answers.length) - 1]
      if (answer.error) throw answer.error
      return {
        response: {
          statusCode: answer.status ?? 200,
          headers: {'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `request-${sent.length}`},
          body: Readable.from([Buffer.from(JSON.stringify(answer.body ?? {}))]),
        },
      }
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  }
  return {sent, handler}
}

type Handler = ReturnType<typeof answering>['handler']

const DESCRIBED = {KeyMetadata: {KeyId: KEY_ID, KeyState: 'Enabled'}}
const SERVER_ERROR = {status: 500, body: {__type: 'KMSInternalException', message: 'try again'}}

async function settings(options: AwsOptions = {}) {
  return resolveAwsSettings({region: 'us-east-1', endpointUrl: ENDPOINT, ...options})
}

let savedEnv: NodeJS.ProcessEnv

beforeEach(() => {
  savedEnv = {...process.env}
})

afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name]
  Object.assign(process.env, savedEnv)
})

/** A client over the in-memory handler that writes its debug lines to `lines`. */
async function debugClient(lines: string[], handler: Handler, options: AwsOptions = {}) {
  return createKmsClient(await settings(options), {debugLog: (line) => lines.push(line)}, {requestHandler: handler})
}

function givenTemporaryCredentials(): void {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'ASIAUNITTESTKEY',
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_SESSION_TOKEN: SESSION_TOKEN,
  })
}

describe('signing', () => {
  it('signs every request with SigV4 and the session token by default', async () => {
    // given
    givenTemporaryCredentials()
    const {sent, handler} = answering({body: DESCRIBED})
    const client = createKmsClient(await settings(), {}, {requestHandler: handler})
    // when
    await client.send(new DescribeKeyCommand({KeyId: KEY_ID}))
    // then
    expect(sent).toHaveLength(1)
    expect(sent[0].headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAUNITTESTKEY\//)
    expect(sent[0].headers['x-amz-security-token']).toBe(SESSION_TOKEN)
  })

  it('with signing off sends no Authorization or token and never asks for credentials', async () => {
    // given credentials in the environment that must not be used, and an answer that needs none
    givenTemporaryCredentials()
    const {sent, handler} = answering({body: DESCRIBED})
    const client = createKmsClient(await settings({signRequests: false}), {}, {requestHandler: handler})
    // when
    const output = await client.send(new DescribeKeyCommand({KeyId: KEY_ID}))
    // then the call went through, unsigned
    expect(output.KeyMetadata?.KeyId).toBe(KEY_ID)
    const names = Object.keys(sent[0].headers).map((name) => name.toLowerCase())
    expect(names.filter((name) => name === 'authorization' || name === 'x-amz-security-token')).toEqual([])
    expect(JSON.stringify(sent)).not.toContain('ASIAUNITTESTKEY')
  })

  it('with signing off needs no credentials at all', async () => {
    const {handler} = answering({body: DESCRIBED})
    const client = createKmsClient(await settings({signRequests: false}), {}, {requestHandler: handler})
    await expect(client.send(new DescribeKeyCommand({KeyId: KEY_ID}))).resolves.toMatchObject(DESCRIBED)
  })
})

describe('credentials', () => {
  let directory: string

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'kms-rotate-credentials-'))
  })

  afterEach(() => rmSync(directory, {recursive: true, force: true}))

  it('are looked up once for every client made from the same settings', async () => {
    // given a profile whose credential_process notes each time it runs
    const runs = join(directory, 'runs')
    const script = join(directory, 'credentials.sh')
    const answer = {Version: 1, AccessKeyId: 'AKIDPROCESS', SecretAccessKey: 'secret'}
    writeFileSync(script, `#!/bin/sh\necho run >> '${runs}'\nprintf '%s' '${JSON.stringify(answer)}'\n`)
    chmodSync(script, 0o755)
    writeFileSync(join(directory, 'config'), `[profile process]\ncredential_process = ${script}\n`)
    process.env.AWS_CONFIG_FILE = join(directory, 'config')
    const shared = await settings({profile: 'process'})
    const {sent, handler} = answering({body: DESCRIBED})
    // when two clients each send a request
    for (const client of [1, 2].map(() => createKmsClient(shared, {}, {requestHandler: handler}))) {
      await client.send(new DescribeKeyCommand({KeyId: KEY_ID}))
    }

    // then both requests were signed with the process's key, which ran once
    expect(sent.map((request) => request.headers.authorization)).toEqual([
      expect.stringContaining('Credential=AKIDPROCESS/'),
      expect.stringContaining('Credential=AKIDPROCESS/'),
    ])
    expect(readFileSync(runs, 'utf8')).toBe('run\n')
  })
})

describe('the debug log', () => {
  it('has a line for each attempt of a retried call, and says where the credentials came from', async () => {
    // given a server error, then an answer
    givenTemporaryCredentials()
    const lines: string[] = []
    const {handler} = answering(SERVER_ERROR, {body: DESCRIBED})
    const client = await debugClient(lines, handler)
    // when
    await client.send(new DescribeKeyCommand({KeyId: KEY_ID}))
    // then
    expect(lines).toEqual([
      'credentials from CREDENTIALS_ENV_VARS',
      expect.stringMatching(new RegExp(`^DescribeKey attempt 1/5 POST ${ENDPOINT}/ signed=yes -> HTTP 500 requestId=request-1 `)),
      expect.stringMatching(new RegExp(`^DescribeKey attempt 2/5 POST ${ENDPOINT}/ signed=yes -> HTTP 200 requestId=request-2 `)),
    ])
  })

  it('names the failure of an attempt that got no answer', async () => {
    // given a connection that is refused every time
    givenTemporaryCredentials()
    const lines: string[] = []
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), {code: 'ECONNREFUSED'})
    const {sent, handler} = answering({error: refused})
    const client = await debugClient(lines, handler)
    // when
    await expect(client.send(new DescribeKeyCommand({KeyId: KEY_ID}))).rejects.toThrow('ECONNREFUSED')
    // then each attempt has its line
    const attempts = lines.filter((line) => line.startsWith('DescribeKey attempt'))
    expect(attempts).toHaveLength(sent.length)
    expect(attempts[0]).toMatch(/ -> ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:443 \d+ms$/)
  })

  it('never holds the secret key, the session token or the signature', async () => {
    givenTemporaryCredentials()
    const lines: string[] = []
    const {sent, handler} = answering(SERVER_ERROR, {body: DESCRIBED})
    const client = await debugClient(lines, handler)
    await client.send(new DescribeKeyCommand({KeyId: KEY_ID}))
    const signature = /Signature=([0-9a-f]+)/.exec(sent[0].headers.authorization)?.[1]
    expect(signature).toBeDefined()
    for (const secret of [SECRET_KEY, SESSION_TOKEN, signature as string, 'Signature=']) {
      expect(lines.join('\n')).not.toContain(secret)
    }
  })

  it('says that a request went unsigned', async () => {
    const lines: string[] = []
    const {handler} = answering({body: DESCRIBED})
    const client = await debugClient(lines, handler, {signRequests: false})
    await client.send(new DescribeKeyCommand({KeyId: KEY_ID}))
    expect(lines).toEqual([expect.stringContaining(' signed=no -> HTTP 200 ')])
  })
})

describe('requestHandlerOptions', () => {
  const logger = {debug() {}, info() {}, warn() {}, error() {}}

  it('gives the connect and read timeouts to the handler, 0 meaning none', async () => {
    const timeouts = await settings({connectTimeoutSeconds: 0, readTimeoutSeconds: 7})
    const options = requestHandlerOptions(timeouts, logger)
    expect(options).toMatchObject({connectionTimeout: 0, socketTimeout: 7000})
  })

  it('checks certificates against Node\'s CAs by default', async () => {
    const agent = requestHandlerOptions(await settings(), logger).httpsAgent as HttpsAgent
    expect(agent.options).toMatchObject({rejectUnauthorized: true})
    expect(agent.options).not.toHaveProperty('ca')
  })

  it('does not check certificates with --no-verify-ssl', async () => {
    const agent = requestHandlerOptions(await settings({verifySsl: false}), logger).httpsAgent as HttpsAgent
    expect(agent.options).toMatchObject({rejectUnauthorized: false})
  })

  it('trusts only the CA bundle when there is one', () => {
    const caBundle = {path: '/etc/ca.pem', source: '--ca-bundle', pem: '-----BEGIN CERTIFICATE-----...'}
    const transport = {verifySsl: true, caBundle, connectTimeoutMs: 1000, readTimeoutMs: 1000}
    const agent = requestHandlerOptions(transport, logger).httpsAgent as HttpsAgent
    expect(agent.options).toMatchObject({rejectUnauthorized: true, ca: caBundle.pem})
  })
})

describe('unverifiedTlsWarning', () => {
  it('warns, naming the endpoint, when certificates of an https endpoint go unchecked', () => {
    const warning = unverifiedTlsWarning({verifySsl: false}, 'https://kms.us-east-1.amazonaws.com')
    expect(warning).toMatch(/^Warning: --no-verify-ssl: the TLS certificate of https:\/\/kms\.us-east-1\.amazonaws\.com is /)
  })

  it.each([
    ['certificates are checked', true, 'https://kms.us-east-1.amazonaws.com'],
    ['the endpoint is plain http', false, 'http://127.0.0.1:4566'],
  ])('says nothing when %s', (_, verifySsl, endpoint) => {
    expect(unverifiedTlsWarning({verifySsl}, endpoint)).toBeUndefined()
  })
})
