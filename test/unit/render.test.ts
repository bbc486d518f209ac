import {readFileSync} from 'node:fs'

import {DescribeKeyCommand, EncryptCommand, ListAliasesCommand, UpdateAliasCommand} from '@aws-sdk/client-kms'
import {Ajv2020} from 'ajv/dist/2020.js'
import {afterEach, beforeAll, beforeEach, describe, expect, it, vi} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {CHECK_IDS, CHECK_STATUSES} from '../../src/lib/checks.js'
import {parseTargetKeyId} from '../../src/lib/identifiers.js'
import {OUTCOME_NAMES, type Outcome} from '../../src/lib/outcomes.js'
import {
  colourFor,
  loadFormatLibraries,
  outputFormatFromEnvironment,
  renderHuman,
  renderMachine,
  renderPlan,
} from '../../src/lib/render.js'
import {UNKNOWN_KEY, type RotationReport} from '../../src/lib/report.js'
import {rotateAlias, type RotationHooks, type RotationRequest} from '../../src/lib/rotate.js'
import {
  ALIAS,
  aliasEntry,
  aliasesOnKey,
  CURRENT_KEY_ID,
  describeKeys,
  keyArn,
  keyMetadata,
  kmsMock,
  newGateway,
  notFound,
  REGION,
  serviceException,
  TARGET_KEY_ID,
  THIRD_KEY_ID,
  UNFILTERED,
} from '../support/kms-mock.js'

interface ReportSchema {
  properties: {
    outcome: {enum: string[]}
    checks: {items: {properties: {id: {enum: string[]}; status: {enum: string[]}}}}
  }
}

