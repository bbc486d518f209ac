/** The audit report for a person, and in each --output format; --query applies to the machine forms. */
import type {ChalkInstance} from 'chalk'

import {SEVERITIES, type Finding, type Severity} from './audit-findings.js'
import type {AuditReport} from './audit.js'
import {AUDIT_OUTCOMES} from './outcomes.js'
import type {QueryResult} from './query.js'
import {formatRunReport, type OutputFormat} from './render.js'

export interface AuditQuery {
  expression: string
  apply: (report: AuditReport) => QueryResult
}

/** A report of every shape the real one can take, with its strings holding their field names. */
export function placeholderAuditReport(): AuditReport {
  const finding: Finding = {
    id: 'key-pending-deletion',
    severity: 'critical',
    message: 'message',
    profile: 'profile',
    account: 'account',
    region: 'region',
    aliasName: 'aliasName',
    aliasArn: 'aliasArn',
    targetKeyId: 'targetKeyId',
    keyArn: 'keyArn',
    keyState: 'keyState',
    deletionDate: 'deletionDate',
    validTo: 'validTo',
  }
  const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<Severity, number>
  return {
    outcome: 'clean',
    summary: 'summary',
    failOn: 'high',
    findings: [finding],
    totals: {aliases: 0, pages: 0, keysDescribed: 0, regions: 0, accounts: 0, findings: counts},
    identities: [{profile: 'profile', account: 'account', arn: 'arn', error: 'error', sameAs: 'sameAs'}],
    reads: [
      {profile: 'profile', account: 'account', region: 'region', aliases: 0, pages: 0, keysDescribed: 0, complete: true},
    ],
    errors: [
      {
        profile: 'profile',
        account: 'account',
        region: 'region',
        operation: 'operation',
        keyId: 'keyId',
        message: 'message',
        exitCode: 0,
      },
    ],
    apiCalls: {ListAliases: 0},
    apiRetries: {ListAliases: 0},
    elapsedMs: 0,
  }
}

/** --query for the audit report, checked before anything is sent; JMESPath loads only when needed. */
export async function compileAuditQuery(expression: string | undefined): Promise<AuditQuery | undefined> {
  if (expression === undefined) return undefined
  const {compileQueryFor} = await import('./query.js')
  return compileQueryFor(expression, placeholderAuditReport(), (report) => {
    const {exitCode} = AUDIT_OUTCOMES[report.outcome]
    return `${report.outcome} (exit ${exitCode} without --query): ${report.summary}`
  })
}

function severityColour(colour: ChalkInstance, severity: Severity): (text: string) => string {
  switch (severity) {
    case 'critical': {
      return colour.red.bold
    }

    case 'high': {
      return colour.red
    }

    case 'medium': {
      return colour.yellow
    }

    case 'info': {
      return colour.dim
    }
  }
}

/** Columns padded to their widest cell; the last column is left as it is. */
function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, index) => Math.max(...rows.map((row) => row[index].length)))
  return rows.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index])))
      .join('  ')
      .trimEnd(),
  )
}

/** The findings, most severe first, then what was read and how the run ended. */
export function renderAuditHuman(report: AuditReport, colour: ChalkInstance): string {
  const lines: string[] = []
  if (report.findings.length === 0) {
    lines.push('No findings.')
  } else {
    const multipleAccounts = report.totals.accounts > 1 || report.reads.some((read) => read.account === null)
    const head = ['SEVERITY', 'FINDING', ...(multipleAccounts ? ['ACCOUNT'] : []), 'REGION', 'ALIAS', 'MESSAGE']
    const rows = report.findings.map((finding) => [
      finding.severity,
      finding.id,
      ...(multipleAccounts ? [finding.account ?? finding.profile ?? '-'] : []),
      finding.region,
      finding.aliasName,
      finding.message,
    ])
    const [header, ...body] = columns([head, ...rows])
    lines.push(colour.bold(header))
    for (const [index, line] of body.entries()) {
      const {severity} = report.findings[index]
      lines.push(severityColour(colour, severity)(line.slice(0, severity.length)) + line.slice(severity.length))
    }
  }

  if (report.errors.length > 0) {
    lines.push('', colour.bold('Not read:'))
    for (const error of report.errors) {
      const where = [error.region ?? 'every Region', error.profile === null ? undefined : `profile ${error.profile}`]
      const what = error.keyId === null ? error.operation : `${error.operation} ${error.keyId}`
      lines.push(`  ${where.filter(Boolean).join(', ')}: ${what}: ${error.message}`)
    }
  }

  const succeeded = AUDIT_OUTCOMES[report.outcome].exitCode === 0
  const outcome = succeeded ? colour.green.bold(report.outcome) : colour.red.bold(report.outcome)
  lines.push('', `${outcome}  ${report.summary}`)
  return lines.join('\n') + '\n'
}

/** What stdout gets at the end of an audit. */
export function formatAuditReport(
  report: AuditReport,
  format: OutputFormat | undefined,
  query: AuditQuery | undefined,
  colour: ChalkInstance,
): string {
  return formatRunReport(report, format, query, (audit) => renderAuditHuman(audit, colour))
}

