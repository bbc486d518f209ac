/**
 * A moto server on a loopback port, for tests and the demo, and a KMS client that builds fixtures
 * in it. Nothing here ever contacts anything but 127.0.0.1.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  KMSClient,
  ListAliasesCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  type GrantConstraints,
  type GrantOperation,
  type KeyMetadata,
  type KeySpec,
  type KeyUsageType,
} from '@aws-sdk/client-kms'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const VENV_DIR = join(REPO_ROOT, '.venv-moto')
const VENV_PYTHON = join(VENV_DIR, 'bin', 'python')
const INSTALL_HINT = "python3 -m pip install 'moto[server]'"

/** The Region and static credentials every fixture and test run uses; moto accepts any. */
export const TEST_REGION = 'us-east-1'
export const FAKE_CREDENTIALS = {accessKeyId: 'testing', secretAccessKey: 'testing'} as const

const STARTUP_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 5000
const PORT_ATTEMPTS = 5

function importsMotoServer(python: string): boolean {
  const result = spawnSync(python, ['-c', 'import moto.server'], {stdio: 'ignore'})
  return result.status === 0
}

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, {stdio: ['ignore', 'inherit', 'inherit']})
  return result.status === 0
}

/**
 * A Python that can run `moto.server`: the system python3, else the repository's .venv-moto,
 * which is created and filled on first use.
 */
export function findMotoPython(): string {
  if (importsMotoServer('python3')) return 'python3'
  if (existsSync(VENV_PYTHON) && importsMotoServer(VENV_PYTHON)) return VENV_PYTHON

  process.stderr.write(`moto is not importable by python3; installing it into ${VENV_DIR}\n`)
  const installed =
    (existsSync(VENV_PYTHON) || run('python3', ['-m', 'venv', VENV_DIR])) &&
    run(VENV_PYTHON, ['-m', 'pip', 'install', '--quiet', 'moto[server]']) &&
    importsMotoServer(VENV_PYTHON)
  if (installed) return VENV_PYTHON

  throw new Error(
    `The KMS integration tests and the demo need moto's server, and it could not be found or installed. ` +
      `Install it with: ${INSTALL_HINT}`,
  )
}

/** A port that was free on 127.0.0.1 a moment ago; the caller retries if someone takes it first. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port was assigned'))))
    })
  })
}

export interface MotoServer {
  readonly url: string
  readonly port: number
  reset(): Promise<void>
  /** Ends the server and waits for it to exit; calling it again does nothing. */
  stop(): Promise<void>
}

export async function resetMoto(url: string): Promise<void> {
  const response = await fetch(`${url}/moto-api/reset`, {method: 'POST'})
  if (!response.ok) throw new Error(`resetting moto at ${url} answered HTTP ${response.status}`)
  await response.arrayBuffer()
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds))
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return
  const exited = waitForExit(child)
  child.kill('SIGTERM')
  const timer = setTimeout(() => {
    if (!hasExited(child)) child.kill('SIGKILL')
  }, STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
}

type StartResult = {started: true; server: MotoServer} | {started: false; portTaken: boolean; output: string}

async function startOnPort(python: string, port: number): Promise<StartResult> {
  const url = `http://127.0.0.1:${port}`
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: REPO_ROOT,
    // moto logs every request; keep only the tail, for the error message if it does not start.
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, PYTHONUNBUFFERED: '1'},
  })
  let output = ''
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000)
  }

  child.stdout?.on('data', keepTail)
  child.stderr?.on('data', keepTail)
  child.on('error', (error) => keepTail(Buffer.from(`\n${error.message}\n`)))

  // Should this process end without stop(), the server goes with it.
  const killOnExit = () => {
    if (!hasExited(child)) child.kill('SIGKILL')
  }

  process.once('exit', killOnExit)

  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  while (Date.now() < deadline && !hasExited(child)) {
    try {
      await resetMoto(url)
      let stopping: Promise<void> | undefined
      const server: MotoServer = {
        url,
        port,
        reset: () => resetMoto(url),
        stop() {
          stopping ??= stopChild(child).then(() => {
            process.removeListener('exit', killOnExit)
          })
          return stopping
        },
      }
      return {started: true, server}
    } catch {
      await delay(200)
    }
  }

  await stopChild(child)
  process.removeListener('exit', killOnExit)
  return {started: false, portTaken: /address already in use|errno 98/i.test(output), output}
}

