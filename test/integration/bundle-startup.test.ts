/**
 * dist/index.js and the chunks it imports statically load on every run, --help and --version
 * included. Whatever a command needs only once it runs must be imported inside run(), or it lands
 * here. The source maps name the inputs of each file, so the static closure of the entry can be
 * read from the build itself.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'

import {describe, expect, it} from 'vitest'

import {REPO_ROOT} from '../support/moto.js'

const ENTRY = join(REPO_ROOT, 'dist', 'index.js')

/** Packages that only a running command needs, each by the path of its files in node_modules. */
const RUN_TIME_ONLY = [
  '@aws-sdk/',
  '@smithy/',
  'ajv/',
  'yaml/',
  'cli-table3/',
  '@jmespath-community/jmespath/',
]

/** Relative specifiers of `import ... from "./x.js"` and `import "./x.js"`, not of import("./x.js"). */
function staticImports(code: string): string[] {
  const found = [...code.matchAll(/\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g), ...code.matchAll(/\bimport\s*["'](\.{1,2}\/[^"']+)["']/g)]
  return found.map((match) => match[1])
}

/** Every file that loading the entry loads, each with the sources its source map names. */
function staticClosure(entry: string): Map<string, string[]> {
  const files = new Map<string, string[]>()
  const pending = [entry]
  while (pending.length > 0) {
    const file = pending.pop()!
    if (files.has(file)) continue
    const code = readFileSync(file, 'utf8')
    const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as {sources: string[]}
    files.set(file, map.sources)
    for (const specifier of staticImports(code)) pending.push(join(dirname(file), specifier))
  }

  return files
}

describe('the bundle entry every run loads', () => {
  it('holds neither the AWS SDK nor the renderers, YAML, JMESPath or schema validator', () => {
    // given a build
    expect(existsSync(ENTRY), 'run npm run build first').toBe(true)

    // when the entry and every chunk it imports statically are read
    const closure = staticClosure(ENTRY)

    // then none of them was built from a run-time-only package
    const offenders = [...closure].flatMap(([file, sources]) =>
      sources
        .filter((source) => RUN_TIME_ONLY.some((name) => source.includes(`node_modules/${name}`)))
        .map((source) => `${relative(REPO_ROOT, file)}: ${source.replace(/^.*node_modules\//, '')}`),
    )
    expect(offenders).toEqual([])
    // and the commands themselves are there, so the closure was really followed
    expect([...closure.values()].flat().some((source) => source.includes('src/commands/update-alias.ts'))).toBe(true)
    expect([...closure.values()].flat().some((source) => source.includes('node_modules/@oclif/core/'))).toBe(true)
  })
})
