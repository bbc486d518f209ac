import {appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListGrantsCommand,
  ListAliasesCommand,
  UpdateAliasCommand,
  type DescribeKeyCommandInput,
  type ListAliasesCommandInput,
  type UpdateAliasCommandInput,
} from '@aws-sdk/client-kms'
import {afterAll, beforeEach, describe, expect, it} from 'vitest'

import type {AwsSettings} from '../../src/lib/aws-config.js'
import {
  alreadyRotated,
  fleetOutcome,
  formatFleetReport,
  runFleet,
  type FleetEntryResult,
  type FleetRun,
} from '../../src/lib/fleet.js'
import {KmsRotateError} from '../../src/lib/errors.js'
import {EXIT, OUTCOMES} from '../../src/lib/outcomes.js'
import {readJournal, type JournalEntry, type NumberedEntry} from '../../src/lib/journal.js'
import {KMS_QUOTAS} from '../../src/lib/pacing.js'
import {
  ACCOUNT,
  aliasEntry,
  defaultKeyPolicy,
  keyMetadata,
  kmsMock,
  notFound,
  REGION,
  CURRENT_KEY_ID,
  TARGET_KEY_ID,
  THIRD_KEY_ID,
} from '../support/kms-mock.js'

// The SDK's notice about the Node version is for maintainers, not test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const directory = mkdtempSync(join(tmpdir(), 'kms-rotate-fleet-unit-'))
let journals = 0

afterAll(() => rmSync(directory, {recursive: true, force: true}))

const SETTINGS: AwsSettings = {
  region: REGION,
  profile: undefined,
  profileSource: undefined,
  endpoint: undefined,
  retryMode: 'standard',
  maxAttempts: 1,
  verifySsl: true,
  caBundle: undefined,
  connectTimeoutMs: 0,
  readTimeoutMs: 0,
  signRequests: true,
}

/** Where each alias points in the mocked KMS; UpdateAlias moves it, DescribeKey and ListAliases read it. */
let aliases: Map<string, string>
const disabledKeys = new Set<string>()

function givenAliases(...names: string[]): void {
  for (const name of names) aliases.set(name, CURRENT_KEY_ID)
}

beforeEach(() => {
  kmsMock.reset()
  aliases = new Map()
  disabledKeys.clear()
  kmsMock.on(DescribeKeyCommand).callsFake((input: DescribeKeyCommandInput) => {
    const keyId = input.KeyId as string
    const target = keyId.startsWith('alias/') ? aliases.get(keyId) : keyId
    if (target === undefined) throw notFound(`Alias ${keyId} is not found.`)
    const disabled = disabledKeys.has(target)
    return {KeyMetadata: keyMetadata(target, disabled ? {KeyState: 'Disabled', Enabled: false} : {})}
  })
  kmsMock.on(GetKeyPolicyCommand).resolves({Policy: defaultKeyPolicy(), PolicyName: 'default'})
  kmsMock.on(ListGrantsCommand).resolves({Grants: [], Truncated: false})
  kmsMock.on(ListAliasesCommand).callsFake((input: ListAliasesCommandInput) => {
    const all = [...aliases].map(([name, keyId]) => aliasEntry(name, keyId))
    const keyId = input.KeyId?.split('/').at(-1)
    return {Aliases: keyId ? all.filter((alias) => alias.TargetKeyId === keyId) : all, Truncated: false}
  })
  kmsMock.on(UpdateAliasCommand).callsFake((input: UpdateAliasCommandInput) => {
    aliases.set(input.AliasName as string, input.TargetKeyId as string)
    return {}
  })
})

function entries(...names: Array<string | {alias: string; target: string}>): FleetRun['entries'] {
  return names.map((item, index) => {
    const {alias, target} = typeof item === 'string' ? {alias: item, target: TARGET_KEY_ID} : item
    return {entry: {index: index + 1, alias, target: {given: target}}, region: REGION, profile: undefined, settings: SETTINGS}
  })
}

function fleetRun(command: 'plan' | 'apply', runEntries: FleetRun['entries'], more: Partial<FleetRun> = {}): FleetRun {
  return {
    command,
    file: '/rotations.yaml',
    entries: runEntries,
    options: {allowKeySpecChange: false, waitTimeoutSeconds: 5, canary: false},
    rates: {...KMS_QUOTAS},
    endpointFlag: undefined,
    journal: command === 'apply' ? {path: join(directory, `journal-${journals++}.jsonl`), source: '--journal'} : undefined,
    createClient: () => new KMSClient({region: REGION, credentials: {accessKeyId: 'AKID', secretAccessKey: 'secret'}}),
    identityOf: async () => ({arn: `arn:aws:iam::${ACCOUNT}:user/ops`, account: ACCOUNT, userId: 'AIDA', error: null}),
    ...more,
  }
}

