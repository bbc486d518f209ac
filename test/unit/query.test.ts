import {describe, expect, it} from 'vitest'

import {compileQuery} from '../../src/lib/query.js'
import type {RotationReport} from '../../src/lib/report.js'
import {placeholderReport} from '../../src/lib/skeleton.js'

/** A finished run: one check failed, no poll was made. */
function refusedReport(): RotationReport {
  return {
    ...placeholderReport('alias/app'),
    region: 'us-east-1',
    outcome: 'refused',
    summary: 'Refused: target-enabled failed; nothing was changed.',
    updateSent: false,
    checks: [
      {id: 'alias-exists', status: 'pass', message: 'alias/app points at k1'},
      {id: 'target-enabled', status: 'fail', message: 'the target key is Disabled'},
      {id: 'current-key-enabled', status: 'warn', message: 'the current key is Disabled'},
    ],
    verification: null,
    apiCalls: {DescribeKey: 2},
  }
}

describe('compileQuery applies JMESPath to the report', () => {
  // A few cases in the manner of the JMESPath compliance suite, on the report's own shape.
  it.each([
    ['a field', 'outcome', 'refused'],
    ['a nested field', 'to.keyId', 'keyId'],
    ['a missing field', 'nothing.here', null],
    ['an index', 'checks[0].id', 'alias-exists'],
    ['a negative index', 'checks[-1].status', 'warn'],
    ['a slice', 'checks[1:].id', ['target-enabled', 'current-key-enabled']],
    ['a projection', 'checks[*].status', ['pass', 'fail', 'warn']],
    ['a filter with a JSON literal', 'checks[?status==`"fail"`].id', ['target-enabled']],
    ['a filter with a raw string', "checks[?status=='warn'].id", ['current-key-enabled']],
    ['a multiselect hash', '{o: outcome, sent: updateSent}', {o: 'refused', sent: false}],
    ['a multiselect list', '[alias, region]', ['alias/app', 'us-east-1']],
    ['a pipe and a function', 'checks[?status!=`"pass"`] | length(@)', 2],
    ['an or expression over null', 'verification || `"none"`', 'none'],
    ['keys of an object', 'keys(apiCalls)', ['DescribeKey']],
    ['a comparison', 'apiCalls.DescribeKey > `1`', true],
    ['the whole report', '@.alias', 'alias/app'],
  ])('%s: %s', (_, expression, expected) => {
    expect(compileQuery(expression).apply(refusedReport())).toEqual(expected)
  })

  it('reads a backtick literal that is not JSON as a string, as the AWS CLI does', () => {
    expect(compileQuery('checks[?status==`fail`].id').apply(refusedReport())).toEqual(['target-enabled'])
  })
})

describe('compileQuery refuses, before anything is sent, with exit 252', () => {
  it.each([
    ['an unfinished expression', '[', /^Bad value for --query '\[': /],
    ['a dangling dot', 'checks.', /^Bad value for --query 'checks\.': /],
    ['an unknown function', 'checks | nosuch(@)', /^Bad value for --query .*: unknown function nosuch\(\)\.$/],
    ['an unknown function on a branch not taken', 'alias || nosuch(@)', /unknown function nosuch\(\)/],
    ['a type error that any report causes', 'abs(alias)', /^Bad value for --query 'abs\(alias\)': .*abs\(\)/],
    ['arithmetic on a missing field', 'nosuchfield + `1`', /: arithmetic on a value that is null or missing\.$/],
    ['arithmetic on a string', 'alias - `1`', /: arithmetic on a value that is not a number\.$/],
    ['a division by zero', '`1` / `0`', /: division by zero\.$/],
    ['an empty expression', '', /^--query is empty/],
    ['white space alone', '  ', /^--query is empty/],
  ])('%s', (_, expression, message) => {
    expect(() => compileQuery(expression)).toThrow(
      expect.objectContaining({exitCode: 252, message: expect.stringMatching(message)}),
    )
  })

  it('keeps the message to one line, escaping a line break in the expression', () => {
    expect(() => compileQuery('outcome\n[')).toThrow(/^Bad value for --query 'outcome\\n\[': [^\n]*$/)
  })
})

describe('a query that fails only on the finished report', () => {
  it('ends with exit 255 and one line that still says how the run ended', () => {
    // given a query that a placeholder report, with a string where the real one has null, accepts
    const query = compileQuery('length(verification.error)')
    // when it meets a report without a verification
    const applying = () => query.apply(refusedReport())
    // then the message names the query, the outcome and its summary
    expect(applying).toThrow(expect.objectContaining({exitCode: 255}))
    expect(applying).toThrow(/^--query 'length\(verification\.error\)' failed on the report \(.+\); /)
    expect(applying).toThrow(/; the run ended refused \(exit 3 without --query\): Refused: target-enabled failed/)
  })
})
