/**
 * The built CLI with --regions against moto, through the fault proxy, which shows moto's
 * multi-Region key ids in KMS's form (mrk- and 32 hex digits) as the CLI requires them, and
 * presents a key made in each Region as the replicas of one multi-Region key. Each test
 * checks the outcome, the exit code, which Regions got UpdateAlias, and where each alias ended up.
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {EXIT, OUTCOMES} from '../../src/lib/outcomes.js'
import {runCli} from '../support/cli.js'
import {startKmsFaultProxy, type KmsFaultProxy} from '../support/kms-fault-proxy.js'
import {MotoKms, TEST_REGION} from '../support/moto.js'
import {useMoto} from '../support/moto-per-test.js'
import {parseMultiRegionReport} from '../support/report-schema.js'
import {ALIAS, OTHER_REGION} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
const west = new MotoKms(motoUrl, OTHER_REGION)
const REGIONS = `${TEST_REGION},${OTHER_REGION}`
let proxy: KmsFaultProxy

beforeAll(async () => {
  proxy = await startKmsFaultProxy(motoUrl)
})

beforeEach(() => {
  proxy.reset()
  proxy.kmsMultiRegionIds()
})

/** moto's ids of one multi-Region key's replicas, and the id the CLI sees for all of them. */
interface ReplicatedKey {
  east: string
  west: string | undefined
  id: string
}

/** A multi-Region key in us-east-1, replicated to us-west-2 unless `replicate` is false. */
async function multiRegionKey(replicate = true): Promise<ReplicatedKey> {
  const east = (await kms.createKey({multiRegion: true})).KeyId
  const westId = replicate ? (await west.createKey({multiRegion: true})).KeyId : undefined
  const id = proxy.multiRegionKey(westId ? {[TEST_REGION]: east, [OTHER_REGION]: westId} : {[TEST_REGION]: east})
  return {east, west: westId, id}
}

afterAll(async () => {
  west.destroy()
  await proxy.close()
})

/**
 * Two multi-Region keys in both Regions (the new one only in us-east-1 when `replicateNew` is
 * false); ALIAS on the old key in us-east-1, and in us-west-2 unless `westAlias` is false.
 */
async function givenMultiRegionKeys({replicateNew = true, westAlias = true} = {}) {
  const oldKey = await multiRegionKey()
  const newKey = await multiRegionKey(replicateNew)
  await kms.createAlias(ALIAS, oldKey.east)
  if (westAlias) await west.createAlias(ALIAS, oldKey.west as string)
  return {oldKey, newKey}
}

function regionsArgs(target: string, ...more: string[]): string[] {
  return [
    'update-alias',
    '--regions',
    REGIONS,
    '--alias-name',
    ALIAS,
    '--target-key-id',
    target,
    '--endpoint-url',
    proxy.url,
    '--yes',
    ...more,
  ]
}

function updatedRegions(): string[] {
  return proxy.callsTo('UpdateAlias').map((call) => call.region)
}

describe('--regions with multi-Region keys', () => {
  it('rotates the alias in both Regions to each Region replica and ends rotated, exit 0', async () => {
    // given the alias on the old key in both Regions, the new key replicated to both
    const {oldKey, newKey} = await givenMultiRegionKeys()
    const journal = join(mkdtempSync(join(tmpdir(), 'kms-rotate-journal-')), 'journal.jsonl')
    // when
    const run = await runCli(regionsArgs(newKey.id, '--output', 'json', '--journal', journal))
    // then
    expect(run.exitCode).toBe(0)
    const report = parseMultiRegionReport(run.stdout)
    expect(report.outcome).toBe('rotated')
    // and the journal has one line per Region, as a run in each Region alone would write
    const lines = readFileSync(journal, 'utf8').trim().split('\n').map((line) => JSON.parse(line))
    expect(lines.map((line) => [line.region, line.outcome, line.to.keyId])).toEqual([
      [TEST_REGION, 'rotated', newKey.id],
      [OTHER_REGION, 'rotated', newKey.id],
    ])
    expect(report.regions.map((region) => ('outcome' in region ? region.outcome : region.error))).toEqual([
      'rotated',
      'rotated',
    ])
    for (const region of report.regions) {
      if (!('to' in region)) throw new Error(region.error)
      expect(region.from.keyId).toBe(oldKey.id)
      expect(region.to.arn).toBe(`arn:aws:kms:${region.region}:123456789012:key/${newKey.id}`)
      expect(region.checks.find((check) => check.id === 'multi-region')?.status).toBe('pass')
      expect(region.checks.find((check) => check.id === 'expected-current')?.status).toBe('pass')
    }

    expect(updatedRegions()).toEqual([TEST_REGION, OTHER_REGION])
    expect(await kms.aliasTarget(ALIAS)).toBe(newKey.east)
    expect(await west.aliasTarget(ALIAS)).toBe(newKey.west)
  })

  it('prints one section per Region, then the overall outcome', async () => {
    // given
    const {newKey} = await givenMultiRegionKeys()
    // when the human report is asked for
    const run = await runCli(regionsArgs(newKey.id))
    // then
    expect(run.exitCode).toBe(0)
    const east = run.stdout.indexOf(`${ALIAS} in ${TEST_REGION}`)
    const westSection = run.stdout.indexOf(`${ALIAS} in ${OTHER_REGION}`)
    const overall = run.stdout.lastIndexOf('rotated  All Regions: rotated')
    expect(east).toBeGreaterThanOrEqual(0)
    expect(westSection).toBeGreaterThan(east)
    expect(overall).toBeGreaterThan(westSection)
  })
})

