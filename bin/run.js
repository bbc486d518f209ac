#!/usr/bin/env node
import {Errors, flush, run} from '@oclif/core'

try {
  await run(process.argv.slice(2), import.meta.url)
  await flush()
} catch (error) {
  // Only errors from choosing a command reach here; each command reports its own.
  if (error instanceof Errors.ExitError) {
    process.exitCode = error.oclif.exit
  } else if (error instanceof Errors.CLIError && error.oclif?.exit === 2) {
    const reason = error.message.split('\n')[0].replace(/\.$/, '')
    process.stderr.write(`kms-rotate: ${reason}. See 'kms-rotate --help'.\n`)
    process.exitCode = 252
  } else {
    process.stderr.write(`kms-rotate: internal error: ${error?.message ?? error}\n`)
    process.exitCode = 255
  }
}