const schema = JSON.parse(
  readFileSync(new URL('../../schema/report.schema.json', import.meta.url), 'utf8'),
) as ReportSchema
const validate = new Ajv2020({allErrors: true, strict: true}).compile(schema)

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\u001B\[/

/** keyManager, keySpec, keyState and keyUsage of a symmetric key, in text column order. */
const SYMMETRIC_TRAITS = (state: string) => `CUSTOMER\tSYMMETRIC_DEFAULT\t${state}\tENCRYPT_DECRYPT`

const STALE = {Aliases: [aliasEntry(ALIAS, CURRENT_KEY_ID)]}
const MOVED = {Aliases: [aliasEntry(ALIAS, TARGET_KEY_ID)]}

interface Scenario {
  arrange: (hooks: RotationHooks) => void
  request?: Partial<RotationRequest>
}

function givenMatchingKeys(): void {
  describeKeys({[ALIAS]: keyMetadata(CURRENT_KEY_ID), [TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
  kmsMock.on(UpdateAliasCommand).resolves({})
}

/** One way to reach each outcome against the mocked client. */
/** A single-Region run never ends partial: only the report of a --regions run does. */
type SingleRegionOutcome = Exclude<Outcome, 'partial'>
const SINGLE_REGION_OUTCOMES = OUTCOME_NAMES.filter((outcome): outcome is SingleRegionOutcome => outcome !== 'partial')

const SCENARIOS: Record<SingleRegionOutcome, Scenario> = {
  rotated: {
    arrange: () => {
      givenMatchingKeys()
      kmsMock.on(ListAliasesCommand, UNFILTERED).resolvesOnce(STALE).resolves(MOVED)
    },
  },
  unchanged: {
    arrange: () => {
      describeKeys({[ALIAS]: keyMetadata(TARGET_KEY_ID), [TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
    },
  },
  planned: {arrange: givenMatchingKeys, request: {dryRun: true}},
  submitted: {arrange: givenMatchingKeys, request: {waitTimeoutSeconds: 0}},
  refused: {
    // A reserved alias and a target in another Region: nothing is described, every key field is null.
    arrange: () => undefined,
    request: {aliasName: 'alias/aws/ebs', target: parseTargetKeyId(keyArn(TARGET_KEY_ID, 'eu-west-1'))},
  },
  'not-found': {
    arrange: () => {
      describeKeys({[TARGET_KEY_ID]: keyMetadata(TARGET_KEY_ID)})
      kmsMock.on(DescribeKeyCommand, {KeyId: ALIAS}).rejects(notFound(`Alias ${ALIAS} is not found.`))
    },
  },
  declined: {
    arrange: (hooks) => {
      givenMatchingKeys()
      hooks.confirm = async () => false
    },
  },
  unconfirmed: {
    arrange: () => {
      givenMatchingKeys()
      kmsMock.on(ListAliasesCommand, UNFILTERED).resolves({Aliases: [], Truncated: true})
    },
  },
  overwritten: {
    arrange: () => {
      givenMatchingKeys()
      kmsMock.on(ListAliasesCommand, UNFILTERED).resolves({Aliases: [aliasEntry(ALIAS, THIRD_KEY_ID)]})
    },
  },
  interrupted: {
    arrange: (hooks) => {
      const controller = new AbortController()
      givenMatchingKeys()
      kmsMock.on(DescribeKeyCommand, {KeyId: ALIAS}).callsFake(() => {
        controller.abort(new Error('interrupted'))
        return {KeyMetadata: keyMetadata(CURRENT_KEY_ID)}
      })
      hooks.signal = controller.signal
    },
  },
  'rolled-back': {
    arrange: () => {
      givenMatchingKeys()
      kmsMock.on(EncryptCommand).rejects(serviceException('DisabledException', 'The key is disabled.'))
      kmsMock
        .on(DescribeKeyCommand, {KeyId: ALIAS})
        .resolvesOnce({KeyMetadata: keyMetadata(CURRENT_KEY_ID)})
        .resolves({KeyMetadata: keyMetadata(TARGET_KEY_ID)})
      kmsMock.on(ListAliasesCommand, UNFILTERED).resolvesOnce(MOVED).resolves(STALE)
    },
    request: {canary: true},
  },
  'rollback-failed': {
    // The read before moving it back shows the alias on the old key, so nothing is written.
    arrange: () => {
      givenMatchingKeys()
      kmsMock.on(EncryptCommand).rejects(serviceException('DisabledException', 'The key is disabled.'))
      kmsMock.on(ListAliasesCommand, UNFILTERED).resolves(MOVED)
    },
    request: {canary: true},
  },
}

async function reportFor(outcome: SingleRegionOutcome): Promise<RotationReport> {
  const scenario = SCENARIOS[outcome]
  const hooks: RotationHooks = {}
  scenario.arrange(hooks)
  // Set after the scenario's answers, which would otherwise win over it.
  aliasesOnKey(TARGET_KEY_ID)
  const running = rotateAlias(
    newGateway(),
    {
      aliasName: ALIAS,
      target: parseTargetKeyId(TARGET_KEY_ID),
      region: REGION,
      dryRun: false,
      allowKeySpecChange: false,
      waitTimeoutSeconds: 60,
      ...scenario.request,
    },
    hooks,
  )
  await vi.runAllTimersAsync()
  return running
}

/** A report with fixed numbers, for exact text output. */
function fixedReport(): RotationReport {
  return {
    alias: ALIAS,
    region: REGION,
    outcome: 'rotated',
    summary: `${ALIAS} now points at ${TARGET_KEY_ID} (seen on poll 2, after 0.3 s).`,
    dryRun: false,
    updateSent: true,
    updateAccepted: true,
    updateError: null,
    from: {
      keyId: CURRENT_KEY_ID,
      arn: keyArn(CURRENT_KEY_ID),
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      keyState: 'Disabled',
      keyManager: 'CUSTOMER',
    },
    to: {
      keyId: TARGET_KEY_ID,
      arn: keyArn(TARGET_KEY_ID),
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      keyState: 'Enabled',
      keyManager: 'CUSTOMER',
    },
    checks: [
      {id: 'alias-not-reserved', status: 'pass', message: 'not reserved'},
      {id: 'same-account-region', status: 'skip', message: 'not compared'},
      {id: 'current-key-enabled', status: 'warn', message: 'the current key is Disabled'},
    ],
    accessChanges: [],
    verification: {polls: 2, pagesRead: 3, waitedMs: 312, error: null, lastSeenTarget: null},
    canary: null,
    rollback: null,
    apiCalls: {DescribeKey: 2, UpdateAlias: 1, ListAliases: 3},
    apiRetries: {ListAliases: 1},
    elapsedMs: 345,
  }
}

function terminal(isTTY: boolean): NodeJS.WriteStream {
  return {isTTY} as NodeJS.WriteStream
}

beforeEach(() => {
  kmsMock.reset()
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('renderPlan', () => {
  it('counts passed, warned and skipped checks, and lists the warnings', () => {
    // given a plan with one pass, one skip and one warning
    const report = fixedReport()
    // when it is shown before the prompt
    const plan = renderPlan(report, colourFor(terminal(false)))
    // then every status is counted, so the numbers add up to the checks
    expect(plan).toContain('1 of 3 checks passed, 1 warned, 1 skipped')
    expect(plan).toContain('current-key-enabled')
  })
})

// The yaml and table formats render with libraries that a run loads once it knows its format.
beforeAll(async () => {
  await Promise.all([loadFormatLibraries('yaml'), loadFormatLibraries('table')])
})

describe('the report schema', () => {
  it('lists exactly the outcomes the code defines', () => {
    expect(schema.properties.outcome.enum).toEqual(OUTCOME_NAMES)
  })

  it('lists exactly the check ids and statuses the code defines', () => {
    expect(schema.properties.checks.items.properties.id.enum).toEqual(CHECK_IDS)
    expect(schema.properties.checks.items.properties.status.enum).toEqual([...CHECK_STATUSES])
  })

  it.each(SINGLE_REGION_OUTCOMES)('accepts the JSON report of a %s run', async (outcome) => {
    // given a run that ends with this outcome
    const report = await reportFor(outcome)
    expect(report.outcome).toBe(outcome)
    // when it is printed as JSON and read back
    const printed: unknown = JSON.parse(renderMachine(report, 'json'))
    // then it matches the schema
    const valid = validate(printed)
    expect(validate.errors ?? []).toEqual([])
    expect(valid).toBe(true)
  })

  it('rejects a report with an outcome it does not know', () => {
    const report = {...fixedReport(), outcome: 'maybe'}
    expect(validate(JSON.parse(JSON.stringify(report)))).toBe(false)
  })

  it('rejects a report with a field it does not describe', () => {
    const report = {...fixedReport(), extra: true}
    expect(validate(JSON.parse(JSON.stringify(report)))).toBe(false)
  })
})

describe('renderMachine', () => {
  it('prints JSON that reads back as the report', () => {
    const report = fixedReport()
    expect(JSON.parse(renderMachine(report, 'json'))).toEqual(report)
  })

  it('prints YAML that reads back as the report', () => {
    const report = fixedReport()
    expect(parseYaml(renderMachine(report, 'yaml'))).toEqual(report)
  })

  it('prints text in the AWS CLI format: sorted tab-separated scalars under upper-cased names', () => {
    // given a report with nested keys, a list of checks and a verification
    const report = fixedReport()
    // when it is printed as text
    const lines = renderMachine(report, 'text').split('\n')
    // then the top-level scalars come first, in key order, with Python's spelling of booleans
    expect(lines[0]).toBe(
      [ALIAS, 'None', 'False', '345', 'rotated', REGION, 'None', report.summary, 'True', 'None', 'True'].join('\t'),
    )
    // and each nested object and list element is one line led by its upper-cased key
    expect(lines.slice(1)).toEqual([
      'APICALLS\t2\t3\t1',
      'APIRETRIES\t1',
      'CHECKS\talias-not-reserved\tnot reserved\tpass',
      'CHECKS\tsame-account-region\tnot compared\tskip',
      'CHECKS\tcurrent-key-enabled\tthe current key is Disabled\twarn',
      `FROM\t${keyArn(CURRENT_KEY_ID)}\t${CURRENT_KEY_ID}\t${SYMMETRIC_TRAITS('Disabled')}`,
      `TO\t${keyArn(TARGET_KEY_ID)}\t${TARGET_KEY_ID}\t${SYMMETRIC_TRAITS('Enabled')}`,
      'VERIFICATION\tNone\tNone\t3\t2\t312',
      '',
    ])
  })

  it('prints null as None in text, as the AWS CLI does', () => {
    // given a refused report: no keys described, no verification, no calls
    const report: RotationReport = {
      ...fixedReport(),
      outcome: 'refused',
      from: {...UNKNOWN_KEY},
      to: {...UNKNOWN_KEY},
      checks: [],
      verification: null,
      apiCalls: {},
      apiRetries: {},
    }
    // when it is printed as text
    const lines = renderMachine(report, 'text').split('\n')
    // then every null field reads None, and empty objects and lists print nothing
    const topLevel = [ALIAS, 'None', 'False', '345', 'refused', REGION, 'None', report.summary, 'True', 'None', 'True', 'None']
    expect(lines[0]?.split('\t')).toEqual(topLevel)
    expect(lines.slice(1)).toEqual([
      'FROM\tNone\tNone\tNone\tNone\tNone\tNone',
      'TO\tNone\tNone\tNone\tNone\tNone\tNone',
      '',
    ])
  })

  it('prints yaml-stream as the AWS CLI streams a response: one item of a YAML sequence', () => {
    const report = fixedReport()
    const printed = renderMachine(report, 'yaml-stream')
    expect(printed).toMatch(/^- alias: /)
    expect(parseYaml(printed)).toEqual([report])
  })

  it('prints nothing at all with off', () => {
    expect(renderMachine(fixedReport(), 'off')).toBe('')
  })

  it('prints a table with every check and every API call', () => {
    const table = renderMachine(fixedReport(), 'table')
    for (const check of fixedReport().checks) expect(table).toContain(check.id)
    for (const operation of ['DescribeKey', 'UpdateAlias', 'ListAliases']) expect(table).toContain(operation)
    expect(table).not.toMatch(ANSI_ESCAPE)
  })

  it('prints the verification, the ARNs and why an answer was lost, with booleans as the AWS CLI spells them', () => {
    // given an unconfirmed run whose UpdateAlias answer was lost
    const report: RotationReport = {
      ...fixedReport(),
      outcome: 'unconfirmed',
      updateAccepted: false,
      updateError: 'The connection closed before UpdateAlias was answered.',
      verification: {polls: 3, pagesRead: 3, waitedMs: 2000, error: null, lastSeenTarget: CURRENT_KEY_ID},
    }
    // when it is printed as a table
    const rows = renderMachine(report, 'table').split('\n')
    // then nothing that explains the outcome is left out
    expect(rows).toContainEqual(expect.stringMatching(/^\| updateError +\| The connection closed before UpdateAlias/))
    expect(rows).toContainEqual(expect.stringMatching(/^\| updateAccepted +\| False +\|$/))
    expect(rows).toContainEqual(expect.stringMatching(new RegExp(`^\\| 3 +\\| 3 +\\| 2000 +\\| ${CURRENT_KEY_ID} +\\| +\\|$`)))
    expect(rows.join('\n')).toContain(keyArn(TARGET_KEY_ID))
  })
})

describe('renderHuman', () => {
  it('shows the alias, both keys, each check with its mark, and the outcome with the summary', () => {
    // given a report with a passing, a skipped and a warning check
    const report = fixedReport()
    // when it is rendered without colour
    const lines = renderHuman(report, colourFor(terminal(false), {})).split('\n')
    // then each check is one line with its mark, and the last line is the outcome
    expect(lines[0]).toBe(`${ALIAS} in ${REGION}`)
    expect(lines).toContain(`  from  ${CURRENT_KEY_ID} (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, Disabled)`)
    expect(lines).toContain(`  to    ${TARGET_KEY_ID} (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, Enabled)`)
    const text = lines.join('\n')
    expect(text).toMatch(/^ {2}✓ alias-not-reserved +not reserved$/m)
    expect(text).toMatch(/^ {2}- same-account-region +not compared$/m)
    expect(text).toMatch(/^ {2}! current-key-enabled +the current key is Disabled$/m)
    expect(lines.at(-2)).toBe(`rotated  ${report.summary}`)
  })

  it('marks a failed check with a cross and shows unknown keys and the dry run', () => {
    const report: RotationReport = {
      ...fixedReport(),
      outcome: 'refused',
      dryRun: true,
      summary: 'Refused: target-enabled failed; nothing was changed.',
      from: {...UNKNOWN_KEY},
      checks: [{id: 'target-enabled', status: 'fail', message: 'the target key is Disabled'}],
    }
    const text = renderHuman(report, colourFor(terminal(false), {}))
    expect(text).toContain(`${ALIAS} in ${REGION} (dry run)`)
    expect(text).toContain('  from  unknown')
    expect(text).toMatch(/^ {2}✗ target-enabled +the target key is Disabled$/m)
    expect(text).toContain(`refused  ${report.summary}`)
  })

  it('uses colour on a terminal', () => {
    const text = renderHuman(fixedReport(), colourFor(terminal(true), {}))
    expect(text).toMatch(ANSI_ESCAPE)
  })

  it('writes no ANSI escapes off a terminal', () => {
    const text = renderHuman(fixedReport(), colourFor(terminal(false), {}))
    expect(text).not.toMatch(ANSI_ESCAPE)
  })

  it('writes ANSI escapes off a terminal with --color on', () => {
    expect(renderHuman(fixedReport(), colourFor(terminal(false), {}, 'on'))).toMatch(ANSI_ESCAPE)
  })

  it('lets --color on beat NO_COLOR and a dumb terminal', () => {
    const env = {NO_COLOR: '1', TERM: 'dumb'}
    expect(renderHuman(fixedReport(), colourFor(terminal(true), env, 'on'))).toMatch(ANSI_ESCAPE)
  })

  it('writes no ANSI escapes on a terminal with --color off', () => {
    const report = fixedReport()
    expect(renderHuman(report, colourFor(terminal(true), {}, 'off'))).not.toMatch(ANSI_ESCAPE)
    expect(renderPlan(report, colourFor(terminal(true), {}, 'off'))).not.toMatch(ANSI_ESCAPE)
  })

  it('colours on a terminal with --color auto, as without the flag', () => {
    expect(renderHuman(fixedReport(), colourFor(terminal(true), {}, 'auto'))).toMatch(ANSI_ESCAPE)
  })

  it.each([
    ['NO_COLOR is set', {NO_COLOR: '1'}],
    ['NO_COLOR is set to the empty string', {NO_COLOR: ''}],
    ['TERM is dumb', {TERM: 'dumb'}],
  ])('writes no ANSI escapes on a terminal when %s', (_, env: NodeJS.ProcessEnv) => {
    const report = fixedReport()
    expect(renderHuman(report, colourFor(terminal(true), env))).not.toMatch(ANSI_ESCAPE)
    expect(renderPlan(report, colourFor(terminal(true), env))).not.toMatch(ANSI_ESCAPE)
  })
})

describe('renderPlan', () => {
  it('shows the move and each warning in full, before the prompt', () => {
    // given a plan with one passing, one skipped and one warning check
    const text = renderPlan(fixedReport(), colourFor(terminal(false), {}))
    // then both keys and the warning are shown, and the passing check is only counted
    expect(text).toContain(CURRENT_KEY_ID)
    expect(text).toContain(TARGET_KEY_ID)
    expect(text).toMatch(/! current-key-enabled +the current key is Disabled/)
    expect(text).not.toContain('alias-not-reserved')
  })
})

describe('outputFormatFromEnvironment', () => {
  it('takes a format from AWS_DEFAULT_OUTPUT', () => {
    expect(outputFormatFromEnvironment({AWS_DEFAULT_OUTPUT: 'yaml'})).toBe('yaml')
  })

  it.each([['unset', {}], ['empty', {AWS_DEFAULT_OUTPUT: ''}]])('gives no format when the variable is %s', (_, env) => {
    expect(outputFormatFromEnvironment(env)).toBeUndefined()
  })

  it('rejects a value that is not a format, naming the variable, with exit 253', () => {
    expect(() => outputFormatFromEnvironment({AWS_DEFAULT_OUTPUT: 'xml'})).toThrow(
      expect.objectContaining({exitCode: 253, message: expect.stringContaining("AWS_DEFAULT_OUTPUT 'xml'")}),
    )
  })
})
