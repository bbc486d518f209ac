import {spawn} from 'node:child_process'

import {shown} from './errors.js'

export interface PagerSettings {
  /** --no-cli-pager */
  noCliPager: boolean
  /** The profile's cli_pager, when it has one. */
  profilePager?: string
  /** Whether stdout is a terminal; a pager is for a person reading it. */
  stdoutIsTerminal: boolean
}

/** The pager command line to run and the setting that named it. */
export interface Pager {
  command: string
  source: string
}

/**
 * The pager for the output, if any: AWS_PAGER, else the profile's cli_pager, and only when stdout
 * is a terminal. AWS_PAGER set to the empty string means no pager, even over cli_pager.
 */
export function pagerFor(settings: PagerSettings, env: NodeJS.ProcessEnv = process.env): Pager | undefined {
  if (settings.noCliPager || !settings.stdoutIsTerminal) return undefined
  const [source, command] =
    env.AWS_PAGER === undefined
      ? ["the profile's cli_pager", settings.profilePager]
      : ['AWS_PAGER', env.AWS_PAGER]
  return command === undefined || command.trim() === '' ? undefined : {command, source}
}

/** sh's exit codes for a command it could not find or could not run. */
const COULD_NOT_START = new Set([126, 127])

/**
 * Writes `text` to the pager's stdin and waits for the pager to exit. If the pager cannot start,
 * the text goes straight to stdout and one line on stderr says why.
 */
export async function writeThroughPager(
  text: string,
  pager: Pager,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  // Ctrl-C is for the pager while it runs (less ignores it); without a listener it would end us.
  const ignoreSigint = () => {}
  process.on('SIGINT', ignoreSigint)
  try {
    const outcome = await runPager(text, pager.command, env)
    if (outcome.started) return
    process.stdout.write(text)
    process.stderr.write(
      `The pager ${shown(pager.command)} from ${pager.source} could not start ` +
        `(${outcome.reason}), so the output is printed as is: fix the command, or pass --no-cli-pager.\n`,
    )
  } finally {
    process.removeListener('SIGINT', ignoreSigint)
  }
}

type PagerOutcome = {started: true} | {started: false; reason: string}

function runPager(text: string, command: string, env: NodeJS.ProcessEnv): Promise<PagerOutcome> {
  return new Promise((resolve) => {
    // The command line may carry options and quotes, like `less -R`; the shell reads it as typed.
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['pipe', 'inherit', 'inherit'],
      // As the AWS CLI does: less quits on a short page, keeps colours and leaves the screen as is.
      env: {...env, LESS: env.LESS ?? 'FRX'},
    })
    child.once('error', (error) => resolve({started: false, reason: error.message}))
    child.once('close', (code) =>
      resolve(code !== null && COULD_NOT_START.has(code) ? {started: false, reason: `exit ${code}`} : {started: true}),
    )
    // A pager quit before reading everything closes the pipe; what it did not show is not wanted.
    child.stdin.on('error', () => {})
    child.stdin.end(text)
  })
}
