/**
 * `audit`: reads every alias of each profile's account in each Region, describes each key an
 * alias points at once, and reports what needs attention. It only reads: ListAliases,
 * DescribeKey, STS GetCallerIdentity and, for --all-regions, EC2 DescribeRegions.
 */
import type {KeyMetadata} from '@aws-sdk/client-kms'
import pMap from 'p-map'

import type {AwsSettings} from './aws-config.js'
import {
  compareFindings,
  keyFindings,
  purposeFindings,
  reachesFailOn,
  SEVERITIES,
  type AliasEntry,
  type FailOn,
  type Finding,
  type Purpose,
  type Severity,
} from './audit-findings.js'
import {KmsRotateError, ServiceError} from './errors.js'
import {callerIdentity} from './identity.js'
import type {CallerIdentity} from './journal.js'
import {createKmsClient, endpointOf, KmsGateway} from './kms.js'
import {AUDIT_OUTCOMES, EXIT, type AuditOutcome} from './outcomes.js'

/** Profiles and Regions read at once; each read lists its aliases on its own client. */
const READ_CONCURRENCY = 4
/**
 * DescribeKey calls in flight per read. KMS allows thousands a second per account and Region;
 * a small bound keeps an audit from crowding out the applications that share that quota.
 */
const DESCRIBE_CONCURRENCY = 8

/** One profile to read as, with the settings resolved from it and the other flags. */
export interface AuditProfile {
  /** undefined: the default profile, or the environment's credentials. */
  profile: string | undefined
  settings: AwsSettings
}

export interface AuditRequest {
  profiles: AuditProfile[]
  /**
   * The Regions to read; 'all' for every Region DescribeRegions says is enabled; undefined for
   * each profile's own Region.
   */
  regions: string[] | 'all' | undefined
  purposes: Purpose[]
  failOn: FailOn
  /** --endpoint-url, which STS and EC2 use too (an emulator serves them on one port). */
  endpointFlag: string | undefined
  debugLog?: (line: string) => void
  /** The moment ValidTo is measured from. */
  now?: Date
}

/** Who a profile turned out to be, per STS; `sameAs` names an earlier profile of the same account. */
export interface AuditIdentity {
  profile: string | null
  account: string | null
  arn: string | null
  error: string | null
  sameAs: string | null
}

/** One profile in one Region. */
export interface AuditRead {
  profile: string | null
  account: string | null
  region: string
  aliases: number
  pages: number
  keysDescribed: number
  /** false when a call of this read failed: some aliases or keys were not seen. */
  complete: boolean
}

/** A call that failed, so that part of an account was not read. */
export interface AuditError {
  profile: string | null
  account: string | null
  /** null when the failure came before any Region, as DescribeRegions. */
  region: string | null
  operation: string
  keyId: string | null
  message: string
  exitCode: number
}

export type SeverityCounts = Record<Severity, number>

export interface AuditReport {
  outcome: AuditOutcome
  summary: string
  failOn: FailOn
  findings: Finding[]
  totals: {
    aliases: number
    pages: number
    keysDescribed: number
    regions: number
    accounts: number
    findings: SeverityCounts
  }
  identities: AuditIdentity[]
  reads: AuditRead[]
  errors: AuditError[]
  apiCalls: Record<string, number>
  apiRetries: Record<string, number>
  elapsedMs: number
}

function add(into: Record<string, number>, from: Record<string, number>): void {
  for (const [operation, count] of Object.entries(from)) into[operation] = (into[operation] ?? 0) + count
}

function asError(error: unknown): KmsRotateError {
  if (error instanceof KmsRotateError) return error
  return new KmsRotateError((error as Error).message ?? String(error), EXIT.other)
}

/** The account in an ARN, such as arn:aws:kms:us-east-1:111122223333:alias/app. */
function accountOfArn(arn: string | undefined): string | null {
  return arn?.split(':')[4] || null
}

/** Per account and Region, each key's DescribeKey answer, asked once whichever read needs it. */
type KeyCache = Map<string, Promise<KeyMetadata>>

interface ReadResult {
  read: AuditRead
  aliases: AliasEntry[]
  keys: Map<string, KeyMetadata>
  /** Keys that DescribeKey answered NotFoundException for: a finding, not a failed read. */
  missingKeys: Set<string>
  errors: AuditError[]
  gateway: KmsGateway
}

