/**
 * The built CLI's audit against moto, through the fault proxy, which pages ListAliases as KMS
 * does, lists the predefined alias/aws/ aliases without keys as KMS lists unused ones (moto gives
 * them target ids that DescribeKey does not know), and counts every call. moto cannot show
 * Unavailable or PendingImport keys, AWS managed keys, or expiring imported key material (a key
 * made with Origin EXTERNAL is Enabled there, with no ValidTo); the unit tests cover those.
 */
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {DescribeRegionsCommand, EC2Client} from '@aws-sdk/client-ec2'
import {CreateAliasCommand, CreateKeyCommand, DisableKeyCommand, KMSClient} from '@aws-sdk/client-kms'
import {AssumeRoleCommand, STSClient} from '@aws-sdk/client-sts'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {EXIT} from '../../src/lib/outcomes.js'
import {cliEnvironment, linesOf, runCli} from '../support/cli.js'
import {startKmsFaultProxy, type KmsFaultProxy, MOTO_ACCOUNT} from '../support/kms-fault-proxy.js'
import {FAKE_CREDENTIALS, MotoKms, TEST_REGION} from '../support/moto.js'
import {useMoto} from '../support/moto-per-test.js'
import {parseAuditReport} from '../support/report-schema.js'
import {OTHER_REGION} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
const west = new MotoKms(motoUrl, OTHER_REGION)
/** moto's predefined alias/aws/ aliases in each account and Region. */
let predefinedPerRegion: number
let proxy: KmsFaultProxy

beforeAll(async () => {
  proxy = await startKmsFaultProxy(motoUrl)
})

beforeEach(async () => {
  proxy.reset()
  proxy.predefinedAliasesWithoutKeys()
  predefinedPerRegion = (await listAll(kms)).filter((name) => name.startsWith('alias/aws/')).length
})

afterAll(async () => {
  west.destroy()
  await proxy.close()
})

async function listAll(client: MotoKms): Promise<string[]> {
  const names: string[] = []
  let marker: string | undefined
  do {
    const {ListAliasesCommand} = await import('@aws-sdk/client-kms')
    const page = await client.client.send(new ListAliasesCommand({Marker: marker, Limit: 100}))
    names.push(...(page.Aliases ?? []).map((alias) => alias.AliasName ?? ''))
    marker = page.Truncated ? page.NextMarker : undefined
  } while (marker)
  return names
}

/** `count` aliases named PREFIX-N on `keyId`, made a few at a time. */
async function aliasesOn(client: MotoKms, prefix: string, keyId: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 25) {
    const batch = Array.from({length: Math.min(25, count - start)}, (_, index) => `${prefix}-${start + index}`)
    await Promise.all(batch.map((name) => client.createAlias(name, keyId)))
  }
}

function audit(...args: string[]) {
  return runCli(['audit', '--endpoint-url', proxy.url, ...args])
}

describe('one Region with 250 aliases', () => {
  it('reads every page, describes each key once, and reports the deleted and disabled keys', async () => {
    // Given 150 aliases on an Enabled key, 50 on a Disabled one and 50 on one pending deletion
    const enabled = await kms.createKey()
    const disabled = await kms.createKey()
    const deleting = await kms.createKey()
    await aliasesOn(kms, 'alias/ok', enabled.KeyId, 150)
    await aliasesOn(kms, 'alias/off', disabled.KeyId, 50)
    await aliasesOn(kms, 'alias/going', deleting.KeyId, 50)
    await kms.disableKey(disabled.KeyId)
    await kms.scheduleKeyDeletion(deleting.KeyId, 7)

    // When
    const {exitCode, stdout, stderr} = await audit('--output', 'json')

    // Then
    const report = parseAuditReport(stdout)
    const served = proxy.callsTo('ListAliases')
    expect(served.length).toBe(3)
    expect(report.totals.pages).toBe(served.length)
    expect(report.totals.aliases).toBe(250 + predefinedPerRegion)
    const described = proxy.callsTo('DescribeKey').map((call) => call.input.KeyId)
    expect(described.sort()).toEqual([enabled.KeyId, disabled.KeyId, deleting.KeyId].sort())
    expect(report.totals.keysDescribed).toBe(3)
    // Only reads reached the endpoint: STS for the account, then KMS.
    const operations = new Set(proxy.requests.map((call) => call.operation))
    expect(operations).toEqual(new Set(['GetCallerIdentity', 'ListAliases', 'DescribeKey']))

    const byId = (id: string) => report.findings.filter((finding) => finding.id === id)
    expect(byId('key-pending-deletion').map((finding) => finding.aliasName).sort()).toEqual(
      Array.from({length: 50}, (_, index) => `alias/going-${index}`).sort(),
    )
    expect(byId('key-pending-deletion')[0].deletionDate).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    expect(byId('key-disabled')).toHaveLength(50)
    expect(byId('predefined-alias-unused')).toHaveLength(predefinedPerRegion)
    expect(report.findings).toHaveLength(100 + predefinedPerRegion)
    expect(report.findings[0].severity).toBe('critical')
    expect(report.totals.findings).toEqual({critical: 50, high: 50, medium: 0, info: predefinedPerRegion})
    expect(report.outcome).toBe('findings')
    expect(exitCode).toBe(3)
    expect(linesOf(stderr)).toEqual([
      `Read ${250 + predefinedPerRegion} aliases on 3 pages and described 3 keys in 1 Region of 1 account: ` +
        `50 critical, 50 high, 0 medium, ${predefinedPerRegion} info.`,
    ])
  })
})

