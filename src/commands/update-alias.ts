import {Command, Errors, Flags} from '@oclif/core'

import {resolveAwsSettings} from '../lib/aws-config.js'
import {CHECK_IDS, CHECKS} from '../lib/checks.js'
import {KmsRotateError, UsageError} from '../lib/errors.js'
import {parseTargetKeyId, validateAliasName} from '../lib/identifiers.js'
import {EXIT, exitCodeTable, OUTCOMES} from '../lib/outcomes.js'
import {colourFor, OUTPUT_FORMATS, outputFormatFromEnvironment, renderHuman, renderMachine} from '../lib/render.js'
import {canPrompt, confirmOnTerminal, interruptOnSigint, pollProgress} from '../lib/terminal.js'

/** The help section for the options that work as in `aws kms update-alias`. */
const AWS_CLI = 'AWS CLI'

function helpTable(rows: string[][]): string {
  const width = Math.max(...rows.map((row) => row[0].length))
  return rows.map(([first, ...rest]) => `  ${first.padEnd(width)}  ${rest.join('  ')}`).join('\n')
}

export default class UpdateAlias extends Command {
  static summary = 'Move a KMS alias to a new key, after checking that the key can take its place.'

  static description = `Runs every preflight check (DescribeKey, GetKeyPolicy and ListGrants on the alias's key and \
on the new key), calls UpdateAlias, \
then polls ListAliases until the alias is seen on the new key. On a terminal it shows the plan and asks \
before changing anything; elsewhere it never prompts.

Checks, each reported as pass, fail, warn or skip; a check fails when:
${helpTable(CHECK_IDS.map((id) => [id, CHECKS[id]]))}

Exit codes:
${helpTable(exitCodeTable().map((row) => [String(row.exitCode), row.outcome.padEnd(11), row.meaning]))}`

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
      summary: 'The alias to move, as alias/NAME.',
      required: true,
    }),
    'target-key-id': Flags.string({
      summary: 'The key the alias should point to: key id, multi-Region key id (mrk-…) or key ARN.',
      required: true,
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
      summary: 'Print a machine report in this format instead of the human one; else AWS_DEFAULT_OUTPUT.',
      helpGroup: AWS_CLI,
    })(),
    'allow-access-loss': Flags.boolean({
      default: false,
      summary: 'Accept a new key that principals allowed to use the current key may not use.',
    }),
    help: Flags.help({char: 'h'}),
    debug: Flags.boolean({
      default: false,
      summary: 'Show each API call and, on failure, the stack trace on stderr.',
      helpGroup: AWS_CLI,
    }),
    'cli-input-json': Flags.string({
      summary: 'AliasName and TargetKeyId as a JSON object, or file://PATH; flags given win.',
      exclusive: ['cli-input-yaml'],
      helpGroup: AWS_CLI,
    }),
    'cli-input-yaml': Flags.string({
      summary: 'AliasName and TargetKeyId as a YAML mapping, or file://PATH; flags given win.',
      exclusive: ['cli-input-json'],
      helpGroup: AWS_CLI,
    }),
    'generate-cli-skeleton': Flags.option({
      options: ['input', 'yaml-input', 'output'] as const,
      summary: 'Print a skeleton of the input (JSON or YAML) or of the report, and send nothing.',
      helpGroup: AWS_CLI,
    })(),
    query: Flags.string({
      summary: 'A JMESPath expression applied to the report before it is printed.',
      helpGroup: AWS_CLI,
    }),
    color: Flags.option({
      options: ['on', 'off', 'auto'] as const,
      default: 'auto' as const,
      summary: 'Colour: auto uses it on a terminal only; NO_COLOR turns it off.',
      helpGroup: AWS_CLI,
    })(),
    'no-cli-pager': Flags.boolean({
      default: false,
      summary: 'Do not send the report through AWS_PAGER or the profile\'s cli_pager.',
      helpGroup: AWS_CLI,
    }),
    'cli-auto-prompt': Flags.boolean({
      allowNo: true,
      summary: 'On a terminal, ask for a missing alias or key, offering the account\'s own.',
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
      helpGroup: AWS_CLI,
    }),
    'cli-read-timeout': Flags.integer({
      summary: 'Seconds to wait for each answer (default 60); 0 waits forever.',
      min: 0,
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
    validateAliasName(flags['alias-name'])
    const target = parseTargetKeyId(flags['target-key-id'])
    const output = flags.output ?? outputFormatFromEnvironment()
    const settings = await resolveAwsSettings({
      region: flags.region,
      profile: flags.profile,
      endpointUrl: flags['endpoint-url'],
    })

    const [{createKmsClient, endpointOf, KmsGateway}, {rotateAlias}] = await Promise.all([
      import('../lib/kms.js'),
      import('../lib/rotate.js'),
    ])
    const client = createKmsClient(settings)
    const debugLog = flags.debug ? (line: string) => process.stderr.write(`[debug] ${line}\n`) : undefined
    const kms = new KmsGateway(client, {endpoint: endpointOf(settings), profile: settings.profile}, debugLog)
    const interrupt = interruptOnSigint(flags['alias-name'])
    const colour = colourFor(process.stdout)
    const asks = !flags.yes && !flags['dry-run'] && canPrompt()

    try {
      const report = await rotateAlias(
        kms,
        {
          aliasName: flags['alias-name'],
          target,
          region: settings.region,
          dryRun: flags['dry-run'],
          allowKeySpecChange: flags['allow-key-spec-change'],
          waitTimeoutSeconds: flags['wait-timeout'],
          onePagePerPoll: flags['no-paginate'],
          allowAccessLoss: flags['allow-access-loss'],
        },
        {
          ...pollProgress(flags['alias-name']),
          confirm: asks ? confirmOnTerminal(colourFor(process.stderr), interrupt.controller) : undefined,
          signal: interrupt.controller.signal,
          onUpdateInFlight: interrupt.onUpdateInFlight,
        },
      )

      const {exitCode} = OUTCOMES[report.outcome]
      process.stdout.write(output ? renderMachine(report, output) : renderHuman(report, colour))
      // A runbook's log keeps stderr: it gets the one line that says what went wrong, unless the
      // human report has just shown it on the same terminal.
      if (exitCode !== 0 && (output || !process.stdout.isTTY)) process.stderr.write(`${report.summary}\n`)
      process.exitCode = exitCode
    } finally {
      interrupt.release()
      client.destroy()
    }
  }

  /** Every complaint of the flag parser is a usage error, told in one line. */
  private async parseFlags() {
    try {
      const {flags} = await this.parse(UpdateAlias)
      return flags
    } catch (error) {
      // --help has been shown; oclif ends the run this way.
      if (error instanceof Errors.ExitError) throw error
      // oclif may put the reason on a line of its own, under a heading such as 'Parsing --FLAG'.
      const [heading, ...reasons] = (error as Error).message
        .split('\n')
        .map((line) => line.replaceAll(/\u001B\[[0-9;]*m/g, '').trim())
        .filter((line) => line !== '' && !line.startsWith('See more help'))
      const firstLine = (
        reasons.length === 0
          ? heading
          : /^The following errors? occurred:$/.test(heading)
            ? reasons[0]
            : `${heading}: ${reasons[0]}`
      )
        .replace(/\.$/, '')
        .replace(/\bflag (?!-)([a-z][\w-]*)/, 'flag --$1')
      throw new UsageError(`${firstLine}. See 'kms-rotate update-alias --help'.`)
    }
  }

  async catch(error: Error): Promise<void> {
    if (error instanceof Errors.ExitError) {
      process.exitCode = error.oclif.exit
      return
    }

    const {message, exitCode} = describeFailure(error)
    process.stderr.write(`${message}\n`)
    if (this.argv.includes('--debug') && error.stack) process.stderr.write(`${error.stack}\n`)
    process.exitCode = exitCode
  }
}

/** One line and an exit code for anything that ends the run without a report. */
function describeFailure(error: Error): {message: string; exitCode: number} {
  if (error instanceof KmsRotateError) return {message: error.message, exitCode: error.exitCode}

  return {
    message: `Internal error: ${error.message}. Run again with --debug and report the output.`,
    exitCode: EXIT.other,
  }
}
