import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {helpPageName, ROOT_HELP_PAGE} from '../../src/lib/help-pages.js'

const emptyConfig = mkdtempSync(join(tmpdir(), 'kms-rotate-help-'))
const themed = mkdtempSync(join(tmpdir(), 'kms-rotate-help-theme-'))
writeFileSync(join(themed, 'theme.json'), '{"flag": "cyan"}')
afterAll(() => {
  rmSync(emptyConfig, {recursive: true, force: true})
  rmSync(themed, {recursive: true, force: true})
})

const piped = {env: {KMS_ROTATE_CONFIG_DIR: emptyConfig}, stdout: {isTTY: false}, platform: 'linux' as const}

describe('helpPageName', () => {
  it.each([
    [['update-alias', '--help'], 'update-alias'],
    [['audit', '--help'], 'audit'],
    [['--help'], ROOT_HELP_PAGE],
  ])('answers %j from the page %s when stdout is not a terminal', (argv, page) => {
    expect(helpPageName(argv, piped)).toBe(page)
  })

  it.each([
    ['other arguments besides --help', ['update-alias', '--alias-name', 'alias/app', '--help']],
    ['-h', ['update-alias', '-h']],
    ['a name that is no command word', ['../etc/passwd', '--help']],
    ['no --help', ['update-alias']],
  ])('leaves %s to oclif', (_, argv) => {
    expect(helpPageName(argv, piped)).toBeUndefined()
  })

  it('answers piped help from the page, and leaves a terminal of any width to oclif, which sets bold', () => {
    expect(helpPageName(['audit', '--help'], piped)).toBe('audit')
    expect(helpPageName(['audit', '--help'], {...piped, stdout: {isTTY: true, columns: 80}})).toBeUndefined()
    expect(helpPageName(['audit', '--help'], {...piped, stdout: {isTTY: true, columns: 132}})).toBeUndefined()
  })

  it('leaves OCLIF_COLUMNS, a user theme and Windows to oclif', () => {
    const argv = ['audit', '--help']
    expect(helpPageName(argv, {...piped, env: {...piped.env, OCLIF_COLUMNS: '80'}})).toBeUndefined()
    expect(helpPageName(argv, {...piped, env: {KMS_ROTATE_CONFIG_DIR: themed}})).toBeUndefined()
    expect(helpPageName(argv, {...piped, env: {KMS_ROTATE_CONFIG_DIR: themed, KMS_ROTATE_DISABLE_THEME: 'true'}})).toBe('audit')
    expect(helpPageName(argv, {...piped, platform: 'win32'})).toBeUndefined()
  })
})
