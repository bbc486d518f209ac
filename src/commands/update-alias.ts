import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'

import {CHECK_IDS, CHECKS} from '../lib/checks.js'
import {
  checkOperationInput,
  operationInput,
  rejectSwitchValues,
  withLastValues,
  withSkeletonValue,
} from '../lib/cli-input.js'
import {endWithFailure, parseFailure} from '../lib/command-errors.js'
import {COLOR_MODES, OUTPUT_FORMATS, PREFLIGHT_MODES, SKELETON_KINDS} from '../lib/formats.js'
import {parseExpectedCurrentKey, parseTargetKeyId, validateAliasName} from '../lib/identifiers.js'
import {Journal, JOURNAL_VARIABLE, journalEntry, journalPath} from '../lib/journal.js'
import {exitCodeTable, OUTCOMES} from '../lib/outcomes.js'
import {versionLine} from '../lib/version.js'

/**
 * What a run needs beyond its flags: loaded only once the flags parse, so that --help and a
 * usage error never load the renderers, the YAML parser or the config file reader.
 */
async function runModules() {
  const [autoPrompt, awsConfig, output, render, rotationRun, terminal] = await Promise.all([
    import('../lib/auto-prompt.js'),
    import('../lib/aws-config.js'),
    import('../lib/output.js'),
    import('../lib/render.js'),
    import('../lib/rotation-run.js'),
    import('../lib/terminal.js'),
  ])
  return {...autoPrompt, ...awsConfig, ...output, ...render, ...rotationRun, ...terminal}
}

/** The help section for the options that work as in `aws kms update-alias`. */
const AWS_CLI = 'AWS CLI'

const OUTCOME_WIDTH = Math.max(...Object.keys(OUTCOMES).map((outcome) => outcome.length))

/** Node's timers hold at most 2^31 - 1 ms; a longer timeout would fire at once. */
const MAX_TIMEOUT_SECONDS = 2_147_483

function helpTable(rows: string[][]): string {
  const width = Math.max(...rows.map((row) => row[0].length))
  return rows.map(([first, ...rest]) => `  ${first.padEnd(width)}  ${rest.join('  ')}`).join('\n')
}

export default class UpdateAlias extends Command {
  static summary = 'Move a KMS alias to a new key, after checking that the key can take its place.'

  static description = `Runs every preflight check (DescribeKey, GetKeyPolicy and ListGrants on the alias's key and \
on the new key, ListAliases of the new key), calls UpdateAlias, then polls ListAliases until the alias is seen \
on the new key. Then, unless --no-canary, it encrypts, signs or MACs once through the alias and checks that \
the new key answered; if not, it moves the alias back to the old key. On a terminal it shows the plan and asks before changing anything; elsewhere it never prompts.

Checks, each reported as pass, fail, warn or skip; a check fails when:
${helpTable(CHECK_IDS.map((id) => [id, CHECKS[id]]))}

Exit codes:
${helpTable(exitCodeTable().map((row) => [String(row.exitCode), row.outcome.padEnd(OUTCOME_WIDTH), row.meaning]))}`

  static examples = [
    {
      description: 'Rotate, confirming on the terminal:',
      command: '<%= config.bin %> <%= command.id %> --alias-name alias/app --target-key-id 1234abcd-12ab-34cd-56ef-1234567890ab',
    },
    {
      description: 'Check without changing anything:',
      command: '<%= config.bin %> <%= command.id %> --alias-name alias/app --target-key-id 1234abcd-12ab-34cd-56ef-1234567890ab --dry-run',
    },
    {
      description: 'In a runbook: no prompt, a JSON report, the outcome picked out with jq:',
      command:
        '<%= config.bin %> <%= command.id %> --alias-name alias/app --target-key-id "$NEW_KEY_ARN" --yes --output json | jq -r .outcome',
    },
  ]

