/**
 * Endpoints on 127.0.0.1 for the transport options: one that passes requests on to moto (with
 * http-proxy-3) over HTTP or HTTPS and keeps the headers each arrived with, and one that accepts
 * connections and never answers.
 */
import {once} from 'node:events'
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {createServer as createTcpServer, type AddressInfo, type Socket} from 'node:net'

import {createProxyServer} from 'http-proxy-3'

export interface RecordedRequest {
  operation: string
  headers: IncomingHttpHeaders
}

export interface RecordingEndpoint {
  url: string
  /** Every request in the order it arrived, with its headers as the CLI sent them. */
  requests: RecordedRequest[]
  close(): Promise<void>
}

/**
 * moto tells services apart by the credential scope in the Authorization header; an unsigned
 * request is given a scope that names KMS, and no signature, on its way to moto only.
 */
const ROUTING_FOR_MOTO = {
  authorization: 'AWS4-HMAC-SHA256 Credential=unsigned/20240101/us-east-1/kms/aws4_request',
}

export async function startRecordingEndpoint(
  motoUrl: string,
  {tls}: {tls?: {key: string; cert: string}} = {},
): Promise<RecordingEndpoint> {
  const requests: RecordedRequest[] = []
  const library = createProxyServer({target: motoUrl})
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const target = request.headers['x-amz-target']
    requests.push({operation: String(target ?? '').replace(/^TrentService\./, ''), headers: {...request.headers}})
    const headers = request.headers.authorization === undefined ? ROUTING_FOR_MOTO : {}
    library.web(request, response, {headers}, () => {
      if (!response.headersSent) response.writeHead(502)
      response.end()
    })
  }

  const server = tls ? createHttpsServer(tls, handle) : createHttpServer(handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const {port} = server.address() as AddressInfo

  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections()
      server.close()
      library.close()
      await once(server, 'close')
    },
  }
}

export interface SilentEndpoint {
  url: string
  close(): Promise<void>
}

/** Accepts every connection and never writes a byte back, so that only a read timeout ends a call. */
export async function startSilentEndpoint(): Promise<SilentEndpoint> {
  const sockets = new Set<Socket>()
  const server = createTcpServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const {port} = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}