async function readRegion(
  request: AuditRequest,
  profile: AuditProfile,
  identity: AuditIdentity,
  region: string,
  cache: KeyCache,
): Promise<ReadResult> {
  const settings = {...profile.settings, region}
  const name = profile.profile ?? null
  const client = createKmsClient(settings, {debugLog: request.debugLog})
  const gateway = new KmsGateway(client, {endpoint: endpointOf(settings), profile: profile.profile}, request.debugLog)
  const read: AuditRead = {
    profile: name,
    account: identity.account,
    region,
    aliases: 0,
    pages: 0,
    keysDescribed: 0,
    complete: true,
  }
  const errors: AuditError[] = []
  const fail = (operation: string, keyId: string | null, error: unknown) => {
    const {message, exitCode} = asError(error)
    errors.push({profile: name, account: read.account, region, operation, keyId, message, exitCode})
    read.complete = false
  }

  const keys = new Map<string, KeyMetadata>()
  const missingKeys = new Set<string>()
  let aliases: AliasEntry[] = []
  try {
    const listed = await gateway.listAliases()
    read.account ??= accountOfArn(listed.find((alias) => alias.AliasArn)?.AliasArn)
    aliases = listed.map((alias) => ({
      aliasName: alias.AliasName ?? '',
      aliasArn: alias.AliasArn ?? null,
      targetKeyId: alias.TargetKeyId ?? null,
      profile: name,
      account: read.account,
      region,
    }))
  } catch (error) {
    fail('ListAliases', null, error)
  }

  read.aliases = aliases.length
  read.pages = gateway.apiCalls.ListAliases ?? 0

  const keyIds = [...new Set(aliases.map((alias) => alias.targetKeyId).filter((id): id is string => id !== null))]
  const scope = read.account ?? `profile ${name ?? 'default'}`
  await pMap(
    keyIds,
    async (keyId) => {
      const cacheKey = `${scope} ${region} ${keyId}`
      let described = cache.get(cacheKey)
      if (described === undefined) {
        described = gateway.describeKey(keyId)
        cache.set(cacheKey, described)
      }

      try {
        keys.set(keyId, await described)
      } catch (error) {
        if (error instanceof ServiceError && error.code === 'NotFoundException') missingKeys.add(keyId)
        else fail('DescribeKey', keyId, error)
      }
    },
    {concurrency: DESCRIBE_CONCURRENCY},
  )
  read.keysDescribed = gateway.apiCalls.DescribeKey ?? 0
  client.destroy()
  return {read, aliases, keys, missingKeys, errors, gateway}
}

/** STS per profile; a profile whose account an earlier one already covers is not read again. */
async function identify(request: AuditRequest): Promise<AuditIdentity[]> {
  const identities: AuditIdentity[] = []
  for (const {profile, settings} of request.profiles) {
    const found: CallerIdentity = await callerIdentity(settings, request.endpointFlag, {debugLog: request.debugLog})
    const earlier = found.account === null ? undefined : identities.find((entry) => entry.account === found.account)
    identities.push({
      profile: profile ?? null,
      account: found.account,
      arn: found.arn,
      error: found.error,
      sameAs: earlier === undefined ? null : (earlier.profile ?? 'default'),
    })
  }

  return identities
}

function countBySeverity(findings: readonly Finding[]): SeverityCounts {
  const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as SeverityCounts
  for (const finding of findings) counts[finding.severity] += 1
  return counts
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}

/** The one line that says what was read and found; stderr gets it after every run. */
export function auditSummary(report: Pick<AuditReport, 'totals' | 'errors'>): string {
  const {totals, errors} = report
  const found = SEVERITIES.map((severity) => `${totals.findings[severity]} ${severity}`).join(', ')
  const read =
    `Read ${plural(totals.aliases, 'alias', 'aliases')} on ${plural(totals.pages, 'page')} and described ` +
    `${plural(totals.keysDescribed, 'key')} in ${plural(totals.regions, 'Region')} of ` +
    `${plural(totals.accounts, 'account')}: ${found}.`
  if (errors.length === 0) return read
  const first = errors[0]
  const where = [first.region, first.profile === null ? undefined : `profile ${first.profile}`].filter(Boolean).join(', ')
  return `${read} Incomplete: ${plural(errors.length, 'call')} failed, first ${where ? `(${where}) ` : ''}${first.message}`
}