  static flags = {
    'alias-name': Flags.string({
      summary: 'Required. The alias to move, as alias/NAME.',
    }),
    'target-key-id': Flags.string({
      summary: 'Required. The key the alias should point to: key id, multi-Region key id (mrk-…) or ARN.',
    }),
    region: Flags.string({
      summary: 'The Region; else AWS_REGION, AWS_DEFAULT_REGION, then the profile.',
      helpGroup: AWS_CLI,
    }),
    profile: Flags.string({
      summary: 'A named profile from ~/.aws/config or ~/.aws/credentials; else AWS_PROFILE.',
      helpGroup: AWS_CLI,
    }),
    'endpoint-url': Flags.string({
      summary: 'Send requests to this URL; else AWS_ENDPOINT_URL_KMS, then AWS_ENDPOINT_URL.',
      helpGroup: AWS_CLI,
    }),
    'dry-run': Flags.boolean({
      default: false,
      summary: 'Run every check and print the plan; change nothing.',
    }),
    'allow-key-spec-change': Flags.boolean({
      default: false,
      summary: 'Accept a new key of the same family with another KeySpec (RSA_2048 to RSA_4096).',
    }),
    'wait-timeout': Flags.integer({
      summary: 'Seconds to wait for the new target to show in ListAliases; 0 does not wait.',
      default: 120,
      min: 0,
      max: 86_400,
    }),
    yes: Flags.boolean({
      default: false,
      char: 'y',
      summary: 'Do not ask for confirmation on a terminal.',
    }),
    output: Flags.option({
      options: OUTPUT_FORMATS,
      summary:
        'A machine report in this format instead of the human one; else AWS_DEFAULT_OUTPUT, then the ' +
        "profile's output. off prints nothing.",
      helpGroup: AWS_CLI,
    })(),
    'expected-current-key': Flags.string({
      summary: 'Move the alias only if it still points at this key (id or ARN) just before UpdateAlias.',
    }),
    'acknowledge-verify-break': Flags.boolean({
      default: false,
      summary: 'Move an asymmetric or HMAC key\'s alias although old signatures, MACs or ciphertext break.',
    }),
    'allow-access-loss': Flags.boolean({
      default: false,
      summary: 'Accept a new key that principals allowed to use the current key may not use.',
    }),
    preflight: Flags.option({
      options: PREFLIGHT_MODES,
      default: 'full' as const,
      summary:
        'full reads both keys, their policies and grants, and the new key\'s aliases; basic only DescribeKey on ' +
        'both, skipping alias-quota, access-parity and alias-abac and leaving the caller identity unread.',
    })(),
    canary: Flags.boolean({
      default: true,
      allowNo: true,
      summary:
        'Once the alias is seen on the new key, encrypt, sign or MAC once through it; if that fails, move it back. ' +
        'On by default.',
    }),
    journal: Flags.string({
      summary: `Append the run's record to this file; else ${JOURNAL_VARIABLE}, else the XDG state directory.`,
    }),
    regions: Flags.string({
      summary: 'Rotate the alias in each of these Regions (r1,r2), one by one, between replicas of mrk- keys.',
      exclusive: ['region'],
    }),
    help: Flags.help({char: 'h'}),
    debug: Flags.boolean({
      default: false,
      summary: 'Show the settings, each HTTP attempt and API call, and any stack trace, on stderr.',
      helpGroup: AWS_CLI,
    }),
    'cli-input-json': Flags.string({
      summary: 'AliasName and TargetKeyId as a JSON object, or file://PATH; flags given win over it.',
      exclusive: ['cli-input-yaml'],
      helpGroup: AWS_CLI,
    }),
    'cli-input-yaml': Flags.string({
      summary: 'AliasName and TargetKeyId as a YAML mapping, or file://PATH; flags given win over it.',
      exclusive: ['cli-input-json'],
      helpGroup: AWS_CLI,
    }),
    'generate-cli-skeleton': Flags.option({
      options: SKELETON_KINDS,
      summary:
        'Send nothing; print an input for --cli-input-json (input, the default) or --cli-input-yaml ' +
        '(yaml-input), or a sample report (output).',
      helpGroup: AWS_CLI,
    })(),
    query: Flags.string({
      summary: 'A JMESPath expression applied to the report; the result is JSON unless --output says else.',
      helpGroup: AWS_CLI,
    }),
    color: Flags.option({
      options: COLOR_MODES,
      default: 'auto' as const,
      summary: 'Colour: auto on a terminal unless NO_COLOR is set; on even in a pipe; off never.',
      helpGroup: AWS_CLI,
    })(),
    'no-cli-pager': Flags.boolean({
      default: false,
      summary: 'Print straight to stdout, not through AWS_PAGER or the profile\'s cli_pager.',
      helpGroup: AWS_CLI,
    }),
    'cli-auto-prompt': Flags.boolean({
      allowNo: true,
      summary: 'Ask on a terminal for the alias and key, listing the account\'s; else AWS_CLI_AUTO_PROMPT.',
      helpGroup: AWS_CLI,
    }),
    version: Flags.boolean({
      default: false,
      summary: 'Print the version of kms-rotate, Node.js and the OS, and exit.',
      helpGroup: AWS_CLI,
    }),
    'no-verify-ssl': Flags.boolean({
      default: false,
      summary: 'Do not verify the endpoint\'s TLS certificate (a warning says so).',
      helpGroup: AWS_CLI,
    }),
    'ca-bundle': Flags.string({
      summary: 'Trust the certificates in this PEM file; else AWS_CA_BUNDLE, then the profile\'s ca_bundle.',
      helpGroup: AWS_CLI,
    }),
    'cli-connect-timeout': Flags.integer({
      summary: 'Seconds to wait for a connection (default 60); 0 waits forever.',
      min: 0,
      max: MAX_TIMEOUT_SECONDS,
      helpGroup: AWS_CLI,
    }),
    'cli-read-timeout': Flags.integer({
      summary: 'Seconds to wait for each answer (default 60); 0 waits forever.',
      min: 0,
      max: MAX_TIMEOUT_SECONDS,
      helpGroup: AWS_CLI,
    }),
    'no-sign-request': Flags.boolean({
      default: false,
      summary: 'Send requests unsigned and load no credentials.',
      helpGroup: AWS_CLI,
    }),
    'no-paginate': Flags.boolean({
      default: false,
      summary: 'Read one ListAliases page per poll; say so when the alias is not on it.',
      helpGroup: AWS_CLI,
    }),
    'cli-binary-format': Flags.option({
      options: ['base64', 'raw-in-base64-out'] as const,
      summary: 'Accepted for compatibility; UpdateAlias has no binary input for it to change.',
      helpGroup: AWS_CLI,
    })(),
  }

