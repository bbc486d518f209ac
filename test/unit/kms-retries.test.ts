/**
 * The SDK client's retries, seen on the wire: a loopback server answers each KMS request as a
 * test tells it to, and counts what arrived. aws-sdk-client-mock cannot show this, since it
 * replaces the client's middleware and transport.
 */
import {once} from 'node:events'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {resolveAwsSettings} from '../../src/lib/aws-config.js'
import {UpdateAnswerLostError} from '../../src/lib/errors.js'
import {createKmsClient, KmsGateway} from '../../src/lib/kms.js'

type Answer = 'drop' | {status: number; body: object}

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab'
const KEY_METADATA = {KeyId: KEY_ID, Arn: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`}
const ANSWERS: Record<string, Answer> = {
  ok: {status: 200, body: {}},
  internal: {status: 500, body: {__type: 'KMSInternalException', message: 'internal'}},
  described: {status: 200, body: {KeyMetadata: KEY_METADATA}},
}

let server: Server
let endpoint: string
let script: Answer[] = []
const arrived: string[] = []

function operationOf(request: IncomingMessage): string {
  return String(request.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '')
}

function answer(request: IncomingMessage, response: ServerResponse): void {
  request.resume()
  request.on('end', () => {
    arrived.push(operationOf(request))
    const next = script.shift() ?? ANSWERS.ok
    if (next === 'drop') {
      request.socket.destroy()
      return
    }

    response.writeHead(next.status, {'content-type': 'application/x-amz-json-1.1'})
    response.end(JSON.stringify(next.body))
  })
}

/** A gateway configured as the CLI configures it: five attempts per call unless told otherwise. */
async function gateway(): Promise<KmsGateway> {
  const settings = await resolveAwsSettings({region: 'us-east-1', endpointUrl: endpoint})
  return new KmsGateway(createKmsClient(settings), {endpoint})
}

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE'
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
  server = createServer(answer)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterEach(() => {
  script = []
  arrived.length = 0
})

afterAll(async () => {
  delete process.env.AWS_ACCESS_KEY_ID
  delete process.env.AWS_SECRET_ACCESS_KEY
  server.closeAllConnections()
  server.close()
})

describe('UpdateAlias on the wire', () => {
  it('is sent once when the connection closes before the answer, and says the answer was lost', async () => {
    // given a server that takes UpdateAlias and closes the connection without answering
    script = ['drop']
    const kms = await gateway()
    // when the alias is updated
    const error = await kms.updateAlias('alias/app', KEY_ID).catch((error_: unknown) => error_)
    // then the write went out once, and nothing sent it again
    expect(error).toBeInstanceOf(UpdateAnswerLostError)
    expect((error as Error).message).toContain('closed before UpdateAlias was answered')
    expect(arrived).toEqual(['UpdateAlias'])
    expect(kms.apiRetries).toEqual({})
  })

  it('is retried after server errors, and the retries are counted', async () => {
    // given three KMSInternalException answers before success
    script = [ANSWERS.internal, ANSWERS.internal, ANSWERS.internal, ANSWERS.ok]
    const kms = await gateway()
    // when the alias is updated
    await kms.updateAlias('alias/app', KEY_ID)
    // then the SDK sent it four times and the gateway counted three retries
    expect(arrived).toEqual(['UpdateAlias', 'UpdateAlias', 'UpdateAlias', 'UpdateAlias'])
    expect(kms.apiRetries).toEqual({UpdateAlias: 3})
  })
})

describe('reads on the wire', () => {
  it('retries a DescribeKey whose connection closed, since reading twice is harmless', async () => {
    // given a server that drops the first DescribeKey
    script = ['drop', ANSWERS.described]
    const kms = await gateway()
    // when a key is described
    const key = await kms.describeKey(KEY_ID)
    // then the second attempt answered
    expect(key.KeyId).toBe(KEY_ID)
    expect(arrived).toEqual(['DescribeKey', 'DescribeKey'])
    expect(kms.apiRetries).toEqual({DescribeKey: 1})
  })
})