describe("moto's own predefined aliases", () => {
  it('are info findings and a complete read, since DescribeKey does not know the keys they name', async () => {
    // Given moto's ListAliases as it is: alias/aws/ aliases on key ids that DescribeKey does not know
    proxy.predefinedAliasesWithoutKeys(false)

    const {stdout, exitCode} = await audit('--output', 'json', '--fail-on', 'info')

    const report = parseAuditReport(stdout)
    const predefined = report.findings.filter((finding) => finding.id === 'predefined-alias-unused')
    expect(predefined).toHaveLength(predefinedPerRegion)
    expect(predefined.every((finding) => finding.aliasName.startsWith('alias/aws/') && finding.targetKeyId)).toBe(true)
    expect(report.errors).toEqual([])
    expect(report.outcome).toBe('findings')
    expect(exitCode).toBe(3)
  })
})

describe('exit codes and formats', () => {
  beforeEach(async () => {
    const key = await kms.createKey()
    await kms.createAlias('alias/prod-db', key.KeyId)
    await kms.createAlias('alias/staging-db', key.KeyId)
    await kms.disableKey(key.KeyId)
  })

  it.each([
    ['critical', 0],
    ['high', 3],
    ['medium', 3],
    ['info', 3],
    ['none', 0],
  ])('exits as --fail-on %s says for a Disabled key', async (failOn, exitCode) => {
    const result = await audit('--fail-on', failOn, '--output', 'off')
    expect(result.stdout).toBe('')
    expect(result.exitCode).toBe(exitCode)
  })

  it('reports the aliases of one key that --expect gives two purposes', async () => {
    const {stdout} = await audit('--expect', 'prod=alias/prod-*', '--expect', 'staging=alias/staging-*', '--output', 'json')
    const conflicts = parseAuditReport(stdout).findings.filter((finding) => finding.id === 'alias-purpose-conflict')
    expect(conflicts.map((finding) => [finding.severity, finding.aliasName])).toEqual([
      ['medium', 'alias/prod-db'],
      ['medium', 'alias/staging-db'],
    ])
  })

  it('prints the human table by default, most severe first', async () => {
    const {stdout, exitCode} = await audit('--expect', 'prod=alias/prod-*', '--expect', 'staging=alias/staging-*')
    const lines = linesOf(stdout)
    expect(lines[0]).toMatch(/^SEVERITY +FINDING +REGION +ALIAS +MESSAGE$/)
    const severities = lines.slice(1, -1).map((line) => line.split(/ +/)[0])
    expect(severities).toEqual(['high', 'high', 'medium', 'medium', ...Array(predefinedPerRegion).fill('info')])
    expect(lines.at(-1)).toMatch(/^findings {2}Read /)
    expect(exitCode).toBe(3)
  })

  it('prints every machine format, and --query results', async () => {
    const yaml = parseYaml((await audit('--output', 'yaml')).stdout) as {totals: {findings: {high: number}}}
    expect(yaml.totals.findings.high).toBe(2)
    const stream = parseYaml((await audit('--output', 'yaml-stream')).stdout) as Array<{outcome: string}>
    expect(stream.map((item) => item.outcome)).toEqual(['findings'])
    expect((await audit('--output', 'text')).stdout).toMatch(/^FINDINGS\t/m)
    expect((await audit('--output', 'table')).stdout).toContain('| key-disabled ')

    const query = "findings[?severity=='high'].aliasName"
    expect((await audit('--output', 'text', '--query', query)).stdout).toBe('alias/prod-db\talias/staging-db\n')
    expect(JSON.parse((await audit('--query', 'totals.keysDescribed')).stdout)).toBe(1)
  })
})

