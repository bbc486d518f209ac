/**
 * Who may use each key for cryptographic operations, from what KMS holds about it (the key
 * policy and the grants), and who would lose that when the alias moves. Pure: rotate.ts reads.
 *
 * Principals are compared as written. IAM policies are not evaluated, and neither are
 * conditions: a Condition block or grant constraints are compared as text, and access that
 * depends on one that differs between the keys is reported as conditional, never dropped.
 */
import type {GrantListEntry, KeyMetadata} from '@aws-sdk/client-kms'

import {keySpecOf, keyUsageOf, type CheckResult} from './checks.js'

export const CRYPTOGRAPHIC_OPERATIONS = [
  'Encrypt',
  'Decrypt',
  'ReEncryptFrom',
  'ReEncryptTo',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'Sign',
  'Verify',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
] as const

export type CryptographicOperation = (typeof CRYPTOGRAPHIC_OPERATIONS)[number]

/** Where a principal's access to the current key comes from. */
export type AccessSource = 'policy' | 'grant'

/** A principal that may use the current key for these operations, and may not use the new one. */
export interface AccessChange {
  principal: string
  operations: CryptographicOperation[]
  /** The new key may still allow them under conditions or constraints that are not evaluated. */
  conditional: boolean
  source: AccessSource
}

/** One read of the preflight: its answer, or KMS's error answer to it. */
export type Read<T> = {read: true; value: T} | {read: false; error: string}

export interface KeyAccessReads {
  /** The key policy named default, as JSON text. */
  policy: Read<string>
  /** Every grant, from every ListGrants page. */
  grants: Read<GrantListEntry[]>
}

export interface KeyAccess {
  key: KeyMetadata
  reads: KeyAccessReads
}

/** What the preflight found out about access; `compared` false says why nothing was read. */
export type AccessFacts =
  | {compared: false; reason: string}
  | {
      compared: true
      /** Who loses what; null when a policy or a grant list could not be read. */
      changes: AccessChange[] | null
      /** The reads that failed, each with the operation, the key and KMS's error. */
      unread: Array<{source: AccessSource; message: string}>
      /** Accounts whose root a key policy allows: there, IAM policies also decide. */
      iamAccounts: string[]
      /** The alias condition keys each key policy uses; null when that policy is unknown. */
      aliasConditionKeys: {current: string[] | null; target: string[] | null}
    }

/** The condition keys of attribute-based access control through aliases. */
const ALIAS_CONDITION_KEYS = ['kms:ResourceAliases', 'kms:RequestAlias'] as const

/** Operations that a key of each KeyUsage can perform; the others are left out of reports. */
const OPERATIONS_BY_USAGE: Record<string, readonly CryptographicOperation[]> = {
  ENCRYPT_DECRYPT: CRYPTOGRAPHIC_OPERATIONS.slice(0, 8),
  SIGN_VERIFY: ['Sign', 'Verify'],
  GENERATE_VERIFY_MAC: ['GenerateMac', 'VerifyMac'],
  KEY_AGREEMENT: ['DeriveSharedSecret'],
}

export function operationsFor(key: KeyMetadata): readonly CryptographicOperation[] {
  const operations = OPERATIONS_BY_USAGE[keyUsageOf(key) ?? ''] ?? CRYPTOGRAPHIC_OPERATIONS
  // Only symmetric encryption keys generate data keys.
  if (keyUsageOf(key) === 'ENCRYPT_DECRYPT' && keySpecOf(key) !== 'SYMMETRIC_DEFAULT') {
    return operations.filter((operation) => !operation.startsWith('GenerateDataKey'))
  }

  return operations
}

interface Statement {
  effect: 'Allow' | 'Deny'
  /** Principals as written ("*" for everyone); with NotPrincipal, the ones it leaves out. */
  principals: string[]
  notPrincipal: boolean
  actions: RegExp[]
  notAction: boolean
  /** Resource or NotResource covers the key. */
  coversKey: boolean
  /** The Condition block as canonical JSON; null when there is none. */
  condition: string | null
  conditionKeys: string[]
}

