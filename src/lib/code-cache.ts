import {createHash} from 'node:crypto'
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import Module, {createRequire} from 'node:module'
import {dirname, isAbsolute, join} from 'node:path'
import {Script} from 'node:vm'

import {homeDirectory} from './home.js'

/**
 * Loads the CommonJS bundle of the commands with V8's code cache: the bytecode of every function
 * a run of the same command compiled, saved when that run ended. A run then skips most of the
 * parsing and compiling that would otherwise take about as long as everything else before its
 * first request. Node 20 offers no compile cache of its own (module.enableCompileCache arrived
 * in 22.1), and the caches that hook require() save only what compiles with the top level, not
 * the functions compiled while a command runs, which is most of the gain here.
 *
 * The cache is keyed by a SHA-256 of the bundle's source, Node's version, the CPU architecture
 * and the command, because V8 checks only the source's length before trusting cached bytecode.
 * It lives in the user's cache directory, never in a shared one such as /tmp: whoever writes it
 * chooses code that runs.
 */

/** KMS_ROTATE_CODE_CACHE: an absolute directory to keep the cache in, or `off`. */
export const CODE_CACHE_VARIABLE = 'KMS_ROTATE_CODE_CACHE'

const STALE_AFTER_MS = 7 * 24 * 60 * 60 * 1000

/** A temporary file this old belongs to a writer that died before its rename. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000

/**
 * Each cache file starts with a SHA-256 of the rest: the V8 of Node 20 checks no checksum, and
 * bytecode damaged on disk crashes the process instead of being refused.
 */
const DIGEST_LENGTH = 32

/** Far above any real cache (about 1.5 MB): a larger file is not one of ours. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024

export interface CodeCacheSetting {
  /** Undefined: no cache is read or written. */
  directory: string | undefined
  /** Why a setting given was not used, for one line on stderr. */
  warning?: string
}

/**
 * KMS_ROTATE_CODE_CACHE if absolute, else off with a warning; else under XDG_CACHE_HOME when
 * that is absolute (the XDG rule for relative ones is to ignore them), else under ~/.cache. A
 * relative directory would put the cache wherever the command runs, /tmp included.
 */
export function codeCacheSetting(
  env: NodeJS.ProcessEnv,
  home: string | null = homeDirectory(),
): CodeCacheSetting {
  const setting = env[CODE_CACHE_VARIABLE]?.trim()
  if (setting?.toLowerCase() === 'off') return {directory: undefined}
  if (setting) {
    if (isAbsolute(setting)) return {directory: setting}
    return {
      directory: undefined,
      warning: `${CODE_CACHE_VARIABLE} must be an absolute directory or off, not ${JSON.stringify(setting)}; running without the code cache.`,
    }
  }

  const xdgCacheHome = env.XDG_CACHE_HOME
  const base = xdgCacheHome && isAbsolute(xdgCacheHome) ? xdgCacheHome : home && join(home, '.cache')
  return {directory: base ? join(base, 'kms-rotate', 'code-cache') : undefined}
}

export interface LoadedBundle {
  exports: Record<string, unknown>
  /** Whether V8 took the cached bytecode. */
  cacheUsed: boolean
  /**
   * Writes the cache for this run's purpose from what V8 has compiled so far, unless one was
   * used; call it when the run succeeded, so that a run that stopped early never sets the cache.
   */
  saveCache: () => void
}

interface LoadOptions {
  /** Undefined: no cache is read or written. */
  cacheDirectory: string | undefined
  /** What the run does, one cache per kind: a command id, say. */
  purpose: string
}

export function loadBundle(bundlePath: string, {cacheDirectory, purpose}: LoadOptions): LoadedBundle {
  // Hashed as read: hashing the decoded string would encode it to UTF-8 once more.
  const bytes = readFileSync(bundlePath)
  const sourceHash = createHash('sha256').update(bytes).digest('hex').slice(0, 32)
  const source = bytes.toString('utf8')
  const cacheFile =
    cacheDirectory === undefined ? undefined : join(cacheDirectory, cacheFileName(sourceHash, purpose))

  const usable = cacheDirectory !== undefined && isPrivateOrAbsent(cacheDirectory)
  const cachedData = cacheFile === undefined || !usable ? undefined : readVerified(cacheFile)
  const script = new Script(Module.wrap(source), {filename: bundlePath, cachedData})
  const cacheUsed = cachedData !== undefined && !script.cachedDataRejected

  // Registered before it runs, as require() does, so that oclif's require() of the same file
  // (package.json oclif.commands) finds this module instead of compiling the bundle again.
  const module = new Module(bundlePath)
  module.filename = bundlePath
  module.loaded = true
  createRequire(bundlePath).cache[bundlePath] = module
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void
  wrapper.call(module.exports, module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath))

  return {
    exports: module.exports as Record<string, unknown>,
    cacheUsed,
    saveCache() {
      if (cacheFile === undefined || !usable || cacheUsed) return
      try {
        writeCache(cacheFile, sourceHash, script.createCachedData())
      } catch {
        // A cache that cannot be written (read-only home, full disk) only costs the next run time.
      }
    },
  }
}

