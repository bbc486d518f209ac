import {readFileSync} from 'node:fs'
import {release, type} from 'node:os'

import {afterEach, describe, expect, it, vi} from 'vitest'

import UpdateAlias from '../../src/commands/update-alias.js'
import {asksForVersion, versionLine} from '../../src/lib/version.js'

const {version} = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}

describe('versionLine', () => {
  it('names kms-rotate, Node.js and the OS as name/version pairs, like aws --version', () => {
    expect(versionLine()).toBe(`kms-rotate/${version} node/${process.version} ${type()}/${release()}`)
  })
})

describe('asksForVersion', () => {
  it.each([
    [['--version']],
    [['update-alias', '--version']],
    [['update-alias', '--alias-name', 'alias/app', '--version', '--yes']],
  ])('is true for %j', (argv) => {
    expect(asksForVersion(argv)).toBe(true)
  })

  it.each([
    [[]],
    [['update-alias', '--alias-name', 'alias/app']],
    [['update-alias', '--', '--version']],
    [['update-alias', '--alias-name=--version']],
    [['update-alias', '--versions']],
  ])('is false for %j', (argv) => {
    expect(asksForVersion(argv)).toBe(false)
  })
})

describe('update-alias --version run without bin/run.js', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('prints the version line and nothing else, asking for no arguments', async () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    await UpdateAlias.run(['--version'], new URL('../..', import.meta.url).pathname)
    expect(stdout.mock.calls.map(([text]) => String(text))).toEqual([`${versionLine()}\n`])
  })
})