interface Grant {
  grantee: string
  operations: string[]
  /** The grant's Constraints as canonical JSON; null when there are none. */
  constraints: string | null
}

interface KeyModel {
  statements: Statement[]
  grants: Grant[]
}

/** JSON with object keys sorted, so that equal conditions give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((element) => canonical(element)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonical(field)}`).join(',')}}`
  }

  return JSON.stringify(value)
}

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return []
  return Array.isArray(value) ? value : [value]
}

function strings(value: unknown): string[] {
  return asList(value).filter((element): element is string => typeof element === 'string')
}

const WILDCARDS: Record<string, string> = {'*': '.*', '?': '.'}

/** IAM's wildcards: `*` any run of characters, `?` one character. */
function wildcardPattern(pattern: string, flags = ''): RegExp {
  const escape = (character: string) => character.replace(/[\\^$.+()[\]{}|]/, '\\$&')
  const body = [...pattern].map((character) => WILDCARDS[character] ?? escape(character))
  return new RegExp(`^${body.join('')}$`, flags)
}

function partitionOf(arn: string | undefined): string {
  return arn?.split(':')[1] || 'aws'
}

/** A bare account id in a policy means the account's root, as KMS stores it. */
function principalsOf(value: unknown, partition: string): string[] {
  if (value === '*') return ['*']
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([kind, names]) =>
    strings(names).map((name) =>
      kind === 'AWS' && /^\d{12}$/.test(name) ? `arn:${partition}:iam::${name}:root` : name,
    ),
  )
}

function parseStatement(raw: unknown, keyArn: string, partition: string): Statement | undefined {
  if (raw === null || typeof raw !== 'object') return undefined
  const statement = raw as Record<string, unknown>
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') return undefined
  const notPrincipal = statement.Principal === undefined && statement.NotPrincipal !== undefined
  const notAction = statement.Action === undefined && statement.NotAction !== undefined
  const notResource = statement.Resource === undefined && statement.NotResource !== undefined
  const resources = strings(notResource ? statement.NotResource : statement.Resource)
  const matchesKey = resources.some((resource) => wildcardPattern(resource).test(keyArn))
  const condition = statement.Condition
  const conditions = condition !== null && typeof condition === 'object' ? Object.values(condition) : []
  const actions = strings(notAction ? statement.NotAction : statement.Action)
  return {
    effect: statement.Effect,
    principals: principalsOf(notPrincipal ? statement.NotPrincipal : statement.Principal, partition),
    notPrincipal,
    // Action names are not case sensitive.
    actions: actions.map((action) => wildcardPattern(action, 'i')),
    notAction,
    coversKey: notResource ? !matchesKey : statement.Resource === undefined || matchesKey,
    condition: conditions.length > 0 ? canonical(condition) : null,
    conditionKeys: conditions.flatMap((operands) =>
      operands !== null && typeof operands === 'object' ? Object.keys(operands) : [],
    ),
  }
}

function parsePolicy(text: string, key: KeyMetadata): Statement[] | undefined {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    return undefined
  }

  if (document === null || typeof document !== 'object') return undefined
  const keyArn = key.Arn ?? ''
  const partition = partitionOf(key.Arn)
  return asList((document as Record<string, unknown>).Statement)
    .map((raw) => parseStatement(raw, keyArn, partition))
    .filter((statement) => statement !== undefined)
}

function parseGrants(grants: GrantListEntry[]): Grant[] {
  return grants
    .filter((grant) => grant.GranteePrincipal !== undefined)
    .map((grant) => {
      const constraints = grant.Constraints ?? {}
      const constrained = Object.values(constraints).some((constraint) => constraint !== undefined)
      return {
        grantee: grant.GranteePrincipal as string,
        operations: grant.Operations ?? [],
        constraints: constrained ? canonical(constraints) : null,
      }
    })
}