/**
 * A directory that others may write, or that someone else owns, could hold bytecode they chose:
 * such a cache is neither read nor written, as ssh ignores a key file others can read.
 */
function isPrivateOrAbsent(directory: string): boolean {
  try {
    const {mode, uid} = statSync(directory)
    return (mode & 0o022) === 0 && (process.getuid === undefined || uid === process.getuid())
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT'
  }
}

function readVerified(file: string): Buffer | undefined {
  let contents: Buffer
  try {
    contents = readRegularFile(file)
  } catch {
    return undefined
  }

  const digest = contents.subarray(0, DIGEST_LENGTH)
  const data = contents.subarray(DIGEST_LENGTH)
  return digest.length === DIGEST_LENGTH && digest.equals(createHash('sha256').update(data).digest()) ? data : undefined
}

/**
 * Opened without waiting and checked before it is read: a FIFO at the cache's name would block
 * the run for ever, and a link to /dev/zero would fill the memory.
 */
function readRegularFile(file: string): Buffer {
  const descriptor = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stats = fstatSync(descriptor)
    if (!stats.isFile() || stats.size > MAX_CACHE_BYTES) throw new Error(`not a cache file: ${file}`)
    return readFileSync(descriptor)
  } finally {
    closeSync(descriptor)
  }
}

/** A cache file's name, from which OWN_FILE below tells the files the sweep may remove. */
function cacheFileName(sourceHash: string, purpose: string): string {
  const name = /^[a-z][a-z0-9:-]{0,40}$/.test(purpose) ? purpose.replaceAll(':', '-') : 'other'
  return `${sourceHash}-${process.version}-${process.arch}-${name}.v8`
}

/**
 * The names cacheFileName and writeCache give: a cache, or a temporary file with a writer's pid.
 * KMS_ROTATE_CODE_CACHE may name a directory that holds other files too, and those stay.
 */
const OWN_FILE = /^(?<hash>[0-9a-f]{32})-v\d[\w.+-]*-[a-z][a-z0-9]*-[a-z][a-z0-9-]*\.v8(?<temporary>\.\d+\.tmp)?$/

/** Written under a temporary name and renamed, so that a concurrent run reads all of it or none. */
function writeCache(cacheFile: string, sourceHash: string, data: Buffer): void {
  const directory = dirname(cacheFile)
  makeDirectory(directory)
  const temporary = `${cacheFile}.${process.pid}.tmp`
  try {
    writeFileSync(temporary, Buffer.concat([createHash('sha256').update(data).digest(), data]), {mode: 0o600})
    renameSync(temporary, cacheFile)
  } finally {
    rmSync(temporary, {force: true})
  }

  // Caches of other builds unused for a week: an earlier version's, most likely. Not at once,
  // so that two installed versions used in turn do not delete each other's on every run.
  const now = Date.now()
  for (const name of readdirSync(directory)) {
    const own = OWN_FILE.exec(name)?.groups
    if (own === undefined) continue
    try {
      const path = join(directory, name)
      const stats = lstatSync(path)
      const idle = now - Math.max(stats.atimeMs, stats.mtimeMs)
      const stale = own.temporary
        ? idle > ABANDONED_AFTER_MS
        : own.hash !== sourceHash && idle > STALE_AFTER_MS
      if (stale && stats.isFile()) rmSync(path, {force: true})
    } catch {
      // Something else there (a directory, say) is not ours to remove; the sweep goes on.
    }
  }
}

/**
 * mkdir -p one level at a time, private from the first level made. Not mkdirSync's recursive
 * option: under /proc it retries without end where a level can never be made.
 */
function makeDirectory(directory: string): void {
  const missing: string[] = []
  for (let path = directory; !existsSync(path); path = dirname(path)) {
    missing.push(path)
    if (dirname(path) === path) break
  }

  for (const path of missing.reverse()) mkdirSync(path, {mode: 0o700})
}