describe('--regions with a journal that opens but cannot take a line (a full disk)', () => {
  it('moves the first Region, starts no other, reports which, and exits 253', async () => {
    // given the alias on the old key in both Regions
    const {oldKey, newKey} = await givenMultiRegionKeys()

    // when the first Region's journal line cannot be written
    const run = await runCli(regionsArgs(newKey.id, '--output', 'json', '--journal', '/dev/full'))

    // then only the first Region moved, the report says so, and the second was never started
    expect(updatedRegions()).toEqual([TEST_REGION])
    expect(await kms.aliasTarget(ALIAS)).toBe(newKey.east)
    expect(await west.aliasTarget(ALIAS)).toBe(oldKey.west)
    const report = parseMultiRegionReport(run.stdout)
    expect(report.regions.map((region) => region.region)).toEqual([TEST_REGION])
    expect(report.summary).toContain(`not started: ${OTHER_REGION}`)
    expect(report.outcome).toBe('interrupted')
    expect(run.exitCode).toBe(EXIT.configuration)
    expect(run.stderr).toMatch(/^The journal '\/dev\/full' could not be written: .* The run itself ended interrupted/m)
  })
})

describe('--regions that end partial', () => {
  it('ends partial, exit 6, when the alias is missing in one Region; its rollback command moves it back', async () => {
    // given no alias in us-west-2
    const {oldKey, newKey} = await givenMultiRegionKeys({westAlias: false})
    // when
    const run = await runCli(regionsArgs(newKey.id, '--output', 'json'))
    // then us-east-1 moved, us-west-2 did not, and the report says how to undo us-east-1
    expect(run.exitCode).toBe(OUTCOMES.partial.exitCode)
    expect(run.exitCode).toBe(6)
    const report = parseMultiRegionReport(run.stdout)
    expect(report.outcome).toBe('partial')
    expect(report.regions.map((region) => ('outcome' in region ? region.outcome : 'error'))).toEqual([
      'rotated',
      'not-found',
    ])
    const command =
      `kms-rotate update-alias --region ${TEST_REGION} --alias-name ${ALIAS} ` +
      `--target-key-id ${oldKey.id} --expected-current-key ${newKey.id}`
    expect(report.rollback).toEqual([{region: TEST_REGION, command}])
    expect(run.stderr).toContain(command)
    expect(updatedRegions()).toEqual([TEST_REGION])
    expect(await kms.aliasTarget(ALIAS)).toBe(newKey.east)
    expect(await west.aliasTarget(ALIAS)).toBeUndefined()

    // when the rollback command is run
    const [, ...args] = command.split(' ')
    const rollback = await runCli([...args, '--endpoint-url', proxy.url, '--yes', '--output', 'json'])
    // then the alias is back on the old key in us-east-1
    expect(rollback.exitCode).toBe(0)
    expect((JSON.parse(rollback.stdout) as {outcome: string}).outcome).toBe('rotated')
    expect(await kms.aliasTarget(ALIAS)).toBe(oldKey.east)
  })

  it('ends partial, exit 6, when the new key has no replica in one Region, listing only the other to roll back', async () => {
    // given the new key only in us-east-1
    const {oldKey, newKey} = await givenMultiRegionKeys({replicateNew: false})
    // when
    const run = await runCli(regionsArgs(newKey.id, '--output', 'json'))
    // then
    expect(run.exitCode).toBe(OUTCOMES.partial.exitCode)
    const report = parseMultiRegionReport(run.stdout)
    const westReport = report.regions[1]
    if (!('checks' in westReport)) throw new Error(westReport.error)
    expect(westReport.outcome).toBe('not-found')
    expect(westReport.checks.find((check) => check.id === 'target-exists')?.status).toBe('fail')
    expect(report.rollback.map((entry) => entry.region)).toEqual([TEST_REGION])
    expect(updatedRegions()).toEqual([TEST_REGION])
    expect(await kms.aliasTarget(ALIAS)).toBe(newKey.east)
    expect(await west.aliasTarget(ALIAS)).toBe(oldKey.west)
  })
})

describe('--regions without multi-Region keys', () => {
  it('is a usage error, exit 252, with no request sent, when --target-key-id is not an mrk- id', async () => {
    // given an ordinary key
    const key = await kms.createKey()
    // when
    const run = await runCli(regionsArgs(key.KeyId))
    // then
    expect(run.exitCode).toBe(EXIT.usage)
    expect(run.stdout).toBe('')
    expect(run.stderr.trim().split('\n')).toEqual([
      `--target-key-id '${key.KeyId}' is not a multi-Region key id: --regions needs the mrk- id that every ` +
        "Region's replica shares.",
    ])
    expect(proxy.requests).toHaveLength(0)
  })

  it('refuses in every Region, exit 3, when the alias is on a single-Region key', async () => {
    // given the alias on an ordinary key in both Regions, and a multi-Region target replicated to both
    const newKey = await multiRegionKey()
    const eastKey = await kms.createKey()
    const westKey = await west.createKey()
    await kms.createAlias(ALIAS, eastKey.KeyId)
    await west.createAlias(ALIAS, westKey.KeyId)
    // when
    const run = await runCli(regionsArgs(newKey.id, '--output', 'json'))
    // then
    expect(run.exitCode).toBe(OUTCOMES.refused.exitCode)
    const report = parseMultiRegionReport(run.stdout)
    expect(report.outcome).toBe('refused')
    for (const region of report.regions) {
      if (!('checks' in region)) throw new Error(region.error)
      const check = region.checks.find((candidate) => candidate.id === 'multi-region')
      expect(check?.status).toBe('fail')
      expect(check?.message).toContain('is not multi-Region')
    }

    expect(proxy.callsTo('UpdateAlias')).toHaveLength(0)
    expect(await kms.aliasTarget(ALIAS)).toBe(eastKey.KeyId)
    expect(await west.aliasTarget(ALIAS)).toBe(westKey.KeyId)
  })
})
