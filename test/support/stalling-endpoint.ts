/**
 * A KMS endpoint on 127.0.0.1 that passes requests on to moto, except for the operations it is
 * told to stall (never answered) or to cut (the connection closed before any answer).
 */
import {once} from 'node:events'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export type Misbehaviour = 'stall' | 'cut'

export interface StallingEndpoint {
  url: string
  /** Resolves when a request for `operation` has arrived and been held or cut. */
  arrived(operation: string): Promise<void>
  close(): Promise<void>
}

function operationOf(request: IncomingMessage): string {
  const target = request.headers['x-amz-target']
  return typeof target === 'string' ? target.replace(/^TrentService\./, '') : ''
}

/** Passes one request on to moto and its answer back; `extraHeaders` are added on the way. */
export async function forward(
  motoUrl: string,
  request: IncomingMessage,
  body: Buffer,
  response: ServerResponse,
  extraHeaders: Record<string, string> = {},
) {
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
    ),
  )
  Object.assign(headers, extraHeaders)
  const answer = await fetch(new URL(request.url ?? '/', motoUrl), {method: request.method, headers, body})
  response.writeHead(answer.status, {'content-type': answer.headers.get('content-type') ?? 'application/json'})
  response.end(Buffer.from(await answer.arrayBuffer()))
}

export async function startStallingEndpoint(
  motoUrl: string,
  misbehave: Record<string, Misbehaviour>,
): Promise<StallingEndpoint> {
  const arrivals = new Map<string, () => void>()
  const arrived = new Map<string, Promise<void>>()
  for (const operation of Object.keys(misbehave)) {
    arrived.set(operation, new Promise((resolve) => arrivals.set(operation, resolve)))
  }

  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const operation = operationOf(request)
    const misbehaviour = misbehave[operation]
    if (misbehaviour === 'cut') request.socket.destroy()
    if (misbehaviour !== undefined) {
      arrivals.get(operation)?.()
      return
    }

    await forward(motoUrl, request, Buffer.concat(chunks), response)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const {port} = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    arrived: (operation) => arrived.get(operation) ?? Promise.reject(new Error(`${operation} is passed on`)),
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}