  async run(): Promise<void> {
    const flags = await this.parseFlags()
    // bin/run.js answers --version before this; this serves other ways of running the command.
    if (flags.version) {
      process.stdout.write(`${versionLine()}\n`)
      return
    }

    const {
      autoPromptMode,
      awsOptionsFrom,
      canPrompt,
      cliProfileSettings,
      colourFor,
      entryFacts,
      formatReport,
      interruptOnSigint,
      machineFormat,
      promptForMissing,
      queryFrom,
      resolveAwsSettings,
      resolveOutputFormat,
      rotationHooks,
      rotationOptions,
      runRotation,
      searchOnTerminal,
      showReport,
      unrecordedRun,
    } = await runModules()
    const query = await queryFrom(flags.query)
    const skeleton = flags['generate-cli-skeleton']
    if (skeleton === 'input' || skeleton === 'yaml-input') {
      // The skeletons build a YAML document: only a run that asks for one loads them.
      const {inputSkeleton} = await import('../lib/skeleton.js')
      process.stdout.write(inputSkeleton(skeleton))
      return
    }

    // The flags merged with --cli-input-json or --cli-input-yaml; either value may still be
    // missing, for the prompt to ask. What was given is checked before anything is sent.
    const input = await operationInput(flags)
    if (input.aliasName !== undefined) validateAliasName(input.aliasName, input.sources?.aliasName)
    if (input.targetKeyId !== undefined) parseTargetKeyId(input.targetKeyId, input.sources?.targetKeyId)
    const expected = flags['expected-current-key']
    const expectedCurrentKey = expected === undefined ? undefined : parseExpectedCurrentKey(expected)
    const multiRegion = flags.regions === undefined ? undefined : await import('../lib/multi-region.js')
    const regions = multiRegion?.parseRegions(flags.regions as string)
    if (multiRegion) {
      // No prompt for the alias or key: a list from one Region would not show what the others hold.
      multiRegion.checkMultiRegionKey('--target-key-id', checkOperationInput(input).target)
      if (expectedCurrentKey) multiRegion.checkMultiRegionKey('--expected-current-key', expectedCurrentKey)
    }

    const output = await resolveOutputFormat(flags.output, flags.profile)
    if (skeleton === 'output') {
      // A sample of what a run prints, in the format asked for; JSON in place of the human report.
      const {placeholderReport} = await import('../lib/skeleton.js')
      const sample = placeholderReport(checkOperationInput(input).aliasName)
      process.stdout.write(formatReport(sample, output ?? 'json', query, colourFor(process.stdout)))
      return
    }

    const settings = await resolveAwsSettings(awsOptionsFrom(flags, regions?.[0] ?? flags.region))
    const profileSettings = await cliProfileSettings(settings.profile)
    const promptMode = autoPromptMode({
      flag: flags['cli-auto-prompt'],
      argv: this.argv,
      profileSetting: profileSettings.cliAutoPrompt,
      terminal: canPrompt(),
    })
    // With nothing to ask, a missing argument is a usage error before any client exists.
    if (promptMode === 'off') checkOperationInput(input)
    if (multiRegion && regions) {
      const {aliasName, target} = checkOperationInput(input)
      // Before any client exists: a run that cannot be recorded changes nothing.
      const journal = await Journal.open(journalPath(flags.journal))
      const {callerIdentity, NOT_ASKED_IN_BASIC_PREFLIGHT, unknownIdentity} = await import('../lib/identity.js')
      const debugLog = flags.debug ? (line: string) => process.stderr.write(`[debug] ${line}\n`) : undefined
      const interrupt = interruptOnSigint(aliasName)
      const stderrColour = colourFor(process.stderr, process.env, flags.color)
      let report
      // A Region's line that cannot be written stops the Regions after it, as Ctrl-C would: no
      // move goes unrecorded, and the report still says what the Regions before it did.
      let unrecorded: Error | undefined
      try {
        report = await multiRegion.rotateInRegions({
          settings,
          regions,
          request: {...rotationOptions(flags), aliasName, target, expectedCurrentKey},
          hooks: rotationHooks(flags, aliasName, stderrColour, interrupt),
          debugLog,
          // One journal line per Region, as a run in that Region alone would write.
          async onRegionEnd(region, result, kms) {
            const identity =
              flags.preflight === 'basic'
                ? unknownIdentity(NOT_ASKED_IN_BASIC_PREFLIGHT)
                : await callerIdentity({...settings, region}, flags['endpoint-url'], {debugLog})
            const facts = entryFacts('update-alias', region, aliasName, flags, identity, kms)
            const line = journalEntry(facts, 'error' in result ? result : {report: result})
            await journal.append(line).catch((failure: Error) => {
              unrecorded ??= failure
              interrupt.controller.abort(failure)
            })
          },
        })
      } finally {
        interrupt.release()
        await journal.close().catch(() => undefined)
      }

      const colour = colourFor(process.stdout, process.env, flags.color)
      const text = multiRegion.formatMultiRegionReport(report, output, query, colour)
      await showReport(text, report, {
        noCliPager: flags['no-cli-pager'],
        profilePager: profileSettings.cliPager,
        machine: machineFormat(output, query) !== undefined,
      })
      if (unrecorded) throw unrecordedRun(unrecorded, report)
      return
    }

    await runRotation({
      command: 'update-alias',
      settings,
      profileSettings,
      flags,
      output,
      query,
      journal: journalPath(flags.journal),
      async prepare(kms, stderrColour) {
        const answered = await promptForMissing(input, kms, promptMode, searchOnTerminal(stderrColour))
        const {aliasName, target} = checkOperationInput({...input, ...answered})
        return {...rotationOptions(flags), aliasName, target, region: settings.region, expectedCurrentKey}
      },
    })
  }