const ACCOUNT_ROOT = /^arn:[\w-]+:iam::(\d{12}):root$/

function accountOf(principal: string): string | undefined {
  return /^arn:[\w-]+:(?:iam|sts)::(\d{12}):/.exec(principal)?.[1]
}

/** A principal is covered by name, by "*", and, for a Deny, by the root of its account. */
function coverage(statement: Statement, principal: string): {covered: boolean; qualifier: string | null} {
  const named = statement.principals.includes(principal) || statement.principals.includes('*')
  if (statement.notPrincipal) {
    // An Allow with NotPrincipal is too broad to take for granted; a Deny with it is taken as written.
    if (named) return {covered: false, qualifier: null}
    const qualifier = statement.effect === 'Allow' ? `NotPrincipal ${canonical(statement.principals)}` : null
    return {covered: true, qualifier}
  }

  if (named) return {covered: true, qualifier: null}
  if (statement.effect === 'Deny') {
    const account = accountOf(principal)
    if (account && statement.principals.some((name) => ACCOUNT_ROOT.exec(name)?.[1] === account)) {
      return {covered: true, qualifier: null}
    }

    // Everyone includes whoever the Deny names: part of "*" is denied.
    if (principal === '*' && statement.principals.length > 0) {
      return {covered: true, qualifier: `only ${canonical(statement.principals)}`}
    }
  }

  return {covered: false, qualifier: null}
}

function coversOperation(statement: Statement, operation: CryptographicOperation): boolean {
  const matches = statement.actions.some((action) => action.test(`kms:${operation}`))
  return statement.notAction ? !matches : matches
}

/** Access given (or taken) outright, or only under some conditions, each as canonical text. */
interface Access {
  always: boolean
  conditions: Set<string>
}

interface Rights {
  allow: Access
  deny: Access
  sources: Set<AccessSource>
}

function add(access: Access, conditions: Array<string | null>): void {
  const present = conditions.filter((condition) => condition !== null)
  if (present.length === 0) access.always = true
  else access.conditions.add(present.join(' and '))
}

function rightsOf(model: KeyModel, principal: string, operation: CryptographicOperation): Rights {
  const rights: Rights = {
    allow: {always: false, conditions: new Set()},
    deny: {always: false, conditions: new Set()},
    sources: new Set(),
  }
  for (const statement of model.statements) {
    if (!statement.coversKey || !coversOperation(statement, operation)) continue
    const {covered, qualifier} = coverage(statement, principal)
    if (!covered) continue
    if (statement.effect === 'Deny') {
      add(rights.deny, [qualifier, statement.condition])
    } else {
      add(rights.allow, [qualifier, statement.condition])
      rights.sources.add('policy')
    }
  }

  for (const grant of model.grants) {
    if (grant.grantee !== principal || !grant.operations.includes(operation)) continue
    add(rights.allow, [grant.constraints && `grant constraints ${grant.constraints}`])
    rights.sources.add('grant')
  }

  return rights
}

function mayUse({allow, deny}: Rights): boolean {
  return (allow.always || allow.conditions.size > 0) && !deny.always
}

function isSubset(part: Set<string>, whole: Set<string>): boolean {
  return [...part].every((element) => whole.has(element))
}

/** Kept when the new key allows at least as much, under no condition the current key lacks. */
function compare(before: Rights, after: Rights): 'kept' | 'lost' | 'conditional' {
  if (!mayUse(after)) return 'lost'
  const allowed =
    after.allow.always || (!before.allow.always && isSubset(before.allow.conditions, after.allow.conditions))
  const notMoreDenied = isSubset(after.deny.conditions, before.deny.conditions)
  return allowed && notMoreDenied ? 'kept' : 'conditional'
}

