/**
 * The parts of the code cache that hold within one process; that V8 takes a saved cache in the
 * next process is tested in test/integration/code-cache.test.ts, each load in a process of its own.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {CODE_CACHE_VARIABLE, codeCacheSetting, loadBundle} from '../../src/lib/code-cache.js'

let work: string
let bundle: string
let cacheDirectory: string

/** A bundle that counts its own evaluations, so a test can tell a second compile from a cache hit. */
function writeBundle(value: string): void {
  writeFileSync(
    bundle,
    `globalThis.bundleRuns = (globalThis.bundleRuns ?? 0) + 1
function answer() { return ${value} }
module.exports = {answer, dirname: __dirname}
`,
  )
}

function forget(): void {
  delete createRequire(bundle).cache[bundle]
}

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'kms-rotate-code-cache-'))
  bundle = join(work, 'cli.cjs')
  cacheDirectory = join(work, 'cache')
  ;(globalThis as {bundleRuns?: number}).bundleRuns = 0
})

afterEach(() => {
  forget()
  rmSync(work, {recursive: true, force: true})
})

describe('loadBundle', () => {
  it('registers the module, so that require() of the same file does not run the bundle again', () => {
    writeBundle('42')
    const loaded = loadBundle(bundle, {cacheDirectory, purpose: 'update-alias'})
    expect(createRequire(bundle)(bundle)).toBe(loaded.exports)
    expect((loaded.exports.answer as () => number)()).toBe(42)
    expect((globalThis as {bundleRuns?: number}).bundleRuns).toBe(1)
  })
})

describe('codeCacheSetting', () => {
  it('is off with KMS_ROTATE_CODE_CACHE=off, in any case and with spaces around', () => {
    for (const value of ['off', 'OFF', ' Off ']) {
      expect(codeCacheSetting({[CODE_CACHE_VARIABLE]: value})).toEqual({directory: undefined})
    }
  })

  it('is the absolute directory KMS_ROTATE_CODE_CACHE names', () => {
    expect(codeCacheSetting({[CODE_CACHE_VARIABLE]: '/var/cache/kr'})).toEqual({directory: '/var/cache/kr'})
  })

  it('is off, with a warning, for a relative KMS_ROTATE_CODE_CACHE, which would follow the working directory', () => {
    const setting = codeCacheSetting({[CODE_CACHE_VARIABLE]: 'rel/cache'})
    expect(setting.directory).toBeUndefined()
    expect(setting.warning).toBe(
      'KMS_ROTATE_CODE_CACHE must be an absolute directory or off, not "rel/cache"; running without the code cache.',
    )
  })

  it('is under XDG_CACHE_HOME when that is absolute, else under ~/.cache', () => {
    expect(codeCacheSetting({XDG_CACHE_HOME: '/x'})).toEqual({directory: '/x/kms-rotate/code-cache'})
    expect(codeCacheSetting({XDG_CACHE_HOME: 'relative'})).toEqual({directory: join(homedir(), '.cache', 'kms-rotate', 'code-cache')})
    expect(codeCacheSetting({})).toEqual({directory: join(homedir(), '.cache', 'kms-rotate', 'code-cache')})
  })

  it('is off, quietly, with no absolute home directory to keep it under', () => {
    expect(codeCacheSetting({}, null)).toEqual({directory: undefined})
    expect(codeCacheSetting({XDG_CACHE_HOME: '/x'}, null)).toEqual({directory: '/x/kms-rotate/code-cache'})
  })
})