  /** Every complaint of the flag parser is a usage error, told in one line. */
  private async parseFlags() {
    try {
      const flagsOfType = (type: string) =>
        new Set(Object.entries(UpdateAlias.flags).filter(([, flag]) => flag.type === type).map(([name]) => name))
      rejectSwitchValues(this.argv, flagsOfType('boolean'))
      const valueFlags = flagsOfType('option')
      const {flags} = await this.parse(UpdateAlias, withLastValues(withSkeletonValue(this.argv), valueFlags))
      return flags
    } catch (error) {
      throw parseFailure(error, 'update-alias')
    }
  }

  async catch(error: Error): Promise<void> {
    endWithFailure(error, this.argv)
  }
}

const CONNECTION_FLAG_NAMES = [
  'help',
  'region',
  'profile',
  'endpoint-url',
  'output',
  'query',
  'debug',
  'color',
  'no-cli-pager',
  'no-verify-ssl',
  'ca-bundle',
  'cli-connect-timeout',
  'cli-read-timeout',
] as const

/** How to reach KMS and how to show the result: the flags every other command takes as they are here. */
export const CONNECTION_FLAGS = Object.fromEntries(
  CONNECTION_FLAG_NAMES.map((name) => [name, UpdateAlias.flags[name]]),
) as Pick<typeof UpdateAlias.flags, (typeof CONNECTION_FLAG_NAMES)[number]>
