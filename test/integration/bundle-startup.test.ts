/**
 * dist/bundle/cli.cjs holds the commands, oclif and the AWS SDK clients of a rotation, and runs its
 * top level on every run that reaches oclif. The SDK must not run there: a command imports it
 * inside run(), after its flags parse. The libraries only some runs use are bundles of their own,
 * which cli.cjs must leave unread until a run needs one.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {closedLoopbackUrl} from '../support/cli.js'
import {REPO_ROOT} from '../support/moto.js'

const BUNDLE = join(REPO_ROOT, 'dist', 'bundle', 'cli.cjs')

/** Packages that only some runs need, each by the path of its files in node_modules. */
const VENDORED = ['@aws-sdk/client-ec2/', '@jmespath-community/jmespath/', 'ajv/', 'cli-progress/', 'cli-table3/', 'yaml/']

/** What requiring the bundle loaded in a fresh Node: Node's modules and the files from the package. */
function loadedBy(afterRequire: string): {builtins: string[]; files: string[]} {
  const script = `
    const before = new Set(process.moduleLoadList)
    const cli = require(${JSON.stringify(BUNDLE)})
    ;(async () => {
      ${afterRequire}
      process.stdout.write(JSON.stringify({
        builtins: process.moduleLoadList.filter((name) => !before.has(name) && name.startsWith('NativeModule ')).map((name) => name.slice(13)),
        files: Object.keys(require.cache),
      }))
    })()
  `
  const env = {PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing'}
  // The command's own exit code is no concern here; what it loaded is.
  const child = spawnSync(process.execPath, ['-e', script], {cwd: REPO_ROOT, env, encoding: 'utf8'})
  return JSON.parse(child.stdout) as {builtins: string[]; files: string[]}
}

describe('the bundle every run loads', () => {
  it('was built from none of the libraries that only some runs need', () => {
    // given a build
    expect(existsSync(BUNDLE), 'run npm run build first').toBe(true)

    // when the sources its source map names are read
    const {sources} = JSON.parse(readFileSync(`${BUNDLE}.map`, 'utf8')) as {sources: string[]}

    // then none came from a vendored package, while the commands, oclif and the KMS client did
    expect(sources.filter((source) => VENDORED.some((name) => source.includes(`node_modules/${name}`)))).toEqual([])
    expect(sources.some((source) => source.endsWith('src/commands/update-alias.ts'))).toBe(true)
    expect(sources.some((source) => source.includes('node_modules/@oclif/core/'))).toBe(true)
    expect(sources.some((source) => source.includes('node_modules/@aws-sdk/client-kms/'))).toBe(true)
  })

  it('runs no AWS SDK code when it loads: no HTTP module, no other file', () => {
    // when the bundle is required and nothing else happens
    const loaded = loadedBy('')

    // then the SDK's HTTP handler never ran, and no vendored bundle was read
    expect(loaded.builtins).not.toContain('http')
    expect(loaded.builtins).not.toContain('https')
    expect(loaded.files).toEqual([BUNDLE])
  })

  it('runs the SDK once update-alias runs, still reading no vendored bundle', async () => {
    // when update-alias runs as far as its first request (to a port where nothing listens)
    const endpoint = await closedLoopbackUrl()
    const args = ['update-alias', '--alias-name', 'alias/app', '--target-key-id', '1234abcd-12ab-34cd-56ef-1234567890ab', '--region', 'us-east-1', '--endpoint-url', endpoint, '--cli-read-timeout', '1', '--cli-connect-timeout', '1']
    const loaded = loadedBy(`await cli.run(${JSON.stringify(args)}, ${JSON.stringify(join(REPO_ROOT, 'bin', 'run.js'))}).catch(() => {})`)

    // then the same check that passed above would have caught the SDK
    expect(loaded.builtins).toContain('http')
    expect(loaded.files).toEqual([BUNDLE])
  })
})
