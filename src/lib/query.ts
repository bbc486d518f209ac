import {compile, isRegistered, TreeInterpreter, type JSONValue} from '@jmespath-community/jmespath'

import {KmsRotateError, shown, UsageError} from './errors.js'
import {EXIT, OUTCOMES} from './outcomes.js'
import type {RotationReport} from './report.js'
import {placeholderReport} from './skeleton.js'

export type QueryResult = JSONValue
type ExpressionNode = ReturnType<typeof compile>

export interface ReportQuery {
  expression: string
  /** The expression applied to a report; throws only if the report holds what it cannot take. */
  apply: (report: RotationReport) => QueryResult
}

/** Function names the expression calls, wherever they sit in its syntax tree. */
function calledFunctions(node: unknown, names: Set<string> = new Set()): Set<string> {
  if (Array.isArray(node)) {
    for (const child of node) calledFunctions(child, names)
  } else if (node !== null && typeof node === 'object') {
    const {type, name} = node as {type?: unknown; name?: unknown}
    if (type === 'Function' && typeof name === 'string') names.add(name)
    for (const child of Object.values(node)) calledFunctions(child, names)
  }

  return names
}

/** JMESPath's arithmetic errors are bare codes; these say what is wrong with the expression. */
const ARITHMETIC_REASONS: Record<string, string> = {
  'not-a-number: undefined': 'arithmetic on a value that is null or missing',
  'not-a-number': 'arithmetic on a value that is not a number',
  'not-a-number: divide by zero': 'division by zero',
}

function reasonOf(error: unknown): string {
  const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0].replace(/\.$/, '')
  return ARITHMETIC_REASONS[reason] ?? reason
}

function search(ast: ExpressionNode, report: unknown): QueryResult {
  return TreeInterpreter.search(ast, report as unknown as JSONValue)
}

/**
 * Compiles `--query` before anything is sent. Backtick literals that are not JSON are read as
 * strings (`fail` as "fail"), as the AWS CLI still reads them. Unknown functions, and type errors
 * that any report would cause, are found by a trial run on a placeholder report.
 */
export function compileQuery(expression: string): ReportQuery {
  return compileQueryFor(expression, placeholderReport(), (report) => {
    const {exitCode} = OUTCOMES[report.outcome]
    return `${report.outcome} (exit ${exitCode} without --query): ${report.summary}`
  })
}

/**
 * The same for a report of another shape: `sample` is the placeholder tried at compile time, and
 * `ending` says how a run ended when the expression fails on its finished report.
 */
export function compileQueryFor<Report>(
  expression: string,
  sample: Report,
  ending: (report: Report) => string,
): {expression: string; apply: (report: Report) => QueryResult} {
  if (expression.trim() === '') {
    throw new UsageError('--query is empty: give a JMESPath expression, such as outcome, or leave it out.')
  }

  const bad = (reason: string) => new UsageError(`Bad value for --query ${shown(expression)}: ${reason}.`)
  let ast: ExpressionNode
  try {
    ast = compile(expression, {enable_legacy_literals: true})
  } catch (error) {
    throw bad(reasonOf(error))
  }

  const unknown = [...calledFunctions(ast)].filter((name) => !isRegistered(name))
  if (unknown.length > 0) throw bad(`unknown function ${unknown.map((name) => `${name}()`).join(', ')}`)
  try {
    search(ast, sample)
  } catch (error) {
    throw bad(reasonOf(error))
  }

  return {
    expression,
    apply(report) {
      try {
        return search(ast, report)
      } catch (error) {
        // The run is over: say how it ended, since the report cannot be printed.
        throw new KmsRotateError(
          `--query ${shown(expression)} failed on the report (${reasonOf(error)}); the run ended ${ending(report)}`,
          EXIT.other,
        )
      }
    },
  }
}
