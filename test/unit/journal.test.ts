import {DescribeKeyCommand, UpdateAliasCommand} from '@aws-sdk/client-kms'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {resolveAwsSettings} from '../../src/lib/aws-config.js'
import {ConfigurationError, UsageError} from '../../src/lib/errors.js'
import {
  Journal,
  journalEntry,
  journalPath,
  readJournal,
  rotationToUndo,
  type JournalEntry,
  type NumberedEntry,
} from '../../src/lib/journal.js'
import {EXIT} from '../../src/lib/outcomes.js'
import type {RotationReport} from '../../src/lib/report.js'
import {runRotation} from '../../src/lib/rotation-run.js'
import {parseTargetKeyId} from '../../src/lib/identifiers.js'
import {
  ALIAS,
  CURRENT_KEY_ID,
  keyArn,
  keyMetadata,
  kmsMock,
  newGateway,
  REGION,
  TARGET_KEY_ID,
  THIRD_KEY_ID,
} from '../support/kms-mock.js'

let directory: string

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'kms-rotate-journal-'))
  kmsMock.reset()
})

afterEach(() => rmSync(directory, {recursive: true, force: true}))

const IDENTITY = {arn: 'arn:aws:iam::111122223333:user/ops', account: '111122223333', userId: 'AIDAEXAMPLE', error: null}

function report(overrides: Partial<RotationReport> = {}): RotationReport {
  const key = (keyId: string) => ({
    keyId,
    arn: keyArn(keyId),
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    keyState: 'Enabled',
    keyManager: 'CUSTOMER',
  })
  return {
    alias: ALIAS,
    region: REGION,
    outcome: 'rotated',
    summary: '',
    dryRun: false,
    updateSent: true,
    updateAccepted: true,
    updateError: null,
    from: key(CURRENT_KEY_ID),
    to: key(TARGET_KEY_ID),
    checks: [{id: 'alias-exists', status: 'pass', message: `${ALIAS} points at ${CURRENT_KEY_ID}`}],
    accessChanges: [],
    verification: null,
    canary: null,
    rollback: null,
    apiCalls: {UpdateAlias: 1},
    apiRetries: {},
    elapsedMs: 5,
    ...overrides,
  }
}

function entry(overrides: Partial<JournalEntry> = {}, reportOverrides: Partial<RotationReport> = {}): JournalEntry {
  const facts = {command: 'update-alias' as const, version: '0.1.0', identity: IDENTITY, region: REGION, alias: ALIAS}
  return {
    ...journalEntry({...facts, dryRun: false, requestIds: {}}, {report: report(reportOverrides)}),
    ...overrides,
  }
}

function numbered(...entries: JournalEntry[]): NumberedEntry[] {
  return entries.map((each, index) => ({line: index + 1, entry: each}))
}

describe('journalPath', () => {
  it('takes --journal over KMS_ROTATE_JOURNAL over XDG_STATE_HOME', () => {
    const env = {KMS_ROTATE_JOURNAL: '/var/log/j.jsonl', XDG_STATE_HOME: '/state'}
    expect(journalPath('/tmp/flag.jsonl', env, '/home/me')).toEqual({path: '/tmp/flag.jsonl', source: '--journal'})
    expect(journalPath(undefined, env, '/home/me').path).toBe('/var/log/j.jsonl')
    expect(journalPath(undefined, {XDG_STATE_HOME: '/state'}, '/home/me').path).toBe(
      '/state/kms-rotate/journal.jsonl',
    )
  })

  it('falls back to ~/.local/state when XDG_STATE_HOME is unset or relative, as the XDG spec says', () => {
    expect(journalPath(undefined, {}, '/home/me').path).toBe('/home/me/.local/state/kms-rotate/journal.jsonl')
    expect(journalPath(undefined, {XDG_STATE_HOME: 'state'}, '/home/me').path).toBe(
      '/home/me/.local/state/kms-rotate/journal.jsonl',
    )
  })

  it('refuses to guess a place with no absolute home directory, naming HOME and --journal (exit 253)', () => {
    // given HOME set relative, and no home directory for the account either
    const env = {HOME: 'relative/home'}

    // when the default journal is asked for, then it is a configuration error, not a relative path
    expect(() => journalPath(undefined, env, null)).toThrow(ConfigurationError)
    expect(() => journalPath(undefined, env, null)).toThrow(
      "The journal has no default location: HOME is 'relative/home', not an absolute path, and the account has no home directory. Set HOME, or give --journal PATH.",
    )
    // and a journal named by the flag, the variable or XDG_STATE_HOME needs no home directory
    expect(journalPath('/j.jsonl', env, null).path).toBe('/j.jsonl')
    expect(journalPath(undefined, {...env, KMS_ROTATE_JOURNAL: '/v.jsonl'}, null).path).toBe('/v.jsonl')
    expect(journalPath(undefined, {...env, XDG_STATE_HOME: '/s'}, null).path).toBe('/s/kms-rotate/journal.jsonl')
  })

  it('refuses an empty --journal as a usage error', () => {
    expect(() => journalPath('', {}, '/home/me')).toThrow(UsageError)
  })
})

