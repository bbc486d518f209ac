/** Runs the built CLI as a child process, with an environment that holds nothing of the caller's. */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {FAKE_CREDENTIALS, freeLoopbackPort, REPO_ROOT, TEST_REGION} from './moto.js'

const RUN_TIMEOUT_MS = 30_000

let home: string | undefined

/** A home directory with empty AWS config and credentials files, made on first use. */
function cliHome(): {home: string; configFile: string; credentialsFile: string} {
  home ??= mkdtempSync(join(tmpdir(), 'kms-rotate-cli-home-'))
  const configFile = join(home, 'config')
  const credentialsFile = join(home, 'credentials')
  writeFileSync(configFile, '')
  writeFileSync(credentialsFile, '')
  return {home, configFile, credentialsFile}
}

/** Removes the home directory of the CLI runs; the next run makes a new one. */
export function removeCliHome(): void {
  if (home !== undefined) rmSync(home, {recursive: true, force: true})
  home = undefined
}

export interface CliEnvironmentOptions {
  /** false leaves out AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. */
  credentials?: boolean
  /** false leaves out AWS_REGION. */
  region?: boolean
}

/**
 * The whole environment of a CLI run: fake static credentials, the test Region, no instance
 * metadata, and shared config files that are empty. Nothing is inherited but PATH.
 */
export function cliEnvironment({credentials = true, region = true}: CliEnvironmentOptions = {}): NodeJS.ProcessEnv {
  const {home, configFile, credentialsFile} = cliHome()
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    ...(credentials
      ? {AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey}
      : {}),
    ...(region ? {AWS_REGION: TEST_REGION} : {}),
  }
}

export interface CliResult {
  exitCode: number | null
  stdout: string
  stderr: string
}

export interface StartedCli {
  child: ChildProcess
  stderrSoFar: () => string
  finished: Promise<CliResult>
}

/** Starts `node bin/run.js ARGS` with stdout and stderr captured, for tests that signal it. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = cliEnvironment()): StartedCli {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
  const finished = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (exitCode) => resolve({exitCode, stdout, stderr}))
  }).finally(() => clearTimeout(timer))
  return {child, stderrSoFar: () => stderr, finished}
}

/** `node bin/run.js ARGS`, stdout and stderr captured (so neither is a terminal). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = cliEnvironment()): Promise<CliResult> {
  return startCli(args, env).finished
}

/** An http URL on 127.0.0.1 where nothing listens, so every connection is refused. */
export async function closedLoopbackUrl(): Promise<string> {
  return `http://127.0.0.1:${await freeLoopbackPort()}`
}

/** The non-empty lines of a stream's output. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '')
}

/** Terminal output with its colour and cursor escape sequences taken out. */
function withoutEscapes(screen: string): string {
  return screen.replaceAll(/\u001B\[[0-9;?]*[A-Za-z]/g, '')
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`
}

/** Keys typed on the terminal once `after` shows, later on the screen than the previous step's. */
export interface KeyStep {
  after: string | RegExp
  keys: string
}

/** Where `after` ends in `text`, looking from `from` on; -1 when it is not there yet. */
function endOf(text: string, after: string | RegExp, from: number): number {
  const rest = text.slice(from)
  if (typeof after === 'string') {
    const index = rest.indexOf(after)
    return index === -1 ? -1 : from + index + after.length
  }

  const match = after.exec(rest)
  return match ? from + match.index + match[0].length : -1
}

/**
 * `node bin/run.js ARGS` on a pseudo-terminal (util-linux `script`), as an operator at a shell
 * would run it; stdout and stderr arrive mixed in `screen`, and in `text` without escape
 * sequences. Each step's keys are typed once its text shows.
 */
export async function runOnTerminalTyping(
  args: string[],
  steps: KeyStep[],
  env: NodeJS.ProcessEnv = cliEnvironment(),
): Promise<{exitCode: number | null; screen: string; text: string}> {
  const command = [process.execPath, join(REPO_ROOT, 'bin', 'run.js'), ...args].map(shellQuote).join(' ')
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: {...env, TERM: 'xterm'},
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let screen = ''
  let next = 0
  let seenUpTo = 0
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    screen += chunk
    while (next < steps.length) {
      const end = endOf(withoutEscapes(screen), steps[next].after, seenUpTo)
      if (end === -1) break
      seenUpTo = end
      child.stdin.write(steps[next].keys)
      next += 1
    }
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code) => resolve(code))
    })
    return {exitCode, screen, text: withoutEscapes(screen)}
  } finally {
    clearTimeout(timer)
  }
}

/** The same, answering the confirmation prompt with `answer` and Enter when it shows. */
export async function runOnTerminal(
  args: string[],
  answer: string | undefined,
  env: NodeJS.ProcessEnv = cliEnvironment(),
): Promise<{exitCode: number | null; screen: string; text: string}> {
  return runOnTerminalTyping(args, answer === undefined ? [] : [{after: '? Move ', keys: `${answer}\r`}], env)
}
