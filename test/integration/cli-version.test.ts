/**
 * `--version` through the built binary: the AWS CLI's layout, exit 0, before any command runs.
 */
import {readFileSync} from 'node:fs'
import {release, type} from 'node:os'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

const {version} = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}
const VERSION_LINE = `kms-rotate/${version} node/${process.version} ${type()}/${release()}\n`

describe('--version', () => {
  it.each([
    ['kms-rotate --version', ['--version']],
    ['kms-rotate update-alias --version', ['update-alias', '--version']],
    ['update-alias --version among other arguments', ['update-alias', '--alias-name', 'alias/app', '--version', '--yes']],
  ])('%s prints name/version pairs for kms-rotate, Node.js and the OS, and exits 0', async (_, args) => {
    // when
    const run = await runCli(args)

    // then: our layout, not oclif's "kms-rotate/0.1.0 linux-x64 node-v20…"
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toBe(VERSION_LINE)
    expect(run.stderr).toBe('')
  })

  it('sends no request: no endpoint, Region or credentials are needed', async () => {
    const run = await runCli(['update-alias', '--version'], {PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true'})
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toBe(VERSION_LINE)
  })
})
