/**
 * The journal and `rollback`, through the built CLI against moto: the line each run appends,
 * with the caller identity moto's STS gives, and moving an alias back by it.
 */
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {UpdateAliasCommand} from '@aws-sdk/client-kms'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {JournalEntry} from '../../src/lib/journal.js'
import {cliEnvironment, closedLoopbackUrl, linesOf, runCli} from '../support/cli.js'
import {MOTO_ACCOUNT} from '../support/kms-fault-proxy.js'
import {useMoto} from '../support/moto-per-test.js'
import {startRecordingEndpoint, type RecordingEndpoint} from '../support/recording-endpoint.js'
import {parseJsonReport} from '../support/report-schema.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()

let directory: string
let journal: string
let recording: RecordingEndpoint | undefined

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'kms-rotate-journal-'))
  journal = join(directory, 'journal.jsonl')
})

afterEach(async () => {
  await recording?.close()
  recording = undefined
  rmSync(directory, {recursive: true, force: true})
})

function updateAlias(target: string, ...extra: string[]) {
  return runCli([
    'update-alias',
    '--alias-name',
    ALIAS,
    '--target-key-id',
    target,
    '--endpoint-url',
    motoUrl,
    '--yes',
    '--journal',
    journal,
    ...extra,
  ])
}

function rollback(...extra: string[]) {
  return runCli(['rollback', '--alias-name', ALIAS, '--endpoint-url', motoUrl, '--yes', '--journal', journal, ...extra])
}

function journalLines(path = journal): JournalEntry[] {
  return linesOf(readFileSync(path, 'utf8')).map((line) => JSON.parse(line) as JournalEntry)
}

describe('update-alias journals every run', () => {
  it('a rotation appends one line with the identity from STS, both keys, the outcome and the request id', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const run = await updateAlias(given.target, '--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const [line, ...more] = journalLines()
    expect(more).toEqual([])
    expect(line).toMatchObject({
      command: 'update-alias',
      identity: {account: MOTO_ACCOUNT, arn: expect.stringMatching(/^arn:aws:sts::\d{12}:/), error: null},
      account: MOTO_ACCOUNT,
      region: 'us-east-1',
      alias: ALIAS,
      from: {keyId: given.currentKeyId},
      to: {keyId: given.targetKeyId, arn: given.targetArn},
      dryRun: false,
      outcome: 'rotated',
      exitCode: 0,
    })
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(line.checks).toContainEqual({id: 'alias-exists', status: 'pass'})
    expect(line.requestIds.UpdateAlias).toHaveLength(1)
    expect(line.kmsRotateVersion).toMatch(/^\d+\.\d+\.\d+/)
    // the secret access key of the run's environment is nowhere in the journal
    expect(readFileSync(journal, 'utf8')).not.toContain(cliEnvironment().AWS_SECRET_ACCESS_KEY as string)
  })

  it('a dry run appends a line too, and a second run a second line', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when
    const dry = await updateAlias(given.target, '--dry-run')
    const real = await updateAlias(given.target)

    // then
    expect([dry.exitCode, real.exitCode]).toEqual([0, 0])
    const lines = journalLines()
    expect(lines.map((line) => [line.outcome, line.dryRun])).toEqual([
      ['planned', true],
      ['rotated', false],
    ])
    expect(lines[0].requestIds).not.toHaveProperty('UpdateAlias')
  })

  it('without --journal writes under XDG_STATE_HOME, directory 0700 and file 0600', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const env = {...cliEnvironment(), XDG_STATE_HOME: join(directory, 'state')}

    // when
    const run = await runCli(
      ['update-alias', '--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', motoUrl, '--yes'],
      env,
    )

    // then
    expect(run.exitCode).toBe(0)
    const path = join(directory, 'state', 'kms-rotate', 'journal.jsonl')
    expect(journalLines(path).map((line) => line.outcome)).toEqual(['rotated'])
    expect(statSync(join(directory, 'state', 'kms-rotate')).mode & 0o777).toBe(0o700)
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it.each([
    ['a directory', () => directory],
    ['a path under a regular file', () => (writeFileSync(journal, ''), join(journal, 'journal.jsonl'))],
  ])('--journal naming %s is exit 253, one line naming it, and nothing is sent', async (_, pathOf) => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    recording = await startRecordingEndpoint(motoUrl)
    const path = pathOf()

    // when
    const run = await runCli([
      'update-alias',
      '--alias-name',
      ALIAS,
      '--target-key-id',
      given.target,
      '--endpoint-url',
      recording.url,
      '--yes',
      '--journal',
      path,
    ])

    // then
    expect(run.exitCode).toBe(253)
    expect(linesOf(run.stderr)).toEqual([expect.stringContaining(`The journal '${path}' from --journal cannot be written`)])
    expect(run.stdout).toBe('')
    expect(recording.requests).toEqual([])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('a run that cannot reach KMS is journaled with its error, exit code and an unknown identity', async () => {
    // when
    const endpoint = await closedLoopbackUrl()
    const run = await runCli([
      'update-alias',
      '--alias-name',
      ALIAS,
      '--target-key-id',
      '1234abcd-12ab-34cd-56ef-1234567890ab',
      '--endpoint-url',
      endpoint,
      '--journal',
      journal,
    ])

    // then
    expect(run.exitCode).toBe(255)
    const [line, ...more] = journalLines()
    expect(more).toEqual([])
    expect(line).toMatchObject({outcome: null, exitCode: 255, alias: ALIAS, identity: {arn: null, account: null}})
    expect(line.error).toContain('Could not connect to the endpoint URL')
    expect(line.identity.error).toEqual(expect.any(String))
  })

  it('a command line refused before anything is sent writes no line', async () => {
    const run = await updateAlias('alias/not-a-key')
    expect(run.exitCode).toBe(252)
    expect(() => readFileSync(journal)).toThrow(/ENOENT/)
  })
})

describe('a journal that opens but cannot take the line (a full disk)', () => {
  it('still prints the report of the move, then exits 253 with a line saying how the run ended', async () => {
    // given an alias and a matching target, and a journal that opens but is always full
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when the rotation runs
    const run = await runCli([
      'update-alias',
      ...['--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', motoUrl],
      ...['--yes', '--output', 'json', '--journal', '/dev/full'],
    ])

    // then the alias moved, the report on stdout says so, and stderr says what was not recorded
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    expect(parseJsonReport(run.stdout)).toMatchObject({outcome: 'rotated'})
    expect(run.exitCode).toBe(253)
    expect(linesOf(run.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          "^The journal '/dev/full' could not be written: no space left on the device\\. " +
            'The run itself ended rotated \\(exit 0 otherwise\\): ',
        ),
      ),
    ])
  })

  it('says so beside the error of a run that failed, whose own exit code stands', async () => {
    // when a run that cannot reach KMS cannot journal its error either
    const run = await runCli([
      'update-alias',
      ...['--alias-name', ALIAS, '--target-key-id', '1234abcd-12ab-34cd-56ef-1234567890ab'],
      ...['--endpoint-url', await closedLoopbackUrl(), '--journal', '/dev/full'],
    ])

    // then both are said, and the exit code is the connection error's
    expect(run.exitCode).toBe(255)
    expect(linesOf(run.stderr)).toEqual([
      expect.stringContaining("The journal '/dev/full' could not be written"),
      expect.stringContaining('Could not connect to the endpoint URL'),
    ])
  })
})