/** Starts moto on a free loopback port and resolves once it answers. */
export async function startMoto(): Promise<MotoServer> {
  const python = findMotoPython()
  let lastOutput = ''
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const result = await startOnPort(python, await freeLoopbackPort())
    if (result.started) return result.server
    lastOutput = result.output
    if (!result.portTaken) break
  }

  throw new Error(`moto did not start (${python} -m moto.server). Its last output:\n${lastOutput.trim()}`)
}

/** A key as CreateKey returned it, with the fields every fixture relies on. */
export type FixtureKey = KeyMetadata & {KeyId: string; Arn: string}

export interface KeyOptions {
  keySpec?: KeySpec
  keyUsage?: KeyUsageType
  /** A multi-Region primary key; moto gives it an id of mrk- and a dashed UUID. */
  multiRegion?: boolean
}

/** A KMS client with static credentials, for building fixtures in moto and reading the result. */
export class MotoKms {
  readonly client: KMSClient

  constructor(
    readonly url: string,
    readonly region: string = TEST_REGION,
  ) {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    this.client = new KMSClient({region, endpoint: url, credentials: FAKE_CREDENTIALS})
  }

  async createKey({keySpec, keyUsage, multiRegion}: KeyOptions = {}): Promise<FixtureKey> {
    const input = {KeySpec: keySpec, KeyUsage: keyUsage, MultiRegion: multiRegion}
    const {KeyMetadata: key} = await this.client.send(new CreateKeyCommand(input))
    if (!key?.KeyId || !key.Arn) throw new Error('CreateKey answered without a KeyId or Arn')
    return key as FixtureKey
  }

  async createAlias(aliasName: string, keyId: string): Promise<void> {
    await this.client.send(new CreateAliasCommand({AliasName: aliasName, TargetKeyId: keyId}))
  }

  async disableKey(keyId: string): Promise<void> {
    await this.client.send(new DisableKeyCommand({KeyId: keyId}))
  }

  async scheduleKeyDeletion(keyId: string, pendingWindowInDays = 7): Promise<void> {
    await this.client.send(new ScheduleKeyDeletionCommand({KeyId: keyId, PendingWindowInDays: pendingWindowInDays}))
  }

  /** Replaces the key's policy (named default) with this document. */
  async putKeyPolicy(keyId: string, policy: object): Promise<void> {
    const command = new PutKeyPolicyCommand({KeyId: keyId, PolicyName: 'default', Policy: JSON.stringify(policy)})
    await this.client.send(command)
  }

  /** Grants `grantee` these operations on the key; returns the grant id. */
  async createGrant(
    keyId: string,
    grantee: string,
    operations: GrantOperation[],
    options: {retiringPrincipal?: string; constraints?: GrantConstraints} = {},
  ): Promise<string> {
    const {GrantId} = await this.client.send(
      new CreateGrantCommand({
        KeyId: keyId,
        GranteePrincipal: grantee,
        Operations: operations,
        RetiringPrincipal: options.retiringPrincipal,
        Constraints: options.constraints,
      }),
    )
    if (!GrantId) throw new Error('CreateGrant answered without a GrantId')
    return GrantId
  }

  /** The key id the alias points at according to ListAliases, or undefined when there is no such alias. */
  async aliasTarget(aliasName: string): Promise<string | undefined> {
    let marker: string | undefined
    do {
      const page = await this.client.send(new ListAliasesCommand({Marker: marker, Limit: 100}))
      const alias = page.Aliases?.find((entry) => entry.AliasName === aliasName)
      if (alias) return alias.TargetKeyId
      marker = page.Truncated ? page.NextMarker : undefined
    } while (marker)

    return undefined
  }

  destroy(): void {
    this.client.destroy()
  }
}