/** Everyone an Allow or a grant of the key names; "*" stands for everyone else. */
function principalsNamed(model: KeyModel): string[] {
  const names = new Set<string>()
  for (const statement of model.statements) {
    if (statement.effect !== 'Allow') continue
    for (const name of statement.notPrincipal ? ['*'] : statement.principals) names.add(name)
  }

  for (const grant of model.grants) names.add(grant.grantee)
  return [...names].sort()
}

/** Who may use the current key for an operation and may not use the new key for it. */
function accessChanges(
  current: KeyModel,
  target: KeyModel,
  operations: readonly CryptographicOperation[],
): AccessChange[] {
  const changes = new Map<string, AccessChange>()
  for (const principal of principalsNamed(current)) {
    for (const operation of operations) {
      const before = rightsOf(current, principal, operation)
      if (!mayUse(before)) continue
      const verdict = compare(before, rightsOf(target, principal, operation))
      if (verdict === 'kept') continue
      for (const source of [...before.sources].sort()) {
        const conditional = verdict === 'conditional'
        const id = JSON.stringify([principal, source, conditional])
        const change = changes.get(id) ?? {principal, operations: [], conditional, source}
        change.operations.push(operation)
        changes.set(id, change)
      }
    }
  }

  return [...changes.values()]
}

function iamAccountsOf(statements: Statement[]): string[] {
  return statements
    .filter((statement) => statement.effect === 'Allow' && !statement.notPrincipal)
    .flatMap((statement) => statement.principals.map((name) => ACCOUNT_ROOT.exec(name)?.[1]))
    .filter((account) => account !== undefined)
}

function aliasConditionKeysOf(statements: Statement[]): string[] {
  const used = statements.flatMap((statement) => statement.conditionKeys.map((key) => key.toLowerCase()))
  return ALIAS_CONDITION_KEYS.filter((key) => used.includes(key.toLowerCase()))
}

const KEY_NAMES = {current: 'the current key', target: 'the new key'} as const

/** Compares what the policies and grants of both keys allow; unread parts are named, not guessed. */
export function assessAccess(current: KeyAccess, target: KeyAccess): AccessFacts {
  const unread: Array<{source: AccessSource; message: string}> = []
  const models: Partial<Record<keyof typeof KEY_NAMES, KeyModel>> = {}
  const policies: Record<keyof typeof KEY_NAMES, Statement[] | null> = {current: null, target: null}
  for (const [side, {key, reads}] of [['current', current], ['target', target]] as const) {
    const keyName = KEY_NAMES[side]
    if (reads.policy.read) {
      policies[side] = parsePolicy(reads.policy.value, key) ?? null
      if (!policies[side]) {
        unread.push({source: 'policy', message: `the key policy of ${keyName} is not a JSON object`})
      }
    } else {
      unread.push({source: 'policy', message: `GetKeyPolicy on ${keyName}: ${reads.policy.error}`})
    }

    if (!reads.grants.read) {
      unread.push({source: 'grant', message: `ListGrants on ${keyName}: ${reads.grants.error}`})
    }

    const statements = policies[side]
    if (statements && reads.grants.read) models[side] = {statements, grants: parseGrants(reads.grants.value)}
  }

  const statements = [...(policies.current ?? []), ...(policies.target ?? [])]
  const {current: before, target: after} = models
  return {
    compared: true,
    changes: before && after ? accessChanges(before, after, operationsFor(current.key)) : null,
    unread,
    iamAccounts: [...new Set(iamAccountsOf(statements))].sort(),
    aliasConditionKeys: {
      current: policies.current && aliasConditionKeysOf(policies.current),
      target: policies.target && aliasConditionKeysOf(policies.target),
    },
  }
}

/** Principals listed in a check message; the rest are counted, and all are in the report. */
const LISTED_PRINCIPALS = 5

function describePrincipal(principal: string): string {
  return principal === '*' ? 'everyone ("*")' : principal
}

