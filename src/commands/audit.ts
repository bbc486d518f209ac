import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'

import {FAIL_ON_LEVELS, FINDING_IDS, FINDINGS} from '../lib/audit-findings.js'
import {parseExpectations, parseProfileList, parseRegionList} from '../lib/audit-input.js'
import {endWithFailure, parseFailure} from '../lib/command-errors.js'
import {auditExitCodeTable, AUDIT_OUTCOMES} from '../lib/outcomes.js'
import UpdateAlias, {CONNECTION_FLAGS} from './update-alias.js'

/**
 * What a run needs beyond its flags: loaded only once the flags parse, so that every command's
 * --help (this file is in the bundle's entry) never loads the renderers, YAML or the SDK config.
 */
async function runModules() {
  const [auditRender, awsConfig, output, pager, render, rotationRun] = await Promise.all([
    import('../lib/audit-render.js'),
    import('../lib/aws-config.js'),
    import('../lib/output.js'),
    import('../lib/pager.js'),
    import('../lib/render.js'),
    import('../lib/rotation-run.js'),
  ])
  return {...auditRender, ...awsConfig, ...output, ...pager, ...render, ...rotationRun}
}

const shared = UpdateAlias.flags

function helpTable(rows: string[][]): string {
  const widths = rows[0].map((_, index) => Math.max(...rows.map((row) => row[index].length)))
  return rows
    .map((row) => `  ${row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]))).join('  ')}`)
    .join('\n')
}

export default class Audit extends Command {
  static summary = "Report every alias whose key is going away, unusable, AWS managed, or shared across purposes."

  static description = `Reads every alias (ListAliases, every page) of each profile's account in each Region, \
describes each key an alias points at once (DescribeKey), and reports findings, most severe first. It changes \
nothing. Without --regions or --all-regions it reads the profile's own Region; without --profiles, the profile \
that --profile, AWS_PROFILE or the environment's keys give. A summary line on stderr says what was read.

Findings:
${helpTable(FINDING_IDS.map((id) => [id, FINDINGS[id].severity, FINDINGS[id].when]))}

Exit codes:
${helpTable(auditExitCodeTable().map((row) => [String(row.exitCode), row.outcome, row.meaning]))}`

  static examples = [
    {
      description: 'Audit the Region of the default profile:',
      command: '<%= config.bin %> <%= command.id %>',
    },
    {
      description: 'Every enabled Region of two accounts, failing on anything medium or worse:',
      command: "<%= config.bin %> <%= command.id %> --profiles prod,staging --all-regions --expect prod='alias/prod-*' --expect staging='alias/staging-*' --fail-on medium",
    },
    {
      description: 'In a scheduled job: the ids and aliases of critical findings, one per line:',
      command: "<%= config.bin %> <%= command.id %> --regions us-east-1,eu-west-1 --output text --query \"findings[?severity=='critical'].[id,region,aliasName]\"",
    },
  ]

  static flags = {
    regions: Flags.string({
      summary: 'Read these Regions (r1,r2); else the Region of each profile.',
      exclusive: ['region', 'all-regions'],
    }),
    'all-regions': Flags.boolean({
      default: false,
      summary: 'Read every Region that EC2 DescribeRegions says is enabled for each account.',
      // EC2 takes no unsigned request, so the Regions could not be asked for.
      exclusive: ['region', 'regions', 'no-sign-request'],
    }),
    profiles: Flags.string({
      summary: 'Read as each of these profiles (a,b); a profile of an account already read is skipped.',
      exclusive: ['profile'],
    }),
    expect: Flags.string({
      multiple: true,
      summary: "PURPOSE=GLOB (repeatable): aliases matching GLOB serve PURPOSE; a key whose aliases serve two is a finding.",
    }),
    'fail-on': Flags.option({
      options: FAIL_ON_LEVELS,
      default: 'high' as const,
      summary: 'Exit 3 when a finding is this severe or worse (critical, high, medium, info); none never does.',
    })(),
    ...CONNECTION_FLAGS,
    'no-sign-request': shared['no-sign-request'],
  }

  async run(): Promise<void> {
    const flags = await this.parseFlags()
    const {
      awsOptionsFrom,
      cliProfileSettings,
      colourFor,
      compileAuditQuery,
      describeSettings,
      formatAuditReport,
      pagerFor,
      resolveAwsSettings,
      resolveOutputFormat,
      writeThroughPager,
    } = await runModules()
    const regions = flags.regions === undefined ? undefined : parseRegionList(flags.regions)
    const profileNames = flags.profiles === undefined ? [flags.profile] : parseProfileList(flags.profiles)
    const purposes = parseExpectations(flags.expect)
    const query = await compileAuditQuery(flags.query)
    const output = await resolveOutputFormat(flags.output, profileNames[0])

    // Every profile is resolved before anything is sent, so that a bad one ends the run at once.
    const profiles = []
    for (const profile of profileNames) {
      const options = awsOptionsFrom({...flags, profile}, regions?.[0] ?? flags.region)
      if (flags.profiles !== undefined) options.profileNamedBy = '--profiles'
      const settings = await resolveAwsSettings(options)
      profiles.push({profile: settings.profile, settings})
    }

    const [{runAudit}, {endpointOf, unverifiedTlsWarning}] = await Promise.all([
      import('../lib/audit.js'),
      import('../lib/kms.js'),
    ])
    const debugLog = flags.debug ? (line: string) => process.stderr.write(`[debug] ${line}\n`) : undefined
    for (const {settings} of profiles) debugLog?.(describeSettings(settings))
    const warning = unverifiedTlsWarning(profiles[0].settings, endpointOf(profiles[0].settings))
    if (warning) process.stderr.write(`${warning}\n`)

    const report = await runAudit({
      profiles,
      regions: flags['all-regions'] ? 'all' : regions,
      purposes,
      failOn: flags['fail-on'],
      endpointFlag: flags['endpoint-url'],
      debugLog,
    })

    const text = formatAuditReport(report, output, query, colourFor(process.stdout, process.env, flags.color))
    const pager = pagerFor({
      noCliPager: flags['no-cli-pager'],
      profilePager: (await cliProfileSettings(profiles[0].profile)).cliPager,
      stdoutIsTerminal: process.stdout.isTTY === true,
    })
    if (pager && text !== '') await writeThroughPager(text, pager)
    else process.stdout.write(text)
    // A scheduled job's log keeps stderr; a person at a terminal has just read the line in the report.
    const machine = output !== undefined || query !== undefined
    if (machine || !process.stdout.isTTY) process.stderr.write(`${report.summary}\n`)
    process.exitCode = AUDIT_OUTCOMES[report.outcome].exitCode
  }

  /** Every complaint of the flag parser is a usage error, told in one line. */
  private async parseFlags() {
    try {
      const {flags} = await this.parse(Audit)
      return flags
    } catch (error) {
      throw parseFailure(error, 'audit')
    }
  }

  async catch(error: Error): Promise<void> {
    endWithFailure(error, this.argv)
  }
}
