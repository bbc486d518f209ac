/**
 * V8's code cache across processes, as runs use it: the built loader (dist/lib/code-cache.js) in
 * one child process per load, then the CLI itself against moto with its cache in a directory of
 * the test's own.
 */
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {cliEnvironment, runCli} from '../support/cli.js'
import {REPO_ROOT} from '../support/moto.js'
import {useMoto} from '../support/moto-per-test.js'

const LOADER = join(REPO_ROOT, 'dist', 'lib', 'code-cache.js')

let work: string
let bundle: string
let cacheDirectory: string

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'kms-rotate-code-cache-'))
  bundle = join(work, 'cli.cjs')
  cacheDirectory = join(work, 'cache')
})

afterEach(() => {
  rmSync(work, {recursive: true, force: true})
})

function writeBundle(value: string): void {
  writeFileSync(bundle, `function answer() { return ${value} }\nmodule.exports = {answer}\n`)
}

interface ChildLoad {
  cacheUsed: boolean
  answer: number
}

/** loadBundle in a new Node process, then saveCache when `save`; what it loaded. null: no cache. */
function loadInChild(purpose: string, save = true, directory: string | null = cacheDirectory): ChildLoad {
  const script = `
    import {loadBundle} from ${JSON.stringify(LOADER)}
    const loaded = loadBundle(${JSON.stringify(bundle)}, {cacheDirectory: ${JSON.stringify(directory)} ?? undefined, purpose: ${JSON.stringify(purpose)}})
    process.stdout.write(JSON.stringify({cacheUsed: loaded.cacheUsed, answer: loaded.exports.answer()}))
    if (${save}) loaded.saveCache()
  `
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'})) as ChildLoad
}

function cacheFiles(): string[] {
  try {
    return readdirSync(cacheDirectory).sort()
  } catch {
    return []
  }
}

