import * as Errors from '@oclif/core/errors'

import {KmsRotateError, shown, UsageError} from './errors.js'
import {EXIT} from './outcomes.js'

/** A complaint of oclif's flag parser as one usage line that points at the command's --help. */
export function parseFailure(error: unknown, commandId: string): Error {
  // --help has been shown; oclif ends the run this way.
  if (error instanceof Errors.ExitError) return error
  // oclif may put the reason on a line of its own, under a heading such as 'Parsing --FLAG'.
  const [heading, ...reasons] = (error as Error).message
    .split('\n')
    .map((line) => line.replaceAll(/\u001B\[[0-9;]*m/g, '').trim())
    .filter((line) => line !== '' && !line.startsWith('See more help'))
  const firstLine = (
    reasons.length === 0
      ? heading
      : /^The following errors? occurred:$/.test(heading)
        ? reasons[0]
        : `${heading}: ${reasons[0]}`
  )
    .replace(/\.$/, '')
    .replace(/\bflag (?!-)([a-z][\w-]*)/, 'flag --$1')
    .replace(/ but received: ?(.*)$/, (_, value: string) => ` but received ${shown(value)}`)
  return new UsageError(`${firstLine}. See 'kms-rotate ${commandId} --help'.`)
}

/** One line and an exit code for anything that ends the run without a report. */
export function describeFailure(error: Error): {message: string; exitCode: number} {
  if (error instanceof KmsRotateError) return {message: error.message, exitCode: error.exitCode}

  return {
    message: `Internal error: ${error.message}. Run again with --debug and report the output.`,
    exitCode: EXIT.other,
  }
}

/** What a command's catch does: the exit code oclif asked for, or one line on stderr. */
export function endWithFailure(error: Error, argv: readonly string[]): void {
  if (error instanceof Errors.ExitError) {
    process.exitCode = error.oclif.exit
    return
  }

  const {message, exitCode} = describeFailure(error)
  process.stderr.write(`${message}\n`)
  if (argv.includes('--debug') && error.stack) process.stderr.write(`${error.stack}\n`)
  process.exitCode = exitCode
}
