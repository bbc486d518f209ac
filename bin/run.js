#!/usr/bin/env node
const argv = process.argv.slice(2)
const {asksForVersion, versionLine} = await import('../dist/lib/version.js')
if (asksForVersion(argv)) {
  // Answered before oclif and the AWS SDK load, and in our format rather than oclif's.
  await new Promise((resolve) => process.stdout.write(`${versionLine()}\n`, resolve))
  process.exit(0)
}

// `kms-rotate help COMMAND`, as AWS CLI users type it, means `kms-rotate COMMAND --help`.
const args = argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv

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
const {codeCacheSetting, loadBundle} = await import('../dist/lib/code-cache.js')
const {fileURLToPath} = await import('node:url')
const asksForHelp = args.some((arg) => arg === '--help' || arg === '-h')
const codeCache = codeCacheSetting(process.env)
if (codeCache.warning) process.stderr.write(`kms-rotate: ${codeCache.warning}\n`)
const bundle = loadBundle(fileURLToPath(new URL('../dist/bundle/cli.cjs', import.meta.url)), {
  cacheDirectory: codeCache.directory,
  purpose: asksForHelp ? 'help' : (args[0] ?? 'help'),
})
const {Errors, flush, run} = bundle.exports

// A run that succeeded leaves the cache for the next; one that failed may have stopped early.
process.once('exit', (code) => {
  if (code === 0) bundle.saveCache()
})

try {
  await run(args, import.meta.url)
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
