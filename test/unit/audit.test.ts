import {readFileSync} from 'node:fs'

import {DescribeRegionsCommand, EC2Client} from '@aws-sdk/client-ec2'
import {DescribeKeyCommand, ListAliasesCommand, type AliasListEntry, type KeyMetadata} from '@aws-sdk/client-kms'
import {GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'
import {mockClient} from 'aws-sdk-client-mock'
import {Chalk} from 'chalk'
import {beforeEach, describe, expect, it} from 'vitest'

import {FAIL_ON_LEVELS, FINDING_IDS, FINDINGS, SEVERITIES, type FailOn} from '../../src/lib/audit-findings.js'
import {parseExpectations, parseProfileList, parseRegionList} from '../../src/lib/audit-input.js'
import {ec2Endpoint} from '../../src/lib/audit-regions.js'
import {compileAuditQuery, formatAuditReport} from '../../src/lib/audit-render.js'
import {auditExitCode, runAudit, type AuditReport, type AuditRequest} from '../../src/lib/audit.js'
import type {AwsSettings} from '../../src/lib/aws-config.js'
import {KmsRotateError} from '../../src/lib/errors.js'
import {AUDIT_OUTCOME_NAMES, EXIT} from '../../src/lib/outcomes.js'
import {loadFormatLibraries, OUTPUT_FORMATS} from '../../src/lib/render.js'
import {ACCOUNT, keyArn, keyMetadata, kmsMock, OTHER_ACCOUNT, REGION, serviceException} from '../support/kms-mock.js'
import {parseAuditReport} from '../support/report-schema.js'

const stsMock = mockClient(STSClient)
const NOW = new Date('2026-06-01T00:00:00Z')
const DAY = 86_400_000
const OTHER_REGION = 'eu-west-1'
const KEY_A = '1111aaaa-11aa-11aa-11aa-1111aaaa1111'
const KEY_B = '2222bbbb-22bb-22bb-22bb-2222bbbb2222'
const KEY_C = '3333cccc-33cc-33cc-33cc-3333cccc3333'

function settings(profile?: string): AwsSettings {
  return {
    region: REGION,
    profile,
    profileSource: profile === undefined ? undefined : '--profile',
    endpoint: undefined,
    retryMode: 'standard',
    maxAttempts: 1,
    verifySsl: true,
    caBundle: undefined,
    connectTimeoutMs: 1000,
    readTimeoutMs: 1000,
    signRequests: true,
  }
}

function alias(aliasName: string, targetKeyId?: string, region = REGION, account = ACCOUNT): AliasListEntry {
  return {AliasName: aliasName, AliasArn: `arn:aws:kms:${region}:${account}:${aliasName}`, TargetKeyId: targetKeyId}
}

/** ListAliases answers these aliases, `perPage` at a time, and DescribeKey answers these keys. */
function givenAccount(aliases: AliasListEntry[], keys: Record<string, KeyMetadata>, perPage = 100): void {
  kmsMock.on(ListAliasesCommand).callsFake(async (input: {Marker?: string}) => {
    const start = input.Marker === undefined ? 0 : Number(input.Marker)
    const page = aliases.slice(start, start + perPage)
    const more = start + perPage < aliases.length
    return {Aliases: page, Truncated: more, NextMarker: more ? String(start + perPage) : undefined}
  })
  kmsMock.on(DescribeKeyCommand).callsFake(async (input: {KeyId: string}) => {
    const metadata = keys[input.KeyId]
    if (metadata === undefined) throw serviceException('NotFoundException', `Key '${input.KeyId}' does not exist`)
    return {KeyMetadata: metadata}
  })
}

function request(overrides: Partial<AuditRequest> = {}): AuditRequest {
  return {
    profiles: [{profile: undefined, settings: settings()}],
    regions: undefined,
    purposes: [],
    failOn: 'high',
    endpointFlag: undefined,
    now: NOW,
    ...overrides,
  }
}

/** One alias on one key described as `overrides` say; the audit's findings. */
async function findingsFor(overrides: Partial<KeyMetadata>, aliasName = 'alias/app') {
  givenAccount([alias(aliasName, KEY_A)], {[KEY_A]: keyMetadata(KEY_A, overrides)})
  const report = await runAudit(request())
  return report.findings.map((finding) => ({id: finding.id, severity: finding.severity, message: finding.message}))
}

beforeEach(() => {
  kmsMock.reset()
  stsMock.reset()
  stsMock.on(GetCallerIdentityCommand).resolves({Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/auditor`})
})

describe('findings about an alias and its key', () => {
  it('finds nothing for an Enabled customer managed key', async () => {
    expect(await findingsFor({})).toEqual([])
  })

  it('reports a key pending deletion as critical, with the deletion date in ISO form', async () => {
    const deletionDate = new Date('2026-06-08T12:00:00Z')
    givenAccount([alias('alias/app', KEY_A)], {[KEY_A]: keyMetadata(KEY_A, {KeyState: 'PendingDeletion', DeletionDate: deletionDate})})

    const [finding] = (await runAudit(request())).findings

    expect(finding).toMatchObject({id: 'key-pending-deletion', severity: 'critical', deletionDate: '2026-06-08T12:00:00.000Z'})
    expect(finding.message).toContain('2026-06-08T12:00:00.000Z')
    expect(finding.message).toContain(KEY_A)
  })

  it('reports a replica pending deletion as critical too', async () => {
    expect(await findingsFor({KeyState: 'PendingReplicaDeletion'})).toEqual([
      expect.objectContaining({id: 'key-pending-deletion', severity: 'critical'}),
    ])
  })

  it.each([
    ['Disabled', 'key-disabled'],
    ['PendingImport', 'key-pending-import'],
    ['Unavailable', 'key-unavailable'],
  ] as const)('reports a %s key as high (%s)', async (KeyState, id) => {
    expect(await findingsFor({KeyState, Enabled: false})).toEqual([expect.objectContaining({id, severity: 'high'})])
  })

  it.each(['Enabled', 'Creating', 'Updating'] as const)('finds nothing for a %s key', async (KeyState) => {
    expect(await findingsFor({KeyState})).toEqual([])
  })

  const imported = {Origin: 'EXTERNAL', ExpirationModel: 'KEY_MATERIAL_EXPIRES'} as const

  it('reports imported key material that expires within 30 days as high, with ValidTo in ISO form', async () => {
    const validTo = new Date(NOW.getTime() + 10 * DAY)
    givenAccount([alias('alias/app', KEY_A)], {[KEY_A]: keyMetadata(KEY_A, {...imported, ValidTo: validTo})})

    const [finding] = (await runAudit(request())).findings

    expect(finding).toMatchObject({id: 'key-material-expiring', severity: 'high', validTo: validTo.toISOString()})
    expect(finding.message).toContain('in 10 days')
  })

  it('reports imported key material that has already expired', async () => {
    const [finding] = await findingsFor({...imported, ValidTo: new Date(NOW.getTime() - DAY)})
    expect(finding).toMatchObject({id: 'key-material-expiring', severity: 'high'})
    expect(finding.message).toContain('expired on')
  })

  it('finds nothing for imported key material that expires in more than 30 days', async () => {
    expect(await findingsFor({...imported, ValidTo: new Date(NOW.getTime() + 31 * DAY)})).toEqual([])
  })

  it('finds nothing for imported key material that does not expire, or a key that KMS made', async () => {
    const soon = new Date(NOW.getTime() + DAY)
    expect(await findingsFor({...imported, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ValidTo: soon})).toEqual([])
    expect(await findingsFor({Origin: 'AWS_KMS', ValidTo: soon})).toEqual([])
  })

  it('reports an alias on an AWS managed key as info, and not one on a customer managed key', async () => {
    expect(await findingsFor({KeyManager: 'AWS'}, 'alias/aws/ebs')).toEqual([
      expect.objectContaining({id: 'target-aws-managed', severity: 'info'}),
    ])
    expect(await findingsFor({KeyManager: 'CUSTOMER'}, 'alias/aws/ebs')).toEqual([])
  })

  it('reports a predefined alias with no key yet as info, and never describes it', async () => {
    givenAccount([alias('alias/aws/s3'), alias('alias/unused')], {})

    const report = await runAudit(request())

    expect(report.findings).toEqual([
      expect.objectContaining({id: 'predefined-alias-unused', severity: 'info', aliasName: 'alias/aws/s3', targetKeyId: null}),
    ])
    expect(kmsMock).not.toHaveReceivedCommand(DescribeKeyCommand)
    expect(report.outcome).toBe('clean')
  })
})

describe('an alias whose key DescribeKey does not find', () => {
  it('is a high finding for a customer alias, and the read stays complete', async () => {
    givenAccount([alias('alias/orphan', KEY_A)], {})

    const report = await runAudit(request())

    expect(report.findings).toEqual([
      expect.objectContaining({id: 'key-missing', severity: 'high', aliasName: 'alias/orphan', targetKeyId: KEY_A}),
    ])
    expect(report.errors).toEqual([])
    expect(kmsMock).toHaveReceivedCommandTimes(DescribeKeyCommand, 1)
    expect(report.outcome).toBe('findings')
    expect(auditExitCode(report)).toBe(3)
  })

  it('is an info finding for a predefined alias, whose AWS managed key may not exist yet', async () => {
    givenAccount([alias('alias/aws/ebs', KEY_B)], {})

    const report = await runAudit(request())

    expect(report.findings).toEqual([
      expect.objectContaining({id: 'predefined-alias-unused', severity: 'info', targetKeyId: KEY_B}),
    ])
    expect(report.outcome).toBe('clean')
  })
})

describe('aliases of one key that serve different purposes', () => {
  const purposes = parseExpectations(['prod=alias/prod-*', 'staging=alias/staging-*'])

  it('reports each alias of a key whose aliases match two purposes, as medium', async () => {
    givenAccount([alias('alias/prod-db', KEY_A), alias('alias/staging-db', KEY_A), alias('alias/prod-web', KEY_B)], {
      [KEY_A]: keyMetadata(KEY_A),
      [KEY_B]: keyMetadata(KEY_B),
    })

    const report = await runAudit(request({purposes}))

    expect(report.findings.map((finding) => [finding.id, finding.severity, finding.aliasName])).toEqual([
      ['alias-purpose-conflict', 'medium', 'alias/prod-db'],
      ['alias-purpose-conflict', 'medium', 'alias/staging-db'],
    ])
    expect(report.findings[0].message).toBe(`alias/prod-db (prod) shares ${KEY_A} with alias/staging-db (staging)`)
  })

  it('finds nothing when a key\'s aliases share one purpose, or only one has a purpose', async () => {
    givenAccount(
      [alias('alias/prod-db', KEY_A), alias('alias/prod-db-old', KEY_A), alias('alias/staging-x', KEY_B), alias('alias/other', KEY_B)],
      {[KEY_A]: keyMetadata(KEY_A), [KEY_B]: keyMetadata(KEY_B)},
    )

    expect((await runAudit(request({purposes}))).findings).toEqual([])
  })

  it('finds nothing without --expect', async () => {
    givenAccount([alias('alias/prod-db', KEY_A), alias('alias/staging-db', KEY_A)], {[KEY_A]: keyMetadata(KEY_A)})
    expect((await runAudit(request())).findings).toEqual([])
  })
})

describe('reading', () => {
  it('follows every ListAliases page and describes each key once, however many aliases name it', async () => {
    const aliases = Array.from({length: 250}, (_, index) => alias(`alias/app-${index}`, [KEY_A, KEY_B, KEY_C][index % 3]))
    givenAccount(aliases, {[KEY_A]: keyMetadata(KEY_A), [KEY_B]: keyMetadata(KEY_B), [KEY_C]: keyMetadata(KEY_C)}, 100)

    const report = await runAudit(request())

    expect(kmsMock).toHaveReceivedCommandTimes(ListAliasesCommand, 3)
    expect(kmsMock).toHaveReceivedCommandTimes(DescribeKeyCommand, 3)
    for (const keyId of [KEY_A, KEY_B, KEY_C]) expect(kmsMock).toHaveReceivedCommandWith(DescribeKeyCommand, {KeyId: keyId})
    expect(report.totals).toMatchObject({aliases: 250, pages: 3, keysDescribed: 3, regions: 1, accounts: 1})
  })

  it('reads each Region with its own pages and keys, and counts them', async () => {
    kmsMock.on(ListAliasesCommand).callsFake(async (_input, getClient) => {
      const region = await getClient().config.region()
      return {Aliases: [alias(`alias/in-${region}`, KEY_A, region)], Truncated: false}
    })
    kmsMock.on(DescribeKeyCommand).resolves({KeyMetadata: keyMetadata(KEY_A, {KeyState: 'Disabled'})})

    const report = await runAudit(request({regions: [REGION, OTHER_REGION]}))

    expect(report.findings.map((finding) => [finding.region, finding.aliasName])).toEqual([
      [OTHER_REGION, `alias/in-${OTHER_REGION}`],
      [REGION, `alias/in-${REGION}`],
    ])
    // The same key id in two Regions is two keys.
    expect(kmsMock).toHaveReceivedCommandTimes(DescribeKeyCommand, 2)
    expect(report.totals).toMatchObject({aliases: 2, pages: 2, keysDescribed: 2, regions: 2})
  })

  it('reads a second profile of an account already read not at all', async () => {
    givenAccount([alias('alias/app', KEY_A)], {[KEY_A]: keyMetadata(KEY_A)})
    const profiles = [{profile: 'a', settings: settings('a')}, {profile: 'b', settings: settings('b')}]

    const report = await runAudit(request({profiles}))

    expect(kmsMock).toHaveReceivedCommandTimes(ListAliasesCommand, 1)
    expect(report.identities.map((identity) => identity.sameAs)).toEqual([null, 'a'])
    expect(report.totals.accounts).toBe(1)
  })

  it('reads two accounts through two profiles and counts both', async () => {
    stsMock.on(GetCallerIdentityCommand).callsFake(async (_input, getClient) => {
      const account = getClient().config.profile === 'b' ? OTHER_ACCOUNT : ACCOUNT
      return {Account: account, Arn: `arn:aws:iam::${account}:user/auditor`}
    })
    givenAccount([alias('alias/app', KEY_A)], {[KEY_A]: keyMetadata(KEY_A, {KeyState: 'Disabled'})})
    const profiles = [{profile: 'a', settings: settings('a')}, {profile: 'b', settings: settings('b')}]

    const report = await runAudit(request({profiles}))

    expect(report.totals).toMatchObject({aliases: 2, accounts: 2, keysDescribed: 2})
    expect(report.findings.map((finding) => [finding.account, finding.profile])).toEqual([
      [ACCOUNT, 'a'],
      [OTHER_ACCOUNT, 'b'],
    ])
  })

  it('is incomplete, exit 6, when one Region cannot be read, and says which', async () => {
    kmsMock.on(ListAliasesCommand).callsFake(async (_input, getClient) => {
      const region = await getClient().config.region()
      if (region === OTHER_REGION) throw serviceException('AccessDeniedException', 'not allowed')
      return {Aliases: [], Truncated: false}
    })

    const report = await runAudit(request({regions: [REGION, OTHER_REGION]}))

    expect(report.outcome).toBe('incomplete')
    expect(auditExitCode(report)).toBe(6)
    expect(report.errors).toEqual([
      expect.objectContaining({region: OTHER_REGION, operation: 'ListAliases', exitCode: EXIT.service}),
    ])
    expect(report.errors[0].message).toContain('AccessDeniedException')
    expect(report.reads.find((read) => read.region === OTHER_REGION)?.complete).toBe(false)
    expect(report.summary).toContain('Incomplete')
  })

  it('is incomplete when a key cannot be described, even with nothing else found', async () => {
    givenAccount([alias('alias/app', KEY_A)], {})
    kmsMock.on(DescribeKeyCommand).rejects(serviceException('AccessDeniedException', 'not allowed'))

    const report = await runAudit(request({failOn: 'none'}))

    expect(report.outcome).toBe('incomplete')
    expect(report.errors).toEqual([expect.objectContaining({operation: 'DescribeKey', keyId: KEY_A})])
  })

  it('ends with the error line and its exit code when nothing at all could be read', async () => {
    kmsMock.on(ListAliasesCommand).rejects(serviceException('AccessDeniedException', 'not allowed'))

    const error = await runAudit(request({regions: [REGION, OTHER_REGION]})).catch((caught: unknown) => caught)

    expect(error).toBeInstanceOf(KmsRotateError)
    expect((error as KmsRotateError).exitCode).toBe(EXIT.service)
    expect(kmsMock).not.toHaveReceivedCommand(DescribeKeyCommand)
  })

  it('takes the account from the alias ARNs when STS gives none', async () => {
    stsMock.on(GetCallerIdentityCommand).rejects(new Error('no STS here'))
    givenAccount([alias('alias/app', KEY_A, REGION, OTHER_ACCOUNT)], {[KEY_A]: keyMetadata(KEY_A, {KeyState: 'Disabled'})})

    const report = await runAudit(request())

    expect(report.identities[0]).toMatchObject({account: null, error: expect.stringContaining('no STS here')})
    expect(report.findings[0].account).toBe(OTHER_ACCOUNT)
    expect(report.totals.accounts).toBe(1)
  })
})

describe('--fail-on', () => {
  /** A report with one finding of each listed severity. */
  async function auditWith(failOn: FailOn, ...states: Array<'critical' | 'high' | 'info'>) {
    const shapes: Record<string, Partial<KeyMetadata>> = {
      critical: {KeyState: 'PendingDeletion', DeletionDate: new Date(NOW.getTime() + 7 * DAY)},
      high: {KeyState: 'Disabled'},
      info: {KeyManager: 'AWS'},
    }
    const keys = [KEY_A, KEY_B, KEY_C]
    givenAccount(
      states.map((state, index) => alias(`alias/${state}`, keys[index])),
      Object.fromEntries(states.map((state, index) => [keys[index], keyMetadata(keys[index], shapes[state])])),
    )
    return runAudit(request({failOn}))
  }

  it.each([
    ['critical', 0],
    ['high', 3],
    ['medium', 3],
    ['info', 3],
    ['none', 0],
  ] as const)('with a high finding, --fail-on %s exits %i', async (failOn, exitCode) => {
    expect(auditExitCode(await auditWith(failOn, 'high'))).toBe(exitCode)
  })

  it.each([
    ['high', 0],
    ['medium', 0],
    ['info', 3],
  ] as const)('with only an info finding, --fail-on %s exits %i', async (failOn, exitCode) => {
    expect(auditExitCode(await auditWith(failOn, 'info'))).toBe(exitCode)
  })

  it('with a critical finding, every level but none exits 3', async () => {
    for (const failOn of FAIL_ON_LEVELS) {
      expect(auditExitCode(await auditWith(failOn, 'critical'))).toBe(failOn === 'none' ? 0 : 3)
    }
  })

  it('lists findings most severe first and counts them per severity', async () => {
    const report = await auditWith('high', 'info', 'high', 'critical')
    expect(report.findings.map((finding) => finding.severity)).toEqual(['critical', 'high', 'info'])
    expect(report.totals.findings).toEqual({critical: 1, high: 1, medium: 0, info: 1})
    expect(report.summary).toBe(
      'Read 3 aliases on 1 page and described 3 keys in 1 Region of 1 account: 1 critical, 1 high, 0 medium, 1 info.',
    )
  })
})

describe('the command line', () => {
  it.each([
    ['prod', "has no '='"],
    ['=alias/prod-*', 'has no purpose before the ='],
    ['prod=', 'has no glob after the ='],
    ['prod=prod-*', 'does not start with alias/'],
    ['pro d=alias/prod-*', 'is not a plain word'],
  ])('refuses --expect %s, one line saying why', (value, reason) => {
    expect(() => parseExpectations([value])).toThrow(reason)
    try {
      parseExpectations([value])
    } catch (error) {
      expect((error as KmsRotateError).exitCode).toBe(EXIT.usage)
      expect((error as Error).message).not.toContain('\n')
    }
  })

  it('matches a glob whose * spans slashes, ? one character, and nothing else as a pattern', () => {
    const [purpose] = parseExpectations(['prod=alias/prod-*.v?'])
    expect(purpose.pattern.test('alias/prod-db/main.v2')).toBe(true)
    expect(purpose.pattern.test('alias/prod-dbXv2')).toBe(false)
    expect(purpose.pattern.test('alias/staging-db.v2')).toBe(false)
  })

  it('takes a purpose from the first --expect that matches', async () => {
    const purposes = parseExpectations(['prod=alias/prod-*', 'any=alias/*'])
    givenAccount([alias('alias/prod-db', KEY_A), alias('alias/other', KEY_A)], {[KEY_A]: keyMetadata(KEY_A)})
    const report = await runAudit(request({purposes}))
    expect(report.findings.map((finding) => finding.message)).toEqual([
      `alias/other (any) shares ${KEY_A} with alias/prod-db (prod)`,
      `alias/prod-db (prod) shares ${KEY_A} with alias/other (any)`,
    ])
  })

  it.each([
    [() => parseRegionList('us-east-1,,eu-west-1'), 'has an empty entry'],
    [() => parseRegionList('us-east-1,moon'), "'moon', which is not a Region name"],
    [() => parseRegionList('us-east-1,us-east-1'), 'twice'],
    [() => parseProfileList('a,a'), 'twice'],
    [() => parseProfileList('a,b c'), 'not a profile name'],
  ])('refuses a bad list (%#) as a usage error', (parse, reason) => {
    expect(parse).toThrow(reason)
    expect(() => parse()).toThrow(KmsRotateError)
  })

  it('refuses a --query that cannot work on any audit report, before anything is sent', async () => {
    await expect(compileAuditQuery('findings[')).rejects.toThrow(/Bad value for --query/)
    await expect(compileAuditQuery('nosuch(findings)')).rejects.toThrow(/unknown function nosuch\(\)/)
  })
})

describe('the report', () => {
  async function sampleReport(): Promise<AuditReport> {
    givenAccount([alias('alias/aws/s3'), alias('alias/app', KEY_A), alias('alias/old', KEY_B)], {
      [KEY_A]: keyMetadata(KEY_A, {KeyState: 'Disabled'}),
      [KEY_B]: keyMetadata(KEY_B, {KeyState: 'PendingDeletion', DeletionDate: new Date('2026-06-09T00:00:00Z')}),
    })
    return runAudit(request())
  }

  it('matches its schema, whose enums are the ids, severities and outcomes of the code', async () => {
    const report = await sampleReport()
    expect(() => parseAuditReport(JSON.stringify(report))).not.toThrow()

    const schema = JSON.parse(readFileSync(new URL('../../schema/audit-report.schema.json', import.meta.url), 'utf8'))
    expect(schema.properties.outcome.enum).toEqual(AUDIT_OUTCOME_NAMES)
    expect(schema.properties.failOn.enum).toEqual(FAIL_ON_LEVELS)
    expect(schema.$defs.severity.enum).toEqual(SEVERITIES)
    expect(schema.properties.findings.items.properties.id.enum).toEqual(FINDING_IDS)
    for (const id of FINDING_IDS) expect(SEVERITIES).toContain(FINDINGS[id].severity)
  })

  it('shows a person a table, most severe first, then the summary', async () => {
    const text = formatAuditReport(await sampleReport(), undefined, undefined, new Chalk({level: 0}))
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^SEVERITY +FINDING +REGION +ALIAS +MESSAGE$/)
    expect(lines.slice(1, 4).map((line) => line.split(/ +/).slice(0, 2))).toEqual([
      ['critical', 'key-pending-deletion'],
      ['high', 'key-disabled'],
      ['info', 'predefined-alias-unused'],
    ])
    expect(lines.at(-1)).toMatch(/^findings {2}Read 3 aliases/)
  })

  it('prints every --output format, and --query applied to it', async () => {
    const report = await sampleReport()
    const colour = new Chalk({level: 0})
    for (const format of OUTPUT_FORMATS) {
      await loadFormatLibraries(format)
      const text = formatAuditReport(report, format, undefined, colour)
      if (format === 'off') expect(text).toBe('')
      else expect(text).toContain('key-pending-deletion')
    }

    const query = await compileAuditQuery("findings[?severity=='critical'].aliasName")
    expect(formatAuditReport(report, 'text', query, colour)).toBe('alias/old\n')
    expect(formatAuditReport(report, undefined, query, colour)).toBe('[\n    "alias/old"\n]\n')
  })

  it('counts the calls made, by operation', async () => {
    const report = await sampleReport()
    expect(report.apiCalls).toEqual({GetCallerIdentity: 1, ListAliases: 1, DescribeKey: 2})
    expect(keyArn(KEY_A)).toBe(report.findings[1].keyArn)
  })
})

describe('--all-regions', () => {
  const ec2Mock = mockClient(EC2Client)

  beforeEach(() => {
    ec2Mock.reset()
    ec2Mock.on(DescribeRegionsCommand).resolves({
      Regions: [
        {RegionName: OTHER_REGION, OptInStatus: 'opt-in-not-required'},
        {RegionName: 'ap-east-1', OptInStatus: 'not-opted-in'},
        {RegionName: 'me-south-1', OptInStatus: 'opted-in'},
      ],
    })
  })

  it('reads each Region that DescribeRegions says is enabled, and no other', async () => {
    kmsMock.on(ListAliasesCommand).resolves({Aliases: [], Truncated: false})

    const report = await runAudit(request({regions: 'all'}))

    expect(ec2Mock).toHaveReceivedCommandWith(DescribeRegionsCommand, {AllRegions: false})
    expect(report.reads.map((read) => read.region).sort()).toEqual([OTHER_REGION, 'me-south-1'])
    expect(report.apiCalls.DescribeRegions).toBe(1)
  })

  it('asks EC2 where --endpoint-url points, else its own variables, never a KMS-only endpoint', () => {
    expect(ec2Endpoint('http://127.0.0.1:1', {AWS_ENDPOINT_URL_EC2: 'http://ec2'})).toBe('http://127.0.0.1:1')
    expect(ec2Endpoint(undefined, {AWS_ENDPOINT_URL_EC2: 'http://ec2', AWS_ENDPOINT_URL: 'http://all'})).toBe('http://ec2')
    expect(ec2Endpoint(undefined, {AWS_ENDPOINT_URL: 'http://all'})).toBe('http://all')
    expect(ec2Endpoint(undefined, {AWS_ENDPOINT_URL_KMS: 'http://kms'})).toBeUndefined()
  })

  it('is incomplete when KMS has an endpoint of its own and EC2 has none, sending DescribeRegions nowhere', async () => {
    const own = {...settings(), endpoint: 'http://kms.example'}
    const profiles = [{profile: undefined, settings: own}, {profile: 'b', settings: settings('b')}]
    stsMock.on(GetCallerIdentityCommand).callsFake(async (_input, getClient) => {
      const account = getClient().config.profile === 'b' ? OTHER_ACCOUNT : ACCOUNT
      return {Account: account}
    })
    kmsMock.on(ListAliasesCommand).resolves({Aliases: [], Truncated: false})

    const report = await runAudit(request({regions: 'all', profiles}))

    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeRegionsCommand, 1)
    expect(report.outcome).toBe('incomplete')
    expect(report.errors).toEqual([
      expect.objectContaining({operation: 'DescribeRegions', region: null, exitCode: EXIT.configuration}),
    ])
  })
})