describe('rollback', () => {
  it('after a rotation moves the alias back to the key it left, and is journaled', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    expect((await updateAlias(given.target)).exitCode).toBe(0)

    // when
    const run = await rollback('--output', 'json')

    // then
    expect(run.exitCode).toBe(0)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    expect(report.checks).toContainEqual(expect.objectContaining({id: 'expected-current', status: 'pass'}))
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
    const lines = journalLines()
    expect(lines.at(-1)).toMatchObject({command: 'rollback', outcome: 'rotated', rollbackOf: 1})
    expect(lines.at(-1)?.to.keyId).toBe(given.currentKeyId)
  })

  it('--journal-entry 2 undoes the move before the latest', async () => {
    // given the alias moved from A to B, then from B to C
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const third = await kms.createKey()
    expect((await updateAlias(given.target)).exitCode).toBe(0)
    expect((await updateAlias(third.KeyId)).exitCode).toBe(0)

    // when
    const run = await rollback('--journal-entry', '2')

    // then: moving back to A is refused, since the alias is on C, not on B
    expect(run.exitCode).toBe(3)
    expect(await kms.aliasTarget(ALIAS)).toBe(third.KeyId)
  })

  it('--journal-entry 2 moves the alias back by the older move when it is on that move\'s new key', async () => {
    // given the alias moved from A to B, then from B to C, then put back on B by someone else
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const third = await kms.createKey()
    expect((await updateAlias(given.target)).exitCode).toBe(0)
    expect((await updateAlias(third.KeyId)).exitCode).toBe(0)
    await kms.client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: given.targetKeyId}))

    // when
    const run = await rollback('--journal-entry', '2')

    // then it is back on A, and the rollback line names the first move
    expect(run.exitCode).toBe(0)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
    expect(journalLines().at(-1)).toMatchObject({command: 'rollback', outcome: 'rotated', rollbackOf: 1})
  })

  it('is refused by compare-and-swap when the alias was moved elsewhere meanwhile: exit 3, alias left there', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const third = await kms.createKey()
    expect((await updateAlias(given.target)).exitCode).toBe(0)
    await kms.client.send(new UpdateAliasCommand({AliasName: ALIAS, TargetKeyId: third.KeyId}))

    // when
    const run = await rollback('--output', 'json')

    // then
    expect(run.exitCode).toBe(3)
    const report = parseJsonReport(run.stdout)
    expect(report.outcome).toBe('refused')
    expect(report.updateSent).toBe(false)
    expect(report.checks).toContainEqual(expect.objectContaining({id: 'expected-current', status: 'fail'}))
    expect(await kms.aliasTarget(ALIAS)).toBe(third.KeyId)
    expect(journalLines().at(-1)).toMatchObject({command: 'rollback', outcome: 'refused'})
  })

  it('with no rotation of the alias in the journal is exit 252, one line, nothing sent', async () => {
    // given a journal with only a dry run
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    expect((await updateAlias(given.target, '--dry-run')).exitCode).toBe(0)
    recording = await startRecordingEndpoint(motoUrl)

    // when
    const run = await runCli(['rollback', '--alias-name', ALIAS, '--endpoint-url', recording.url, '--journal', journal])

    // then
    expect(run.exitCode).toBe(252)
    expect(linesOf(run.stderr)).toEqual([
      `No rotation of '${ALIAS}' in us-east-1 to roll back: the journal '${journal}' holds none. ` +
        'Name the journal that recorded it with --journal, or move the alias with update-alias.',
    ])
    expect(recording.requests).toEqual([])
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})