function updatedAliases(): string[] {
  return kmsMock.commandCalls(UpdateAliasCommand).map((call) => call.args[0].input.AliasName as string)
}

describe('plan', () => {
  it('runs every preflight and never calls UpdateAlias', async () => {
    // given three aliases, one of them on its target already
    givenAliases('alias/a', 'alias/b')
    aliases.set('alias/c', TARGET_KEY_ID)
    // when
    const report = await runFleet(fleetRun('plan', entries('alias/a', 'alias/b', 'alias/c')))
    // then
    expect(report.outcome).toBe('planned')
    expect(report.entries.map((entry) => entry.outcome)).toEqual(['planned', 'planned', 'unchanged'])
    expect(updatedAliases()).toEqual([])
    expect(kmsMock.commandCalls(DescribeKeyCommand).length).toBeGreaterThanOrEqual(6)
  })

  it('ends refused when any entry would be refused', async () => {
    givenAliases('alias/a', 'alias/b')
    disabledKeys.add(THIRD_KEY_ID)
    const report = await runFleet(fleetRun('plan', entries('alias/a', {alias: 'alias/b', target: THIRD_KEY_ID})))
    expect(report.outcome).toBe('refused')
    expect(report.totals.outcomes).toEqual({planned: 1, refused: 1})
    expect(updatedAliases()).toEqual([])
  })
})

