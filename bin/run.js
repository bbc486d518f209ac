#!/usr/bin/env node
// A reader that stopped reading (`| head -1`) has what it wanted; a stdout that cannot be written
// (`>/dev/full`) is said once on stderr. Either way the run ends as it would have, with its own
// exit code: a rotation under way is never cut short by where its report goes.
let stdoutErrorSaid = false
const onStdoutError = (error) => {
  if (error.code === 'EPIPE' || stdoutErrorSaid) return
  stdoutErrorSaid = true
  const reason = error.code ?? error.message
  process.stderr.write(`kms-rotate: stdout could not be written (${reason}); what went there is lost.\n`)
}
process.stdout.on('error', onStdoutError)
// Diagnostics that cannot be written have nowhere else to go.
process.stderr.on('error', () => {})

const argv = process.argv.slice(2)
const {asksForVersion, versionLine} = await import('../dist/lib/version.js')
if (asksForVersion(argv)) {
  // Answered before oclif and the AWS SDK load, and in our format rather than oclif's.
  await new Promise((resolve) => process.stdout.write(`${versionLine()}\n`, resolve))
  process.exit(0)
}

// `kms-rotate help COMMAND`, as AWS CLI users type it, means `kms-rotate COMMAND --help`; a
// leading -h means --help, as it does after a command.
const args =
  argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv[0] === '-h' ? ['--help', ...argv.slice(1)] : argv

// Help at 80 columns, rendered by oclif when the package was built: oclif need not load for it.
const {helpPageName} = await import('../dist/lib/help-pages.js')
const page = helpPageName(args)
if (page !== undefined) {
  const {readFile} = await import('node:fs/promises')
  const text = await readFile(new URL(`../dist/help/${page}.txt`, import.meta.url), 'utf8').catch(() => undefined)
  if (text !== undefined) {
    await new Promise((resolve) => process.stdout.write(text, resolve))
    process.exit(0)
  }
}

// The bundle: the commands, oclif and the AWS SDK in one script, compiled from V8's code cache
// when an earlier run of the same command left one.
// oclif's dependencies call os.homedir() as they load, which throws where HOME is unset and the
// uid has no password entry: say so in one line rather than with their stack trace.
const {homedir} = await import('node:os')
try {
  homedir()
} catch {
  process.stderr.write(`kms-rotate: HOME is not set and uid ${process.getuid?.()} has no home directory; set HOME.\n`)
  process.exit(253)
}

const {codeCacheSetting, loadBundle} = await import('../dist/lib/code-cache.js')
const {fileURLToPath} = await import('node:url')
const asksForHelp = args.some((arg) => arg === '--help' || arg === '-h')
const codeCache = codeCacheSetting(process.env)
if (codeCache.warning) process.stderr.write(`kms-rotate: ${codeCache.warning}\n`)
const bundle = loadBundle(fileURLToPath(new URL('../dist/bundle/cli.cjs', import.meta.url)), {
  cacheDirectory: codeCache.directory,
  purpose: asksForHelp ? 'help' : (args[0] ?? 'help'),
})
const {Errors, run} = bundle.exports
// oclif's command module, as it loads, adds a listener that throws any stdout error but EPIPE,
// which would end a run whose report meets a full disk with a stack trace: only ours stays.
for (const listener of process.stdout.listeners('error')) {
  if (listener !== onStdoutError) process.stdout.removeListener('error', listener)
}

// A run that succeeded leaves the cache for the next; one that failed may have stopped early.
process.once('exit', (code) => {
  if (code === 0) bundle.saveCache()
})

try {
  // No user or linked plugins: there are none to load, and looking under HOME for them can only
  // print oclif's warnings where HOME is unreadable.
  const root = fileURLToPath(new URL('..', import.meta.url))
  // Not followed by oclif's flush, which waits for a drain that a closed stdout never sends: the
  // run ends by setting process.exitCode, and Node writes out what is pending before it exits.
  await run(args, {root, userPlugins: false, devPlugins: false, jitPlugins: false})
} catch (error) {
  // Only errors from choosing a command reach here; each command reports its own.
  if (error instanceof Errors.ExitError) {
    process.exitCode = error.oclif.exit
  } else if (error instanceof Errors.CLIError && error.oclif?.exit === 2) {
    // oclif names a command of several words by its id, `update-alias:extra`, and capitalises.
    const reason = error.message
      .split('\n')[0]
      .replace(/\.$/, '')
      .replace(/^command (\S+) not found/i, (_, id) => `command ${id.replaceAll(':', ' ')} not found`)
    process.stderr.write(`kms-rotate: ${reason}. See 'kms-rotate --help'.\n`)
    process.exitCode = 252
  } else {
    process.stderr.write(`kms-rotate: internal error: ${error?.message ?? error}\n`)
    process.exitCode = 255
  }
}
