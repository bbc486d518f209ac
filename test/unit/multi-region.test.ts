import {readFileSync} from 'node:fs'

import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSServiceException,
  ListAliasesCommand,
  ListGrantsCommand,
  UpdateAliasCommand,
  type KeyMetadata,
  type KMSClient,
} from '@aws-sdk/client-kms'
import {Ajv2020} from 'ajv/dist/2020.js'
import {beforeEach, describe, expect, it} from 'vitest'

import type {AwsSettings} from '../../src/lib/aws-config.js'
import {UsageError} from '../../src/lib/errors.js'
import {parseTargetKeyId} from '../../src/lib/identifiers.js'
import {
  checkMultiRegionKey,
  combineOutcomes,
  isFailure,
  parseRegions,
  rotateInRegions,
  type MultiRegionReport,
} from '../../src/lib/multi-region.js'
import {ACCOUNT, ALIAS, defaultKeyPolicy, keyArn, keyMetadata, kmsMock, notFound} from '../support/kms-mock.js'

const OLD_MRK = 'mrk-00000000000000000000000000000001'
const NEW_MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab'
const SINGLE_REGION_KEY = '1234abcd-12ab-34cd-56ef-1234567890ab'
const EAST = 'us-east-1'
const WEST = 'eu-west-1'

