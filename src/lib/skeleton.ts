import {Document, isMap, isScalar} from 'yaml'

import {CHECK_IDS} from './checks.js'
import type {KeySummary, RotationReport} from './report.js'

import type {SkeletonKind} from './formats.js'

export {SKELETON_KINDS, type SkeletonKind} from './formats.js'

/** What each member of the UpdateAlias request is, for the comments of the YAML skeleton. */
const MEMBER_NOTES = {
  AliasName: 'The alias to move: alias/ and its name, such as alias/ExampleAlias.',
  TargetKeyId: 'The key the alias should point to: a key id, a multi-Region key id or a key ARN.',
} as const

/** An empty request for --cli-input-json, laid out as the AWS CLI prints it. */
export function inputSkeletonJson(): string {
  return JSON.stringify({AliasName: '', TargetKeyId: ''}, null, 4) + '\n'
}

/** An empty request for --cli-input-yaml, each member marked as required, as the AWS CLI does. */
export function inputSkeletonYaml(): string {
  const document = new Document({AliasName: '', TargetKeyId: ''})
  if (isMap(document.contents)) {
    for (const pair of document.contents.items) {
      if (isScalar(pair.key) && isScalar(pair.value)) {
        pair.value.comment = ` [REQUIRED] ${MEMBER_NOTES[pair.key.value as keyof typeof MEMBER_NOTES]}`
      }
    }
  }

  return document.toString({singleQuote: true})
}

function placeholderKey(): KeySummary {
  const fields = ['keyId', 'arn', 'keySpec', 'keyUsage', 'keyState', 'keyManager'] as const
  return Object.fromEntries(fields.map((field) => [field, field])) as Record<(typeof fields)[number], string>
}

/**
 * A report with the shape of a real one: each string holds its field's name, as in the AWS CLI's
 * output skeletons, except the alias, which is the one given.
 */
export function placeholderReport(aliasName = 'alias/ExampleAlias'): RotationReport {
  return {
    alias: aliasName,
    region: 'region',
    outcome: 'rotated',
    summary: 'summary',
    dryRun: false,
    updateSent: true,
    updateAccepted: true,
    updateError: 'updateError',
    from: placeholderKey(),
    to: placeholderKey(),
    checks: CHECK_IDS.map((id) => ({id, status: 'pass', message: 'message'})),
    accessChanges: [{principal: 'principal', operations: ['Decrypt'], conditional: false, source: 'policy'}],
    verification: {polls: 1, pagesRead: 1, waitedMs: 0, error: 'error', lastSeenTarget: 'lastSeenTarget'},
    canary: {status: 'passed', operations: ['Encrypt', 'Decrypt'], attempts: 1, answeredBy: 'answeredBy', message: 'message'},
    rollback: {sent: true, seen: true, aliasTarget: 'aliasTarget', error: 'error'},
    apiCalls: {DescribeKey: 2, UpdateAlias: 1, ListAliases: 1},
    apiRetries: {DescribeKey: 1},
    elapsedMs: 0,
  }
}

export function inputSkeleton(kind: Exclude<SkeletonKind, 'output'>): string {
  return kind === 'input' ? inputSkeletonJson() : inputSkeletonYaml()
}