describe('Journal', () => {
  it('creates a missing directory 0700 and the file 0600', async () => {
    // given
    const path = join(directory, 'state', 'kms-rotate', 'journal.jsonl')

    // when
    const journal = await Journal.open({path, source: '--journal'})
    await journal.close()

    // then
    expect(statSync(join(directory, 'state', 'kms-rotate')).mode & 0o777).toBe(0o700)
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it('appends: two runs give two lines after what was there', async () => {
    // given
    const path = join(directory, 'journal.jsonl')
    writeFileSync(path, `${JSON.stringify(entry())}\n`)

    // when
    for (const outcome of ['planned', 'refused'] as const) {
      const journal = await Journal.open({path, source: '--journal'})
      await journal.append(entry({outcome}))
      await journal.close()
    }

    // then
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n')
    expect(lines.map((line) => (JSON.parse(line) as JournalEntry).outcome)).toEqual(['rotated', 'planned', 'refused'])
  })

  it.each([
    ['a directory', (dir: string) => dir, 'it is a directory'],
    ['under a regular file', (dir: string) => join(writeFile(dir), 'journal.jsonl'), 'not a directory'],
  ])('at %s cannot be opened: exit 253, one line naming the path', async (_, pathIn, reason) => {
    // given
    const path = pathIn(directory)

    // when
    const opening = Journal.open({path, source: '--journal'})

    // then
    await expect(opening).rejects.toThrow(ConfigurationError)
    await expect(opening).rejects.toMatchObject({exitCode: EXIT.configuration})
    const {message} = (await opening.catch((error: Error) => error)) as Error
    expect(message).toContain(`'${path}' from --journal`)
    expect(message).toContain(reason)
    expect(message).not.toContain('\n')
  })

  it.skipIf(!existsSync('/proc/self'))('fails, instead of hanging, in a directory under /proc', async () => {
    const opening = Journal.open({path: '/proc/kms-rotate-no-such/journal.jsonl', source: '--journal'})
    await expect(opening).rejects.toMatchObject({exitCode: EXIT.configuration})
  })
})

function writeFile(dir: string): string {
  const path = join(dir, 'plain-file')
  writeFileSync(path, '')
  return path
}

describe('journalEntry', () => {
  it('holds time, identity, Region, alias, both keys, check statuses, outcome and request ids', () => {
    // when
    const line = journalEntry(
      {
        command: 'update-alias',
        version: '0.1.0',
        identity: IDENTITY,
        region: REGION,
        alias: ALIAS,
        dryRun: false,
        requestIds: {UpdateAlias: ['req-1']},
        time: new Date(Date.UTC(2025, 0, 2, 3, 4, 5)),
      },
      {report: report()},
    )

    // then
    expect(line).toEqual({
      time: '2025-01-02T03:04:05.000Z',
      command: 'update-alias',
      kmsRotateVersion: '0.1.0',
      identity: IDENTITY,
      account: '111122223333',
      region: REGION,
      alias: ALIAS,
      from: {keyId: CURRENT_KEY_ID, arn: keyArn(CURRENT_KEY_ID)},
      to: {keyId: TARGET_KEY_ID, arn: keyArn(TARGET_KEY_ID)},
      dryRun: false,
      checks: [{id: 'alias-exists', status: 'pass'}],
      outcome: 'rotated',
      exitCode: 0,
      error: null,
      requestIds: {UpdateAlias: ['req-1']},
      rollbackOf: null,
    })
  })

  it('records a run that ended in an error with a null outcome, the error and its exit code', () => {
    const unknown = {arn: null, account: null, userId: null, error: 'InvalidClientTokenId: no'}
    const facts = {command: 'rollback' as const, version: '0.1.0', identity: unknown, region: REGION, alias: ALIAS}
    const line = journalEntry(
      {...facts, dryRun: false, requestIds: {}, rollbackOf: 7},
      {error: 'An error occurred (AccessDeniedException)', exitCode: EXIT.service},
    )
    expect(line).toMatchObject({outcome: null, exitCode: 254, error: 'An error occurred (AccessDeniedException)'})
    expect(line).toMatchObject({identity: unknown, account: null, from: {keyId: null}, rollbackOf: 7})
  })
})

describe('readJournal', () => {
  it('numbers the lines and passes over one cut short by a crash', async () => {
    const path = join(directory, 'journal.jsonl')
    writeFileSync(path, `${JSON.stringify(entry())}\n\n${JSON.stringify(entry({outcome: 'planned'}))}\n{"time":"20`)
    const entries = await readJournal(path)
    expect(entries.map(({line, entry: each}) => [line, each.outcome])).toEqual([
      [1, 'rotated'],
      [3, 'planned'],
    ])
  })

  it('reads a journal that does not exist as empty', async () => {
    expect(await readJournal(join(directory, 'missing.jsonl'))).toEqual([])
  })

  it('tells of lines that are not entries, counting the ones it goes by', async () => {
    const path = join(directory, 'journal.jsonl')
    writeFileSync(path, `${JSON.stringify(entry())}\n{"time":"20\nnot json\n`)
    const warnings: string[] = []
    await readJournal(path, (line) => warnings.push(line))
    expect(warnings).toEqual([
      `Warning: the journal '${path}' holds 2 lines that are not journal entries; rollback goes by the 1 that are.`,
    ])
  })

  it('refuses a journal that is not a regular file, which could be read without end (exit 253)', async () => {
    await expect(readJournal('/dev/zero')).rejects.toThrow(
      expect.objectContaining({exitCode: EXIT.configuration, message: expect.stringContaining('not a regular file')}),
    )
  })
})

describe('Journal.append', () => {
  it('starts on a line of its own after a line cut short, so that the fragment spoils no later line', async () => {
    // given a journal whose last line was cut short by a full disk
    const path = join(directory, 'journal.jsonl')
    writeFileSync(path, `${JSON.stringify(entry())}\n{"time":"20`)

    // when a later run appends its line
    const later = entry({outcome: 'planned'})
    const journal = await Journal.open({path, source: '--journal'})
    await journal.append(later)
    await journal.close()

    // then that line reads as an entry, after the fragment
    expect(readFileSync(path, 'utf8').split('\n').at(-2)).toBe(JSON.stringify(later))
    expect((await readJournal(path)).map(({line, entry: each}) => [line, each.outcome])).toEqual([
      [1, 'rotated'],
      [3, 'planned'],
    ])
  })

  it('adds no blank line to a journal that ends a line, or to a new one', async () => {
    const path = join(directory, 'journal.jsonl')
    const [first, second] = [entry(), entry({outcome: 'planned'})]
    const journal = await Journal.open({path, source: '--journal'})
    await journal.append(first)
    await journal.append(second)
    await journal.close()
    expect(readFileSync(path, 'utf8')).toBe(`${JSON.stringify(first)}\n${JSON.stringify(second)}\n`)
  })
})

describe('rotationToUndo', () => {
  const where = {alias: ALIAS, region: REGION, path: '/j.jsonl'}
  const later = (from: string, to: string) =>
    entry({from: {keyId: from, arn: keyArn(from)}, to: {keyId: to, arn: keyArn(to)}})

  it('picks the latest move of the alias in the Region, past dry runs, refusals and other aliases', () => {
    const entries = numbered(
      entry(),
      later(TARGET_KEY_ID, THIRD_KEY_ID),
      entry({dryRun: true, outcome: 'planned'}),
      entry({outcome: 'refused'}),
      entry({outcome: 'overwritten'}),
      entry({alias: 'alias/other'}),
      entry({region: 'eu-west-1'}),
      entry({outcome: null, error: 'boom'}),
    )
    expect(rotationToUndo(entries, where)).toMatchObject({line: 2, entry: {to: {keyId: THIRD_KEY_ID}}})
  })

  it('counts --journal-entry back from the latest move, 1 being the latest', () => {
    const entries = numbered(entry(), entry({outcome: 'refused'}), later(TARGET_KEY_ID, THIRD_KEY_ID))
    expect(rotationToUndo(entries, where, 2).line).toBe(1)
  })

  it('takes submitted and unconfirmed moves too: KMS accepted UpdateAlias', () => {
    expect(rotationToUndo(numbered(entry({outcome: 'submitted'})), where).line).toBe(1)
    expect(rotationToUndo(numbered(entry({outcome: 'unconfirmed'})), where).line).toBe(1)
  })

  it('refuses with a usage error naming the alias and the journal when there is no move', () => {
    const refusal = () => rotationToUndo(numbered(entry({outcome: 'refused'})), where)
    expect(refusal).toThrow(UsageError)
    expect(refusal).toThrow(`No rotation of '${ALIAS}' in ${REGION} to roll back: the journal '/j.jsonl' holds none`)
  })

  it('refuses an entry number beyond the moves recorded', () => {
    expect(() => rotationToUndo(numbered(entry()), where, 2)).toThrow(/holds only 1, and --journal-entry 2/)
  })
})

describe('KmsGateway request ids', () => {
  it('keeps the request id of each answered call, per operation', async () => {
    // given
    kmsMock.on(DescribeKeyCommand).resolves({KeyMetadata: keyMetadata(CURRENT_KEY_ID), $metadata: {requestId: 'd-1'}})
    kmsMock.on(UpdateAliasCommand).resolves({$metadata: {requestId: 'u-1'}})
    const kms = newGateway()

    // when
    await kms.describeKey(ALIAS)
    await kms.updateAlias(ALIAS, TARGET_KEY_ID)

    // then
    expect(kms.requestIds).toEqual({DescribeKey: ['d-1'], UpdateAlias: ['u-1']})
  })
})

describe('runRotation', () => {
  it('with a journal that cannot be opened fails with exit 253 before any call', async () => {
    // given
    const settings = await resolveAwsSettings({region: REGION, endpointUrl: 'http://127.0.0.1:9'})
    const flags = {'dry-run': false, yes: true, debug: false, color: 'off' as const, 'no-cli-pager': true}

    // when
    const running = runRotation({
      command: 'update-alias',
      settings,
      profileSettings: {},
      flags,
      output: 'off',
      query: undefined,
      journal: {path: directory, source: '--journal'},
      prepare: async () => ({
        aliasName: ALIAS,
        target: parseTargetKeyId(TARGET_KEY_ID),
        region: REGION,
        dryRun: false,
        allowKeySpecChange: false,
        waitTimeoutSeconds: 0,
      }),
    })

    // then
    await expect(running).rejects.toMatchObject({exitCode: EXIT.configuration})
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
    expect(kmsMock).not.toHaveReceivedCommand(DescribeKeyCommand)
  })
})