describe('the code cache across processes', () => {
  it('is written by one run and taken by the next', () => {
    // given a bundle and no cache
    writeBundle('42')

    // when one process loads and saves, and another loads
    const first = loadInChild('update-alias')
    const second = loadInChild('update-alias')

    // then the second compiled from the first one's cache, to the same module
    expect(first).toEqual({cacheUsed: false, answer: 42})
    expect(second).toEqual({cacheUsed: true, answer: 42})
    expect(cacheFiles()).toHaveLength(1)
    expect(cacheFiles()[0]).toMatch(new RegExp(`^[0-9a-f]{32}-${process.version}-${process.arch}-update-alias\\.v8$`))
  })

  it('is never used for a bundle that changed, even to one of the same length', () => {
    // given a cache saved for one bundle
    writeBundle('41')
    loadInChild('update-alias')
    const saved = cacheFiles()

    // when the bundle changes without changing length (V8 alone would take the old bytecode)
    writeBundle('42')
    const changed = loadInChild('update-alias')

    // then the new source ran, and saved a cache of its own beside the old build's
    expect(changed).toEqual({cacheUsed: false, answer: 42})
    expect(cacheFiles()).toHaveLength(2)
    expect(cacheFiles()).toEqual(expect.arrayContaining(saved))
    expect(loadInChild('update-alias')).toEqual({cacheUsed: true, answer: 42})
  })

  it('deletes the caches of other builds once they have gone a week unused', () => {
    // given caches of two earlier builds, one untouched for eight days, one used yesterday
    writeBundle('40')
    loadInChild('update-alias')
    const [weekOld] = cacheFiles()
    writeBundle('41')
    loadInChild('update-alias')
    const [recent] = cacheFiles().filter((name) => name !== weekOld)
    const days = (count: number) => new Date(Date.now() - count * 24 * 60 * 60 * 1000)
    utimesSync(join(cacheDirectory, weekOld), days(8), days(8))
    utimesSync(join(cacheDirectory, recent), days(1), days(9))

    // when a third build saves its cache
    writeBundle('42')
    loadInChild('update-alias')

    // then only the one unused for a week is gone
    expect(cacheFiles()).toHaveLength(2)
    expect(cacheFiles()).toContain(recent)
    expect(cacheFiles()).not.toContain(weekOld)
  })

  it('is kept per purpose, so one command never takes another command’s', () => {
    writeBundle('42')
    loadInChild('update-alias')

    expect(loadInChild('audit').cacheUsed).toBe(false)
    expect(cacheFiles().map((name) => name.split(`-${process.arch}-`)[1])).toEqual(['audit.v8', 'update-alias.v8'])
  })

  it('names a purpose it does not know "other", so no argument becomes part of a path', () => {
    writeBundle('42')
    loadInChild('../../etc/passwd')
    expect(cacheFiles()).toHaveLength(1)
    expect(cacheFiles()[0]).toMatch(/-other\.v8$/)
  })

  it('is refused by V8 when damaged: the bundle compiles from source and the next save repairs it', () => {
    // given a cache file that is not V8's
    writeBundle('42')
    loadInChild('update-alias')
    writeFileSync(join(cacheDirectory, cacheFiles()[0]), 'not bytecode')

    // when the bundle loads, then the module is still right and the cache was not used
    expect(loadInChild('update-alias')).toEqual({cacheUsed: false, answer: 42})
    // and that run's save replaced it
    expect(loadInChild('update-alias')).toEqual({cacheUsed: true, answer: 42})
  })

  it('is never handed to V8 when its bytes changed on disk, where V8 would crash on it', () => {
    // given a saved cache with bytes flipped in the middle of the bytecode
    writeBundle('42')
    loadInChild('update-alias')
    const file = join(cacheDirectory, cacheFiles()[0])
    const bytes = readFileSync(file)
    bytes.fill(0xff, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 8)
    writeFileSync(file, bytes)

    // when the bundle loads, then it compiled from source, and its save repaired the file
    expect(loadInChild('update-alias')).toEqual({cacheUsed: false, answer: 42})
    expect(loadInChild('update-alias')).toEqual({cacheUsed: true, answer: 42})
  })

  it('is neither read nor written in a directory that others may write', () => {
    // given a good cache, in a directory then opened to everyone
    writeBundle('42')
    loadInChild('update-alias')
    chmodSync(cacheDirectory, 0o777)

    // when the bundle loads and saves, then the cache was not taken and nothing was added
    expect(loadInChild('update-alias')).toEqual({cacheUsed: false, answer: 42})
    expect(cacheFiles()).toHaveLength(1)
  })

  it('leaves no temporary file when the rename fails, and removes those of writers that died', () => {
    // given a directory where the cache file should go, and a temporary file two hours old
    writeBundle('42')
    loadInChild('other')
    const [other] = cacheFiles()
    mkdirSync(join(cacheDirectory, other.replace(/other\.v8$/, 'update-alias.v8')))
    const abandoned = join(cacheDirectory, `${other}.12345.tmp`)
    writeFileSync(abandoned, 'half a cache')
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000)
    utimesSync(abandoned, twoHoursAgo, twoHoursAgo)

    // when a run saves, and then another purpose saves
    expect(loadInChild('update-alias')).toEqual({cacheUsed: false, answer: 42})
    loadInChild('audit')

    // then no temporary file is left
    expect(cacheFiles().filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('skips a FIFO or a link to an endless device at its name instead of waiting or filling memory', () => {
    // given a FIFO at one purpose's name and a link to /dev/zero at another's
    writeBundle('42')
    loadInChild('other')
    const [other] = cacheFiles()
    execFileSync('mkfifo', [join(cacheDirectory, other.replace(/other\.v8$/, 'update-alias.v8'))])
    symlinkSync('/dev/zero', join(cacheDirectory, other.replace(/other\.v8$/, 'audit.v8')))

    // when the bundle loads for each, then it compiled from source, promptly
    expect(loadInChild('update-alias', false)).toEqual({cacheUsed: false, answer: 42})
    expect(loadInChild('audit', false)).toEqual({cacheUsed: false, answer: 42})
  })

  it('goes on sweeping old caches past an entry it cannot remove', () => {
    // given week-old caches of another build, and a directory named as a third build's cache
    writeBundle('40')
    loadInChild('audit')
    loadInChild('update-alias')
    const old = cacheFiles()
    const directoryNamedAsCache = `${'0'.repeat(32)}${old[0].slice(32)}`
    mkdirSync(join(cacheDirectory, directoryNamedAsCache))
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 60 * 60 * 1000)
    for (const name of [...old, directoryNamedAsCache]) utimesSync(join(cacheDirectory, name), eightDaysAgo, eightDaysAgo)

    // when another build saves
    writeBundle('42')
    loadInChild('update-alias')

    // then both old caches are gone, and the directory is left alone
    expect(cacheFiles()).not.toEqual(expect.arrayContaining([old[0]]))
    expect(cacheFiles()).not.toEqual(expect.arrayContaining([old[1]]))
    expect(cacheFiles()).toContain(directoryNamedAsCache)
  })

  it('sweeps only files named as its own caches, however old the others in the directory are', () => {
    // given a directory shared with other files, all ten days old, beside an old cache of its own
    writeBundle('40')
    loadInChild('update-alias')
    const [ownOld] = cacheFiles()
    const others = ['notes.txt', 'draft.tmp', 'model.v8', `${ownOld}.bak`, `x${ownOld}`, `${ownOld}.tmp`]
    for (const name of others) writeFileSync(join(cacheDirectory, name), 'not a cache')
    const tenDaysAgo = new Date(Date.now() - 10 * 24 * 60 * 60 * 1000)
    for (const name of [ownOld, ...others]) utimesSync(join(cacheDirectory, name), tenDaysAgo, tenDaysAgo)

    // when another build saves its cache there
    writeBundle('42')
    loadInChild('update-alias')

    // then its own old cache is gone and every other file is still there
    expect(cacheFiles()).not.toContain(ownOld)
    expect(cacheFiles()).toEqual(expect.arrayContaining(others))
    expect(cacheFiles()).toHaveLength(others.length + 1)
  })

  it('is not written unless the run saves it', () => {
    writeBundle('42')
    loadInChild('update-alias', false)
    expect(cacheFiles()).toEqual([])
  })

  it('is neither read nor written without a directory', () => {
    writeBundle('42')
    expect(loadInChild('update-alias', true, null)).toEqual({cacheUsed: false, answer: 42})
    expect(cacheFiles()).toEqual([])
  })

  it('is skipped where its directory cannot be made', () => {
    writeBundle('42')
    writeFileSync(cacheDirectory, 'a file in the way')
    expect(loadInChild('update-alias')).toEqual({cacheUsed: false, answer: 42})
    expect(loadInChild('update-alias')).toEqual({cacheUsed: false, answer: 42})
  })
})

describe('the CLI with its code cache', () => {
  const {motoUrl, kms} = useMoto()

  let aliases = 0

  async function dryRun(env: NodeJS.ProcessEnv) {
    const current = await kms.createKey()
    const target = await kms.createKey()
    const aliasName = `alias/cached-${++aliases}`
    await kms.createAlias(aliasName, current.KeyId)
    const args = ['update-alias', '--alias-name', aliasName, '--target-key-id', target.KeyId]
    return runCli([...args, '--endpoint-url', motoUrl, '--dry-run', '--output', 'json'], env)
  }

  it('leaves a cache for update-alias after a run that succeeded, and the next run reports the same', async () => {
    // given a cache directory of its own
    const env = {...cliEnvironment(), KMS_ROTATE_CODE_CACHE: cacheDirectory}

    // when two dry runs follow each other
    const first = await dryRun(env)
    const second = await dryRun(env)

    // then one cache, for update-alias, and both reports agree on everything but the keys
    expect(first.exitCode).toBe(0)
    expect(second.exitCode).toBe(0)
    expect(second.stderr).toBe(first.stderr)
    expect(cacheFiles()).toEqual([expect.stringMatching(/-update-alias\.v8$/)])
    const outcome = (run: {stdout: string}) => (JSON.parse(run.stdout) as {outcome: string}).outcome
    expect(outcome(second)).toBe(outcome(first))
  })

  it('writes no cache for a run that failed', async () => {
    const env = {...cliEnvironment(), KMS_ROTATE_CODE_CACHE: cacheDirectory}
    const run = await runCli(['update-alias', '--alias-name', 'app', '--target-key-id', 'k', '--endpoint-url', motoUrl], env)
    expect(run.exitCode).toBe(252)
    expect(cacheFiles()).toEqual([])
  })

  it('writes nothing with KMS_ROTATE_CODE_CACHE=off', async () => {
    const env = {...cliEnvironment(), KMS_ROTATE_CODE_CACHE: 'off', XDG_CACHE_HOME: cacheDirectory}
    const run = await dryRun(env)
    expect(run.exitCode).toBe(0)
    expect(readdirSync(work)).toEqual([])
  })

  it('runs as usual, quietly, where the cache directory cannot be made', async () => {
    // given a cache directory below a file
    writeFileSync(join(work, 'file'), '')
    const env = {...cliEnvironment(), KMS_ROTATE_CODE_CACHE: join(work, 'file', 'cache')}

    // when a dry run succeeds, then it said nothing of the cache
    const run = await dryRun(env)
    expect(run.exitCode).toBe(0)
    expect(run.stderr).not.toMatch(/cache|EACCES/i)
  })

  it('runs as usual where KMS_ROTATE_CODE_CACHE is under /proc, where no directory can be made', async () => {
    const env = {...cliEnvironment(), KMS_ROTATE_CODE_CACHE: '/proc/self/kms-rotate-cache'}
    const run = await dryRun(env)
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe('')
  })

  it('warns once and runs without a cache when KMS_ROTATE_CODE_CACHE is relative', async () => {
    const env = {...cliEnvironment(), KMS_ROTATE_CODE_CACHE: 'relative-cache'}
    const run = await dryRun(env)
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe(
      'kms-rotate: KMS_ROTATE_CODE_CACHE must be an absolute directory or off, not "relative-cache"; running without the code cache.\n',
    )
    expect(existsSync(join(REPO_ROOT, 'relative-cache'))).toBe(false)
  })
})