export async function runAudit(request: AuditRequest): Promise<AuditReport> {
  const startedAt = performance.now()
  const now = request.now ?? new Date()
  const apiCalls: Record<string, number> = {}
  const apiRetries: Record<string, number> = {}
  const errors: AuditError[] = []

  const identities = await identify(request)
  const signed = request.profiles.filter((profile) => profile.settings.signRequests).length
  if (signed > 0) apiCalls.GetCallerIdentity = signed

  const plans: Array<{profile: AuditProfile; identity: AuditIdentity; region: string}> = []
  for (const [index, profile] of request.profiles.entries()) {
    const identity = identities[index]
    if (identity.sameAs !== null) continue
    let regions: string[]
    if (request.regions === 'all') {
      apiCalls.DescribeRegions = (apiCalls.DescribeRegions ?? 0) + 1
      try {
        const {enabledRegions} = await import('./audit-regions.js')
        regions = await enabledRegions(profile.settings, request.endpointFlag, {debugLog: request.debugLog})
      } catch (error) {
        const {message, exitCode} = asError(error)
        const where = {profile: identity.profile, account: identity.account, region: null, keyId: null}
        errors.push({...where, operation: 'DescribeRegions', message, exitCode})
        continue
      }
    } else {
      regions = request.regions ?? [profile.settings.region]
    }

    for (const region of regions) plans.push({profile, identity, region})
  }

  const cache: KeyCache = new Map()
  const results = await pMap(
    plans,
    ({profile, identity, region}) => readRegion(request, profile, identity, region, cache),
    {concurrency: READ_CONCURRENCY},
  )

  const findings: Finding[] = []
  for (const result of results) {
    errors.push(...result.errors)
    add(apiCalls, result.gateway.apiCalls)
    add(apiRetries, result.gateway.apiRetries)
    for (const alias of result.aliases) {
      const key = alias.targetKeyId === null ? undefined : result.keys.get(alias.targetKeyId)
      const keyMissing = alias.targetKeyId !== null && result.missingKeys.has(alias.targetKeyId)
      findings.push(...keyFindings(alias, key, now, {keyMissing}))
    }

    const byKey = new Map<string, AliasEntry[]>()
    for (const alias of result.aliases) {
      if (alias.targetKeyId !== null) byKey.set(alias.targetKeyId, [...(byKey.get(alias.targetKeyId) ?? []), alias])
    }

    for (const [keyId, aliases] of byKey) {
      findings.push(...purposeFindings(aliases, result.keys.get(keyId), request.purposes))
    }
  }

  const reads = results.map((result) => result.read)
  const listFailed = (read: AuditRead) =>
    errors.some(
      (error) => error.operation === 'ListAliases' && error.region === read.region && error.profile === read.profile,
    )
  const listed = reads.filter((read) => !listFailed(read))
  // Nothing was read at all: end as the first failure would end any single call, with its line.
  if (listed.length === 0 && errors.length > 0) {
    throw new KmsRotateError(errors[0].message, errors[0].exitCode)
  }

  findings.sort(compareFindings)
  const accounts = new Set(listed.map((read) => read.account).filter((account) => account !== null))
  const totals = {
    aliases: reads.reduce((sum, read) => sum + read.aliases, 0),
    pages: reads.reduce((sum, read) => sum + read.pages, 0),
    keysDescribed: reads.reduce((sum, read) => sum + read.keysDescribed, 0),
    regions: new Set(listed.map((read) => read.region)).size,
    accounts: accounts.size,
    findings: countBySeverity(findings),
  }

  const failing = findings.some((finding) => reachesFailOn(finding.severity, request.failOn))
  const outcome: AuditOutcome = errors.length > 0 ? 'incomplete' : failing ? 'findings' : 'clean'
  return {
    outcome,
    summary: auditSummary({totals, errors}),
    failOn: request.failOn,
    findings,
    totals,
    identities,
    reads,
    errors,
    apiCalls,
    apiRetries,
    elapsedMs: Math.round(performance.now() - startedAt),
  }
}

/** The exit code of a finished audit. */
export function auditExitCode(report: Pick<AuditReport, 'outcome'>): number {
  return AUDIT_OUTCOMES[report.outcome].exitCode
}