const readSchema = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../schema/${name}`, import.meta.url), 'utf8')) as object
const validate = new Ajv2020({allErrors: true, strict: true})
  .addSchema(readSchema('report.schema.json'))
  .compile(readSchema('multi-region-report.schema.json'))

const SETTINGS: AwsSettings = {
  region: EAST,
  profile: undefined,
  profileSource: undefined,
  endpoint: undefined,
  retryMode: 'standard',
  maxAttempts: 1,
  verifySsl: true,
  caBundle: undefined,
  connectTimeoutMs: 1000,
  readTimeoutMs: 1000,
  signRequests: true,
}

/** A key as DescribeKey in `region` shows it: its ARN names that Region. */
function regionalKey(keyId: string, region: string, overrides: Partial<KeyMetadata> = {}): KeyMetadata {
  return keyMetadata(keyId, {Arn: keyArn(keyId, region), MultiRegion: keyId.startsWith('mrk-'), ...overrides})
}

async function regionOf(getClient: () => KMSClient): Promise<string> {
  return getClient().config.region()
}

/**
 * A KMS per Region: where the alias points in each (undefined: no alias), and which keys exist.
 * UpdateAlias moves the alias of the Region whose client sent it; ListAliases shows it at once.
 */
function givenRegions(aliases: Record<string, string | undefined>, keys: Record<string, string[]>): void {
  const state = {...aliases}
  kmsMock.on(GetKeyPolicyCommand).resolves({Policy: defaultKeyPolicy(), PolicyName: 'default'})
  kmsMock.on(ListGrantsCommand).resolves({Grants: [], Truncated: false})
  kmsMock.on(DescribeKeyCommand).callsFake(async (input: {KeyId: string}, getClient) => {
    const region = await regionOf(getClient)
    const keyId = input.KeyId === ALIAS ? state[region] : input.KeyId.replace(/^.*key\//, '')
    if (keyId === undefined) throw notFound(`Alias arn:aws:kms:${region}:${ACCOUNT}:${ALIAS} is not found.`)
    if (!keys[region]?.includes(keyId)) throw notFound(`Key '${keyId}' does not exist`)
    return {KeyMetadata: regionalKey(keyId, region)}
  })
  kmsMock.on(ListAliasesCommand).callsFake(async (input: {KeyId?: string}, getClient) => {
    const region = await regionOf(getClient)
    const target = state[region]
    const entries = input.KeyId === undefined && target ? [{AliasName: ALIAS, TargetKeyId: target}] : []
    return {Aliases: entries, Truncated: false}
  })
  kmsMock.on(UpdateAliasCommand).callsFake(async (input: {TargetKeyId: string}, getClient) => {
    state[await regionOf(getClient)] = input.TargetKeyId
    return {}
  })
}

async function rotate(regions: string[], target = NEW_MRK): Promise<MultiRegionReport> {
  return rotateInRegions({
    settings: SETTINGS,
    regions,
    request: {
      aliasName: ALIAS,
      target: parseTargetKeyId(target),
      dryRun: false,
      allowKeySpecChange: false,
      waitTimeoutSeconds: 5,
    },
    hooks: {},
  })
}

async function updatedRegions(): Promise<string[]> {
  const calls = kmsMock.commandCalls(UpdateAliasCommand)
  return Promise.all(calls.map((call) => (call.thisValue as KMSClient).config.region()))
}

beforeEach(() => {
  kmsMock.reset()
})

describe('combineOutcomes', () => {
  it.each([
    [['rotated', 'rotated'], 'rotated'],
    [['refused', 'refused'], 'refused'],
    [['not-found', 'not-found'], 'not-found'],
    [['rotated', 'unchanged'], 'rotated'],
    [['submitted', 'rotated'], 'submitted'],
    [['planned', 'unchanged'], 'planned'],
    [['refused', 'not-found', 'declined'], 'refused'],
    [['rotated', 'not-found'], 'partial'],
    [['rotated', 'refused'], 'partial'],
    [['unchanged', 'refused'], 'partial'],
    [['rotated', 'unconfirmed'], 'partial'],
    [['rotated', 'error'], 'partial'],
    [['refused', 'error'], 'partial'],
    [['rotated', 'interrupted'], 'interrupted'],
  ] as const)('combines %j into %s', (outcomes, expected) => {
    expect(combineOutcomes([...outcomes])).toBe(expected)
  })
})

describe('the --regions input', () => {
  it('splits Region names on commas', () => {
    expect(parseRegions('us-east-1,eu-west-1')).toEqual(['us-east-1', 'eu-west-1'])
  })

  it.each([
    ['us-east-1,,eu-west-1', 'has an empty entry'],
    ['us-east-1,Europe', "names 'Europe', which is not a Region"],
    ['us-east-1,us-east-1', 'names us-east-1 twice'],
  ])('refuses %s as a usage error', (text, reason) => {
    expect(() => parseRegions(text)).toThrow(UsageError)
    expect(() => parseRegions(text)).toThrow(reason)
  })

  it('refuses a key id that is not multi-Region', () => {
    expect(() => checkMultiRegionKey('--target-key-id', parseTargetKeyId(SINGLE_REGION_KEY))).toThrow(
      /--target-key-id '1234abcd-.*' is not a multi-Region key id/,
    )
  })

  it('refuses an mrk ARN, naming the key id to give instead', () => {
    const arn = parseTargetKeyId(`arn:aws:kms:${EAST}:${ACCOUNT}:key/${NEW_MRK}`)
    expect(() => checkMultiRegionKey('--target-key-id', arn)).toThrow(`give its key id, ${NEW_MRK}`)
  })
})

describe('rotateInRegions', () => {
  it('rotates every Region with its own client, each write a compare-and-swap, and ends rotated', async () => {
    // given the alias on the old mrk key in two Regions, and both keys replicated to both
    givenRegions({[EAST]: OLD_MRK, [WEST]: OLD_MRK}, {[EAST]: [OLD_MRK, NEW_MRK], [WEST]: [OLD_MRK, NEW_MRK]})
    // when
    const report = await rotate([EAST, WEST])
    // then
    expect(report.outcome).toBe('rotated')
    expect(await updatedRegions()).toEqual([EAST, WEST])
    expect(report.rollback.map((entry) => entry.region)).toEqual([EAST, WEST])
    for (const region of report.regions) {
      expect(isFailure(region)).toBe(false)
      if (isFailure(region)) continue
      expect(region.to.arn).toBe(`arn:aws:kms:${region.region}:${ACCOUNT}:key/${NEW_MRK}`)
      expect(region.checks.find((check) => check.id === 'expected-current')).toMatchObject({status: 'pass'})
      expect(region.checks.find((check) => check.id === 'multi-region')).toMatchObject({status: 'pass'})
    }

    expect(validate(JSON.parse(JSON.stringify(report)))).toBe(true)
  })

  it('ends partial with the rollback command of the Region that changed when the other has no alias', async () => {
    // given the alias in us-east-1 only
    givenRegions({[EAST]: OLD_MRK, [WEST]: undefined}, {[EAST]: [OLD_MRK, NEW_MRK], [WEST]: [OLD_MRK, NEW_MRK]})
    // when
    const report = await rotate([EAST, WEST])
    // then
    expect(report.outcome).toBe('partial')
    expect(await updatedRegions()).toEqual([EAST])
    const command =
      `kms-rotate update-alias --region ${EAST} --alias-name ${ALIAS} --target-key-id ${OLD_MRK} ` +
      `--expected-current-key ${NEW_MRK}`
    expect(report.rollback).toEqual([{region: EAST, command}])
    expect(report.summary).toContain(command)
    expect(report.regions.map((region) => !isFailure(region) && region.outcome)).toEqual(['rotated', 'not-found'])
    expect(validate(JSON.parse(JSON.stringify(report)))).toBe(true)
  })

  it('refuses in every Region, sending no UpdateAlias, when the current key is single-Region', async () => {
    // given the alias on an ordinary key in both Regions
    const keys = [SINGLE_REGION_KEY, NEW_MRK]
    givenRegions({[EAST]: SINGLE_REGION_KEY, [WEST]: SINGLE_REGION_KEY}, {[EAST]: keys, [WEST]: keys})
    // when
    const report = await rotate([EAST, WEST])
    // then
    expect(report.outcome).toBe('refused')
    expect(kmsMock.commandCalls(UpdateAliasCommand)).toHaveLength(0)
    for (const region of report.regions) {
      if (isFailure(region)) throw new Error(region.error)
      expect(region.checks.find((check) => check.id === 'multi-region')?.status).toBe('fail')
    }
  })

  it('refuses the Region whose alias moved after it was read, and writes only where it did not', async () => {
    // given a us-east-1 alias that another writer moves between the first read and UpdateAlias
    const third = 'mrk-99999999999999999999999999999999'
    const all = [OLD_MRK, NEW_MRK, third]
    givenRegions({[EAST]: OLD_MRK, [WEST]: OLD_MRK}, {[EAST]: all, [WEST]: all})
    let eastReads = 0
    kmsMock.on(DescribeKeyCommand, {KeyId: ALIAS}).callsFake(async (_input, getClient) => {
      const region = await regionOf(getClient)
      if (region === EAST) eastReads++
      // The third read is the one just before UpdateAlias.
      const keyId = region === EAST && eastReads >= 3 ? third : OLD_MRK
      return {KeyMetadata: regionalKey(keyId, region)}
    })
    // when
    const report = await rotate([EAST, WEST])
    // then
    expect(report.outcome).toBe('partial')
    expect(await updatedRegions()).toEqual([WEST])
    const east = report.regions[0]
    if (isFailure(east)) throw new Error(east.error)
    expect(east.outcome).toBe('refused')
    expect(east.checks.find((check) => check.id === 'expected-current')?.status).toBe('fail')
    expect(report.rollback.map((entry) => entry.region)).toEqual([WEST])
  })

  it('rethrows the error when every Region fails with one', async () => {
    // given a KMS that answers every DescribeKey with an access error
    const denied = new KMSServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: {httpStatusCode: 400},
      message: 'not allowed',
    })
    kmsMock.on(DescribeKeyCommand).rejects(denied)
    // when / then
    await expect(rotate([EAST, WEST])).rejects.toThrow('AccessDeniedException')
    expect(kmsMock.commandCalls(UpdateAliasCommand)).toHaveLength(0)
  })
})
