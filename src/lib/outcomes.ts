/**
 * Every way a run can end, with its exit code. Code, `--help`, the README and the report schema
 * all read this table; nothing else defines an exit code.
 */

export const OUTCOMES = {
  rotated: {exitCode: 0, meaning: 'updated and seen in ListAliases'},
  unchanged: {exitCode: 0, meaning: 'the alias already pointed at the new key'},
  planned: {exitCode: 0, meaning: 'dry run; no check failed'},
  submitted: {exitCode: 0, meaning: 'updated; --wait-timeout 0 asked not to wait'},
  refused: {exitCode: 3, meaning: 'a check failed (dry run or not); nothing changed'},
  // The AWS CLI's code for this NotFoundException, so that runbooks written for it keep working.
  'not-found': {exitCode: 254, meaning: 'the alias or the new key does not exist; nothing changed'},
  declined: {exitCode: 3, meaning: 'the prompt was answered no; nothing changed'},
  unconfirmed: {exitCode: 4, meaning: 'updated, not seen before the deadline; rerun to confirm'},
  interrupted: {exitCode: 130, meaning: 'Ctrl-C; the report (after a second Ctrl-C, stderr) says whether UpdateAlias was sent'},
  overwritten: {exitCode: 4, meaning: 'updated, then seen on a third key: another writer moved it'},
  'rolled-back': {exitCode: 5, meaning: 'the canary failed; the alias was moved back to the old key'},
  'rollback-failed': {exitCode: 7, meaning: 'the canary failed; the alias was not moved back, see the summary'},
  partial: {exitCode: 6, meaning: 'with --regions or apply: the Regions or entries ended differently'},
} as const

export type Outcome = keyof typeof OUTCOMES

export const OUTCOME_NAMES = Object.keys(OUTCOMES) as Outcome[]

/** Exit codes that end a run without a report; the AWS CLI uses the same numbers. */
export const EXIT = {
  usage: 252,
  configuration: 253,
  service: 254,
  other: 255,
} as const

export const ERROR_EXIT_MEANINGS: ReadonlyArray<{exitCode: number; meaning: string}> = [
  {exitCode: EXIT.usage, meaning: 'a bad flag or input document (--cli-input-json/yaml)'},
  {exitCode: EXIT.configuration, meaning: 'no Region or credentials, an unknown profile, a bad value in the environment or the AWS config files, or a journal that cannot be written'},
  {exitCode: EXIT.service, meaning: 'AWS answered with an error that is not a check result'},
  {exitCode: EXIT.other, meaning: 'anything else: network or TLS failure, internal error'},
]

export interface ExitCodeRow {
  exitCode: number
  outcome: string
  meaning: string
}

export function exitCodeTable(): ExitCodeRow[] {
  return [
    ...OUTCOME_NAMES.map((outcome) => ({outcome, ...OUTCOMES[outcome]})),
    ...ERROR_EXIT_MEANINGS.map((row) => ({outcome: '', ...row})),
  ].sort((a, b) => a.exitCode - b.exitCode)
}

/**
 * How an `audit` run ends. An incomplete read is never exit 0, whatever was found, since the
 * findings cannot be trusted to be all there are.
 */
export const AUDIT_OUTCOMES = {
  clean: {exitCode: 0, meaning: 'every alias was read; no finding at or above --fail-on'},
  findings: {exitCode: 3, meaning: 'every alias was read; a finding at or above --fail-on'},
  incomplete: {exitCode: 6, meaning: 'a Region, profile or key could not be read; the report says which'},
} as const

export type AuditOutcome = keyof typeof AUDIT_OUTCOMES

export const AUDIT_OUTCOME_NAMES = Object.keys(AUDIT_OUTCOMES) as AuditOutcome[]

/** The exit codes of `audit`, for its --help and the README. */
export function auditExitCodeTable(): ExitCodeRow[] {
  return [
    ...AUDIT_OUTCOME_NAMES.map((outcome) => ({outcome, ...AUDIT_OUTCOMES[outcome]})),
    ...ERROR_EXIT_MEANINGS.map((row) => ({outcome: '', ...row})),
  ].sort((a, b) => a.exitCode - b.exitCode)
}
