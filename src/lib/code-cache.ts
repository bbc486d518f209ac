import {createHash} from 'node:crypto'
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import Module, {createRequire} from 'node:module'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'
import {Script} from 'node:vm'

/**
 * Loads the CommonJS bundle of the commands with V8's code cache: the bytecode of every function
 * a run of the same command compiled, saved when that run ended. A run then skips most of the
 * parsing and compiling that would otherwise take about as long as everything else before its
 * first request. Node 20 offers no compile cache of its own (module.enableCompileCache arrived
 * in 22.1), and the caches that hook require() save only what compiles with the top level, not
 * the functions compiled while a command runs, which is most of the gain here.
 *
 * The cache is keyed by a SHA-256 of the bundle's source, Node's version and the CPU architecture,
 * because V8 checks only the source's length before trusting cached bytecode. It lives in the
 * user's cache directory, never in a shared one such as /tmp: whoever writes it chooses code
 * that runs.
 */

/** KMS_ROTATE_CODE_CACHE: a directory to keep the cache in, or `off`. */
export const CODE_CACHE_VARIABLE = 'KMS_ROTATE_CODE_CACHE'

const STALE_AFTER_MS = 7 * 24 * 60 * 60 * 1000

export function codeCacheDirectory(env: NodeJS.ProcessEnv): string | undefined {
  const setting = env[CODE_CACHE_VARIABLE]
  if (setting === 'off') return undefined
  if (setting) return setting
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kms-rotate', 'code-cache')
}

export interface LoadedBundle {
  exports: Record<string, unknown>
  /** Whether V8 took the cached bytecode. */
  cacheUsed: boolean
  /**
   * Writes the cache for this run's command from what V8 has compiled so far, unless one was
   * used; call it when the run succeeded, so that a failed or a --help run never sets the cache.
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
    cacheDirectory === undefined
      ? undefined
      : join(cacheDirectory, `${sourceHash}-${process.version}-${process.arch}-${safeName(purpose)}.v8`)

  const cachedData = cacheFile === undefined ? undefined : readIfPresent(cacheFile)
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
      if (cacheFile === undefined || cacheUsed) return
      try {
        writeCache(cacheFile, sourceHash, script.createCachedData())
      } catch {
        // A cache that cannot be written (read-only home, full disk) only costs the next run time.
      }
    },
  }
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file)
  } catch {
    return undefined
  }
}

function safeName(purpose: string): string {
  return /^[a-z][a-z0-9:-]{0,40}$/.test(purpose) ? purpose.replaceAll(':', '-') : 'other'
}

/** Written under a temporary name and renamed, so that a concurrent run reads all of it or none. */
function writeCache(cacheFile: string, sourceHash: string, data: Buffer): void {
  const directory = dirname(cacheFile)
  mkdirSync(directory, {recursive: true, mode: 0o700})
  const temporary = `${cacheFile}.${process.pid}.tmp`
  writeFileSync(temporary, data, {mode: 0o600})
  renameSync(temporary, cacheFile)

  // Caches of other builds unused for a week: an earlier version's, most likely. Not at once,
  // so that two installed versions used in turn do not delete each other's on every run.
  const unusedSince = Date.now() - STALE_AFTER_MS
  for (const name of readdirSync(directory)) {
    if (!name.endsWith('.v8') || name.startsWith(sourceHash)) continue
    const path = join(directory, name)
    const {atimeMs, mtimeMs} = statSync(path)
    if (Math.max(atimeMs, mtimeMs) < unusedSince) rmSync(path, {force: true})
  }
}