describe('apply', () => {
  it('moves every alias that passed and journals every entry with the run id and file', async () => {
    // given
    givenAliases('alias/a', 'alias/b')
    const run = fleetRun('apply', entries('alias/a', 'alias/b'))
    // when
    const report = await runFleet(run)
    // then
    expect(report.outcome).toBe('rotated')
    expect(updatedAliases().sort()).toEqual(['alias/a', 'alias/b'])
    const lines = await readJournal(run.journal!.path)
    expect(lines.map(({entry}) => [entry.alias, entry.command, entry.outcome, entry.run])).toEqual(
      expect.arrayContaining([
        ['alias/a', 'apply', 'rotated', {id: report.runId, file: '/rotations.yaml', entry: 1}],
        ['alias/b', 'apply', 'rotated', {id: report.runId, file: '/rotations.yaml', entry: 2}],
      ]),
    )
  })

  it('ends partial when some rotated and one was refused, with no UpdateAlias for the refused one', async () => {
    givenAliases('alias/a', 'alias/b')
    disabledKeys.add(THIRD_KEY_ID)
    const report = await runFleet(fleetRun('apply', entries('alias/a', {alias: 'alias/b', target: THIRD_KEY_ID})))
    expect(report.outcome).toBe('partial')
    expect(updatedAliases()).toEqual(['alias/a'])
  })

  it('with --fail-fast sends no UpdateAlias after the first failed entry', async () => {
    // given a refused entry first, confirmed as on a terminal so that the whole plan runs first
    givenAliases('alias/a', 'alias/b', 'alias/c')
    disabledKeys.add(THIRD_KEY_ID)
    const run = fleetRun('apply', entries({alias: 'alias/a', target: THIRD_KEY_ID}, 'alias/b', 'alias/c'), {
      failFast: true,
      confirm: async () => true,
    })
    // when
    const report = await runFleet(run)
    // then
    expect(updatedAliases()).toEqual([])
    expect(report.entries.map((entry) => entry.skipped)).toEqual([null, 'fail-fast', 'fail-fast'])
    expect(report.outcome).toBe('refused')
  })

  it('without --fail-fast carries on past a failed entry', async () => {
    givenAliases('alias/a', 'alias/b', 'alias/c')
    disabledKeys.add(THIRD_KEY_ID)
    const run = fleetRun('apply', entries({alias: 'alias/a', target: THIRD_KEY_ID}, 'alias/b', 'alias/c'), {
      confirm: async () => true,
    })
    const report = await runFleet(run)
    expect(updatedAliases().sort()).toEqual(['alias/b', 'alias/c'])
    expect(report.outcome).toBe('partial')
  })

  it('sends nothing when the prompt is answered no', async () => {
    givenAliases('alias/a')
    const report = await runFleet(fleetRun('apply', entries('alias/a'), {confirm: async () => false}))
    expect(report.outcome).toBe('declined')
    expect(updatedAliases()).toEqual([])
  })

  it('ends declined, not partial, when the prompt is answered no and some entries were unchanged', async () => {
    // given one alias already on its target and two that would move
    givenAliases('alias/b', 'alias/c')
    aliases.set('alias/a', TARGET_KEY_ID)
    // when the prompt is answered no
    const report = await runFleet(fleetRun('apply', entries('alias/a', 'alias/b', 'alias/c'), {confirm: async () => false}))
    // then nothing moved and the run says so
    expect(updatedAliases()).toEqual([])
    expect(report.totals.outcomes).toEqual({unchanged: 1, declined: 2})
    expect(report.outcome).toBe('declined')
    expect(OUTCOMES[report.outcome].exitCode).toBe(3)
  })

  it('ends refused, not partial, with --yes when one entry was unchanged and one refused', async () => {
    // given one alias already on its target and one whose target is disabled
    aliases.set('alias/a', TARGET_KEY_ID)
    givenAliases('alias/b')
    disabledKeys.add(THIRD_KEY_ID)
    // when
    const report = await runFleet(fleetRun('apply', entries('alias/a', {alias: 'alias/b', target: THIRD_KEY_ID})))
    // then
    expect(updatedAliases()).toEqual([])
    expect(report.outcome).toBe('refused')
    expect(report.summary).toMatch(/^Applied 2 entries: 1 unchanged, 1 refused;/)
  })

  it('counts one entry in the singular', async () => {
    givenAliases('alias/a')
    const report = await runFleet(fleetRun('apply', entries('alias/a')))
    expect(report.summary).toMatch(/^Applied 1 entry: 1 rotated;/)
  })

  it('after Ctrl-C sends no UpdateAlias and ends interrupted', async () => {
    givenAliases('alias/a', 'alias/b')
    const controller = new AbortController()
    controller.abort(new Error('interrupted'))
    const report = await runFleet(fleetRun('apply', entries('alias/a', 'alias/b'), {signal: controller.signal}))
    expect(report.outcome).toBe('interrupted')
    expect(updatedAliases()).toEqual([])
  })

  describe('--resume', () => {
    function journalWith(lines: Array<Partial<JournalEntry>>): {path: string; source: string} {
      const path = join(directory, `journal-${journals++}.jsonl`)
      const full = lines.map((line) => ({
        dryRun: false,
        region: REGION,
        account: ACCOUNT,
        outcome: 'rotated',
        from: {keyId: CURRENT_KEY_ID, arn: null},
        to: {keyId: TARGET_KEY_ID, arn: null},
        ...line,
      }))
      writeFileSync(path, full.map((line) => JSON.stringify(line)).join('\n') + '\n')
      return {path, source: '--journal'}
    }

    it('refuses, exit 253, a journal that does not exist, sending nothing and creating no journal', async () => {
      givenAliases('alias/a')
      const journal = {path: join(directory, `missing-${journals++}.jsonl`), source: '--journal'}
      const error = await runFleet(fleetRun('apply', entries('alias/a'), {journal, resume: true})).then(
        () => undefined,
        (thrown: unknown) => thrown as KmsRotateError,
      )
      expect(error?.exitCode).toBe(EXIT.configuration)
      expect(error?.message).toMatch(/^Nothing to resume from: the journal '.*missing-\d+\.jsonl' does not exist; run without --resume/)
      expect(existsSync(journal.path)).toBe(false)
      expect(kmsMock.commandCalls(UpdateAliasCommand)).toHaveLength(0)
    })

    it('warns once with the count of lines that are not journal entries and goes by the others', async () => {
      // given a journal with alias/a's move between three lines of junk
      aliases.set('alias/a', TARGET_KEY_ID)
      givenAliases('alias/b')
      const journal = journalWith([{alias: 'alias/a'}])
      appendFileSync(journal.path, 'not json\n42\n{"foo": 1}\n')
      const warnings: string[] = []
      // when
      const report = await runFleet(
        fleetRun('apply', entries('alias/a', 'alias/b'), {journal, resume: true, warn: (line) => warnings.push(line)}),
      )
      // then
      expect(warnings).toEqual([expect.stringMatching(/holds 3 lines that are not journal entries; --resume goes by the 1 that are/)])
      expect(report.entries.map((entry) => entry.outcome)).toEqual(['unchanged', 'rotated'])
    })

    it('checks a journaled entry again and leaves it unchanged when it is on its target, sending the rest', async () => {
      // given alias/a moved by an earlier run that was cut off, alias/b not yet
      aliases.set('alias/a', TARGET_KEY_ID)
      givenAliases('alias/b')
      const journal = journalWith([{alias: 'alias/a'}])
      // when
      const report = await runFleet(fleetRun('apply', entries('alias/a', 'alias/b'), {journal, resume: true}))
      // then
      expect(report.entries.map((entry) => entry.outcome)).toEqual(['unchanged', 'rotated'])
      expect(updatedAliases()).toEqual(['alias/b'])
    })

    it('leaves a journaled entry with expectedCurrent unchanged, since its alias left that key by that move', async () => {
      // given alias/a, expected on CURRENT_KEY_ID, already moved to its target by an earlier run
      aliases.set('alias/a', TARGET_KEY_ID)
      const [entry] = entries('alias/a')
      entry.entry.expectedCurrentKey = {given: CURRENT_KEY_ID}
      const journal = journalWith([{alias: 'alias/a'}])
      // when
      const report = await runFleet(fleetRun('apply', [entry], {journal, resume: true}))
      // then
      expect(report.entries[0].outcome).toBe('unchanged')
      expect(report.outcome).toBe('unchanged')
      expect(updatedAliases()).toEqual([])
    })

    it('never sends again an entry the journal moved when its alias has been moved elsewhere since', async () => {
      aliases.set('alias/a', THIRD_KEY_ID)
      const journal = journalWith([{alias: 'alias/a'}])
      const report = await runFleet(fleetRun('apply', entries('alias/a'), {journal, resume: true}))
      expect(report.entries[0]).toMatchObject({outcome: 'overwritten', skipped: 'already-rotated'})
      expect(updatedAliases()).toEqual([])
    })
  })
})