function describeChanges(changes: AccessChange[]): string {
  const byPrincipal = new Map<string, {lost: Set<string>; conditional: Set<string>}>()
  for (const change of changes) {
    const entry = byPrincipal.get(change.principal) ?? {lost: new Set(), conditional: new Set()}
    const operations = change.conditional ? entry.conditional : entry.lost
    for (const operation of change.operations) operations.add(operation)
    byPrincipal.set(change.principal, entry)
  }

  const inOrder = (operations: Set<string>) =>
    CRYPTOGRAPHIC_OPERATIONS.filter((operation) => operations.has(operation))
  const items = [...byPrincipal.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([principal, entry]) => {
    const lost = inOrder(entry.lost)
    // One source may lose an operation outright while another only may: outright wins.
    const conditional = inOrder(new Set([...entry.conditional].filter((name) => !entry.lost.has(name))))
    const parts = [
      ...(lost.length > 0 ? [`loses ${lost.join(', ')}`] : []),
      ...(conditional.length > 0 ? [`may lose ${conditional.join(', ')} (conditional)`] : []),
    ]
    return `${describePrincipal(principal)} ${parts.join(' and ')}`
  })
  const count = items.length
  const more = count > LISTED_PRINCIPALS ? [`and ${count - LISTED_PRINCIPALS} more (see accessChanges)`] : []
  const verb = count === 1 ? 'principal loses' : 'principals lose'
  return `${count} ${verb} access: ${[...items.slice(0, LISTED_PRINCIPALS), ...more].join('; ')}`
}

function iamNote(accounts: string[]): string {
  return accounts.length === 0 ? '' : `; IAM policies of account ${accounts.join(', ')} are not evaluated`
}

const NOT_READ = 'not evaluated: the key policies and grants were not read'

export function checkAccessParity(access: AccessFacts | undefined, allowAccessLoss: boolean): CheckResult {
  const id = 'access-parity'
  if (!access) return {id, status: 'skip', message: NOT_READ}
  if (!access.compared) return {id, status: 'skip', message: access.reason}
  if (!access.changes) {
    const reasons = access.unread.map((read) => read.message)
    return {id, status: 'skip', message: `not evaluated: ${reasons.join('; ')}`}
  }

  const note = iamNote(access.iamAccounts)
  if (access.changes.length === 0) {
    return {id, status: 'pass', message: `no principal loses access${note}`}
  }

  const lost = `${describeChanges(access.changes)}${note}`
  return allowAccessLoss
    ? {id, status: 'warn', message: `${lost}; accepted by --allow-access-loss`}
    : {id, status: 'fail', message: `${lost}; pass --allow-access-loss if this is intended`}
}

export function checkAliasAbac(access: AccessFacts | undefined): CheckResult {
  const id = 'alias-abac'
  if (!access) return {id, status: 'skip', message: NOT_READ}
  if (!access.compared) return {id, status: 'skip', message: access.reason}
  const {current, target} = access.aliasConditionKeys
  const users = [
    ...(current?.length ? [`${KEY_NAMES.current}'s policy (${current.join(', ')})`] : []),
    ...(target?.length ? [`${KEY_NAMES.target}'s policy (${target.join(', ')})`] : []),
  ]
  if (users.length > 0) {
    const verb = users.length === 1 ? 'bases' : 'base'
    const message = `${users.join(' and ')} ${verb} access on aliases: moving the alias moves that access`
    return {id, status: 'warn', message}
  }

  if (current === null || target === null) {
    const reasons = access.unread.filter((read) => read.source === 'policy').map((read) => read.message)
    return {id, status: 'skip', message: `not evaluated: ${reasons.join('; ')}`}
  }

  const keys = ALIAS_CONDITION_KEYS.join(' or ')
  return {id, status: 'pass', message: `no key policy conditions on ${keys}; IAM policies are not evaluated`}
}