describe('Regions and accounts', () => {
  it('reads two Regions, each with its own pages and keys', async () => {
    await kms.createAlias('alias/east', (await kms.createKey()).KeyId)
    const westKey = await west.createKey()
    await west.createAlias('alias/west', westKey.KeyId)
    await west.disableKey(westKey.KeyId)

    const {stdout, exitCode} = await audit('--regions', `${TEST_REGION},${OTHER_REGION}`, '--output', 'json')

    const report = parseAuditReport(stdout)
    expect(report.reads.map((read) => [read.region, read.aliases, read.pages, read.keysDescribed]).sort()).toEqual(
      [
        [TEST_REGION, predefinedPerRegion + 1, 1, 1],
        [OTHER_REGION, predefinedPerRegion + 1, 1, 1],
      ].sort(),
    )
    for (const region of [TEST_REGION, OTHER_REGION]) {
      expect(proxy.callsTo('ListAliases').filter((call) => call.region === region)).toHaveLength(1)
    }

    expect(report.findings.filter((finding) => finding.severity === 'high')).toEqual([
      expect.objectContaining({id: 'key-disabled', region: OTHER_REGION, aliasName: 'alias/west', account: MOTO_ACCOUNT}),
    ])
    expect(report.totals).toMatchObject({regions: 2, accounts: 1})
    expect(exitCode).toBe(3)
  })

  it('reads every Region that DescribeRegions says is enabled, with --all-regions', async () => {
    const westKey = await west.createKey()
    await west.createAlias('alias/west', westKey.KeyId)
    await west.scheduleKeyDeletion(westKey.KeyId)
    const ec2 = new EC2Client({region: TEST_REGION, endpoint: motoUrl, credentials: FAKE_CREDENTIALS})
    const {Regions} = await ec2.send(new DescribeRegionsCommand({}))
    ec2.destroy()
    const enabled = (Regions ?? []).filter((region) => region.OptInStatus !== 'not-opted-in').map((region) => region.RegionName)

    const {stdout, exitCode} = await audit('--all-regions', '--output', 'json', '--fail-on', 'critical')

    const report = parseAuditReport(stdout)
    expect(report.reads.map((read) => read.region).sort()).toEqual([...enabled].sort())
    expect(new Set(proxy.callsTo('ListAliases').map((call) => call.region))).toEqual(new Set(enabled))
    expect(report.totals.regions).toBe(enabled.length)
    expect(report.findings.filter((finding) => finding.severity === 'critical')).toEqual([
      expect.objectContaining({region: OTHER_REGION, aliasName: 'alias/west'}),
    ])
    expect(report.apiCalls.DescribeRegions).toBe(1)
    expect(exitCode).toBe(3)
  })

  describe('with profiles', () => {
    let directory: string

    beforeEach(() => {
      directory = mkdtempSync(join(tmpdir(), 'kms-rotate-audit-profiles-'))
    })

    afterAll(() => {
      if (directory) rmSync(directory, {recursive: true, force: true})
    })

    /** A profile whose credential_process prints these credentials, or fails when there are none. */
    function processProfile(name: string, credentials?: {AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string}) {
      const script = join(directory, `${name}.sh`)
      const body = credentials
        ? `printf '%s' '${JSON.stringify({Version: 1, ...credentials})}'`
        : "echo 'no credentials for you' >&2; exit 1"
      writeFileSync(script, `#!/bin/sh\n${body}\n`)
      chmodSync(script, 0o755)
      return `[profile ${name}]\ncredential_process = ${script}\nregion = ${TEST_REGION}\n`
    }

    function environmentWith(config: string): NodeJS.ProcessEnv {
      const configFile = join(directory, 'config')
      writeFileSync(configFile, config)
      return {...cliEnvironment(), AWS_CONFIG_FILE: configFile}
    }

    it('reads the account of each profile and counts both', async () => {
      // Given a second account, reached through a role that moto places in it
      const sts = new STSClient({region: TEST_REGION, endpoint: motoUrl, credentials: FAKE_CREDENTIALS})
      const role = 'arn:aws:iam::111111111111:role/auditor'
      const {Credentials} = await sts.send(new AssumeRoleCommand({RoleArn: role, RoleSessionName: 'audit'}))
      sts.destroy()
      const assumed = {
        accessKeyId: Credentials?.AccessKeyId as string,
        secretAccessKey: Credentials?.SecretAccessKey as string,
        sessionToken: Credentials?.SessionToken as string,
      }
      const other = new KMSClient({region: TEST_REGION, endpoint: motoUrl, credentials: assumed})
      const {KeyMetadata: key} = await other.send(new CreateKeyCommand({}))
      await other.send(new CreateAliasCommand({AliasName: 'alias/theirs', TargetKeyId: key?.KeyId}))
      await other.send(new DisableKeyCommand({KeyId: key?.KeyId}))
      other.destroy()
      await kms.createAlias('alias/ours', (await kms.createKey()).KeyId)
      const env = environmentWith(
        processProfile('ours', {AccessKeyId: 'testing', SecretAccessKey: 'testing'}) +
          processProfile('theirs', {
            AccessKeyId: assumed.accessKeyId,
            SecretAccessKey: assumed.secretAccessKey,
            SessionToken: assumed.sessionToken,
          }),
      )

      // When
      const {stdout, exitCode} = await runCli(['audit', '--endpoint-url', proxy.url, '--profiles', 'ours,theirs', '--output', 'json'], env)

      // Then
      const report = parseAuditReport(stdout)
      expect(report.identities.map((identity) => [identity.profile, identity.account])).toEqual([
        ['ours', MOTO_ACCOUNT],
        ['theirs', '111111111111'],
      ])
      expect(report.totals).toMatchObject({accounts: 2, regions: 1, aliases: 2 * predefinedPerRegion + 2})
      expect(report.findings.filter((finding) => finding.severity === 'high')).toEqual([
        expect.objectContaining({id: 'key-disabled', aliasName: 'alias/theirs', account: '111111111111', profile: 'theirs'}),
      ])
      expect(exitCode).toBe(3)
    })

    it('is incomplete, exit 6, when one profile cannot be read, and says which', async () => {
      const env = environmentWith(
        processProfile('ours', {AccessKeyId: 'testing', SecretAccessKey: 'testing'}) + processProfile('broken'),
      )

      const {stdout, stderr, exitCode} = await runCli(
        ['audit', '--endpoint-url', proxy.url, '--profiles', 'ours,broken', '--output', 'json'],
        env,
      )

      const report = parseAuditReport(stdout)
      expect(report.outcome).toBe('incomplete')
      expect(report.errors).toEqual([expect.objectContaining({profile: 'broken', operation: 'ListAliases', exitCode: EXIT.configuration})])
      expect(report.reads.find((read) => read.profile === 'ours')?.complete).toBe(true)
      expect(stderr).toContain('Incomplete: 1 call failed, first (us-east-1, profile broken)')
      expect(exitCode).toBe(6)
    })

    it('ends with one line and exit 253 when no profile can be read', async () => {
      const env = environmentWith(processProfile('broken'))

      const {stdout, stderr, exitCode} = await runCli(['audit', '--endpoint-url', proxy.url, '--profile', 'broken'], env)

      expect(stdout).toBe('')
      expect(linesOf(stderr)).toHaveLength(1)
      expect(stderr).toContain('Unable to locate credentials')
      expect(exitCode).toBe(EXIT.configuration)
    })
  })
})

describe('bad input', () => {
  it.each([
    [['--expect', 'prod'], "--expect 'prod' has no '='"],
    [['--expect', 'prod=prod-*'], 'does not start with alias/'],
    [['--regions', 'us-east-1,'], 'has an empty entry'],
    [['--fail-on', 'severe'], '--fail-on'],
    [['--regions', TEST_REGION, '--all-regions'], '--all-regions'],
    [['--profiles', 'a', '--profile', 'b'], '--profile'],
    [['--query', 'findings['], 'Bad value for --query'],
    [['--no-paginate'], 'no-paginate'],
    [['--all-regions', '--no-sign-request'], '--no-sign-request'],
  ])('refuses %j with one line and exit 252, sending nothing', async (args, reason) => {
    const {stdout, stderr, exitCode} = await audit(...args)
    expect(stdout).toBe('')
    expect(linesOf(stderr)).toHaveLength(1)
    expect(stderr).toContain(reason)
    expect(exitCode).toBe(EXIT.usage)
    expect(proxy.requests).toEqual([])
  })
})
