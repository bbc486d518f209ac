import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {pagerFor, writeThroughPager, type PagerSettings} from '../../src/lib/pager.js'

const ON_A_TERMINAL: PagerSettings = {noCliPager: false, stdoutIsTerminal: true}

describe('pagerFor', () => {
  it('uses AWS_PAGER on a terminal', () => {
    expect(pagerFor(ON_A_TERMINAL, {AWS_PAGER: 'less -R'})).toEqual({command: 'less -R', source: 'AWS_PAGER'})
  })

  it("uses the profile's cli_pager when AWS_PAGER is not set", () => {
    expect(pagerFor({...ON_A_TERMINAL, profilePager: 'more'}, {})).toEqual({
      command: 'more',
      source: "the profile's cli_pager",
    })
  })

  it("takes AWS_PAGER over the profile's cli_pager", () => {
    expect(pagerFor({...ON_A_TERMINAL, profilePager: 'more'}, {AWS_PAGER: 'less'})?.command).toBe('less')
  })

  it.each([
    ['AWS_PAGER is empty, even with a cli_pager', {...ON_A_TERMINAL, profilePager: 'more'}, {AWS_PAGER: ''}],
    ['cli_pager is empty', {...ON_A_TERMINAL, profilePager: ''}, {}],
    ['AWS_PAGER is only blanks', ON_A_TERMINAL, {AWS_PAGER: '  '}],
    ['nothing names a pager', ON_A_TERMINAL, {PAGER: 'less'}],
    ['stdout is not a terminal', {...ON_A_TERMINAL, stdoutIsTerminal: false}, {AWS_PAGER: 'less'}],
    ['--no-cli-pager is given', {...ON_A_TERMINAL, noCliPager: true}, {AWS_PAGER: 'less'}],
  ])('uses no pager when %s', (_, settings: PagerSettings, env: NodeJS.ProcessEnv) => {
    expect(pagerFor(settings, env)).toBeUndefined()
  })
})

describe('writeThroughPager', () => {
  let directory: string
  let stdout: ReturnType<typeof vi.spyOn>
  let stderr: ReturnType<typeof vi.spyOn>

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'kms-rotate-pager-'))
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  })

  afterEach(() => {
    vi.restoreAllMocks()
    rmSync(directory, {recursive: true, force: true})
  })

  it('runs the command line with the shell and gives it the whole text on stdin', async () => {
    // given a pager that rewrites each line into a file
    const file = join(directory, 'paged')
    // when
    await writeThroughPager('one\ntwo\n', {command: `sed 's/^/PAGED: /' > '${file}'`, source: 'AWS_PAGER'})
    // then the pager had it all, and nothing went to stdout or stderr directly
    expect(readFileSync(file, 'utf8')).toBe('PAGED: one\nPAGED: two\n')
    expect(stdout).not.toHaveBeenCalled()
    expect(stderr).not.toHaveBeenCalled()
  })

  it('sets LESS to FRX for the pager when it is unset, as the AWS CLI does, and keeps a LESS of its own', async () => {
    const file = join(directory, 'less')
    const pager = {command: `printf '%s\\n' "$LESS" >> '${file}'`, source: 'AWS_PAGER'}
    await writeThroughPager('text\n', pager, {PATH: process.env.PATH})
    await writeThroughPager('text\n', pager, {PATH: process.env.PATH, LESS: '-X'})
    expect(readFileSync(file, 'utf8')).toBe('FRX\n-X\n')
  })

  it('prints the text directly and says why on stderr when the pager cannot start', async () => {
    // when the command does not exist (the shell's own complaint is sent to /dev/null)
    await writeThroughPager('report\n', {command: 'kms-rotate-no-such-pager 2>/dev/null', source: 'AWS_PAGER'})
    // then
    expect(stdout).toHaveBeenCalledWith('report\n')
    expect(stderr).toHaveBeenCalledTimes(1)
    const line = String(stderr.mock.calls[0][0])
    expect(line).toMatch(/^The pager 'kms-rotate-no-such-pager 2>\/dev\/null' from AWS_PAGER could not start \(exit 127\)/)
    expect(line).toMatch(/--no-cli-pager\.\n$/)
  })

  it('does not print again when the pager quits without reading everything', async () => {
    // when the pager reads one line and exits, as a person quitting less would
    await writeThroughPager('x\n'.repeat(200_000), {command: 'head -n 1 > /dev/null', source: 'AWS_PAGER'})
    // then the rest is dropped, not printed behind the pager's back
    expect(stdout).not.toHaveBeenCalled()
    expect(stderr).not.toHaveBeenCalled()
  })

  it('leaves no SIGINT listener behind', async () => {
    const before = process.listenerCount('SIGINT')
    await writeThroughPager('text\n', {command: 'cat > /dev/null', source: 'AWS_PAGER'})
    expect(process.listenerCount('SIGINT')).toBe(before)
  })
})