describe('alreadyRotated', () => {
  const entry = {index: 1, alias: 'alias/a', target: {given: TARGET_KEY_ID}}
  const place = {region: REGION, account: ACCOUNT}
  const line = (number: number, fields: Partial<JournalEntry>): NumberedEntry => ({
    line: number,
    entry: {
      alias: 'alias/a',
      region: REGION,
      account: ACCOUNT,
      dryRun: false,
      outcome: 'rotated',
      to: {keyId: TARGET_KEY_ID, arn: null},
      ...fields,
    } as JournalEntry,
  })

  it('finds the latest move of the alias to the target', () => {
    expect(alreadyRotated([line(1, {}), line(2, {outcome: 'unconfirmed'})], entry, place)?.line).toBe(2)
  })

  it('ignores a move to the target that a later move elsewhere undid', () => {
    expect(alreadyRotated([line(1, {}), line(2, {to: {keyId: THIRD_KEY_ID, arn: null}})], entry, place)).toBeUndefined()
  })

  it('ignores dry runs, refusals, other Regions and other accounts', () => {
    const lines = [
      line(1, {dryRun: true}),
      line(2, {outcome: 'refused'}),
      line(3, {region: 'us-west-2'}),
      line(4, {account: '444455556666'}),
    ]
    expect(alreadyRotated(lines, entry, place)).toBeUndefined()
  })
})

describe('fleetOutcome', () => {
  const result = (outcome: FleetEntryResult['outcome'], exitCode = 0): FleetEntryResult =>
    ({outcome, exitCode, skipped: null}) as FleetEntryResult

  it('apply: partial when some rotated and some did not, refused when none did', () => {
    expect(fleetOutcome('apply', [result('rotated'), result('refused', 3)], false)).toBe('partial')
    expect(fleetOutcome('apply', [result('refused', 3), result('not-found', 254)], false)).toBe('refused')
    expect(fleetOutcome('apply', [result('rotated'), result('unchanged')], false)).toBe('rotated')
    expect(fleetOutcome('apply', [result('rotated')], true)).toBe('interrupted')
  })

  it('apply: partial only when an entry moved and another failed', () => {
    expect(fleetOutcome('apply', [result('unchanged'), result('refused', 3)], false)).toBe('refused')
    expect(fleetOutcome('apply', [result('unchanged'), result('declined', 3)], false)).toBe('declined')
    expect(fleetOutcome('apply', [result('unchanged'), result(null, 254)], false)).toBe('refused')
    expect(fleetOutcome('apply', [result('unchanged'), result('not-found', 254)], false)).toBe('refused')
    expect(fleetOutcome('apply', [result('unconfirmed', 4), result('refused', 3)], false)).toBe('partial')
    expect(fleetOutcome('apply', [result('submitted'), result(null, 254)], false)).toBe('partial')
  })

  it('plan: planned when none failed, refused otherwise', () => {
    expect(fleetOutcome('plan', [result('planned'), result('unchanged')], false)).toBe('planned')
    expect(fleetOutcome('plan', [result('planned'), result(null, 254)], false)).toBe('refused')
  })
})

describe('formatFleetReport', () => {
  it('applies --query to the whole report and prints any --output format', async () => {
    givenAliases('alias/a')
    const report = await runFleet(fleetRun('plan', entries('alias/a')))
    const {compileQuery} = await import('../../src/lib/query.js')
    const {Chalk} = await import('chalk')
    const colour = new Chalk({level: 0})
    // As the command does once --output is known: the yaml library loads only for yaml.
    const {loadFormatLibraries} = await import('../../src/lib/render.js')
    await loadFormatLibraries('yaml')
    expect(formatFleetReport(report, 'text', compileQuery('entries[].alias'), colour)).toBe('alias/a\n')
    expect(formatFleetReport(report, 'yaml', compileQuery('totals'), colour)).toContain('planned: 1')
    expect(formatFleetReport(report, undefined, undefined, colour)).toMatch(/alias\/a.*planned/)
    expect(formatFleetReport(report, 'off', undefined, colour)).toBe('')
  })
})
