import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'

import {endWithFailure, parseFailure} from '../lib/command-errors.js'
import {parseExpectedCurrentKey, parseTargetKeyId, validateAliasName} from '../lib/identifiers.js'
import {journalPath, readJournal, rotationToUndo} from '../lib/journal.js'
import UpdateAlias, {CONNECTION_FLAGS} from './update-alias.js'

const shared = UpdateAlias.flags

export default class Rollback extends Command {
  static summary = "Move a KMS alias back to the key it left, as the journal recorded the move."

  static description = `Finds in the journal the latest run of update-alias or rollback that moved the alias in \
this Region (outcome rotated, submitted or unconfirmed), and moves the alias back from that run's new key to \
its old key: the same preflight checks, prompt, UpdateAlias and ListAliases poll as update-alias, with \
--expected-current-key set to the key the run moved the alias to, so that a later move by anyone else is \
never undone. The report, outcomes and exit codes are update-alias's; the rollback is journaled too. \
With no such run in the journal it sends nothing and exits 252.`

  static examples = [
    {
      description: 'Undo the latest rotation of alias/app, confirming on the terminal:',
      command: '<%= config.bin %> <%= command.id %> --alias-name alias/app',
    },
    {
      description: 'See what undoing the rotation before it would do, changing nothing:',
      command: '<%= config.bin %> <%= command.id %> --alias-name alias/app --journal-entry 2 --dry-run',
    },
    {
      description: 'In a runbook, with the journal of the runbook that rotated:',
      command: '<%= config.bin %> <%= command.id %> --alias-name alias/app --journal ./rotations.jsonl --yes --output json',
    },
  ]

  static flags = {
    'alias-name': Flags.string({required: true, summary: 'The alias to move back, as alias/NAME.'}),
    'journal-entry': Flags.integer({
      default: 1,
      min: 1,
      summary: "Which of the alias's recorded moves to undo, counted back from the latest (1).",
    }),
    journal: shared.journal,
    'dry-run': shared['dry-run'],
    yes: shared.yes,
    'wait-timeout': shared['wait-timeout'],
    'allow-key-spec-change': shared['allow-key-spec-change'],
    'acknowledge-verify-break': shared['acknowledge-verify-break'],
    'allow-access-loss': shared['allow-access-loss'],
    canary: shared.canary,
    ...CONNECTION_FLAGS,
  }

  async run(): Promise<void> {
    const flags = await this.parseFlags()
    const aliasName = flags['alias-name']
    validateAliasName(aliasName)
    // Loaded once the flags parse, so that --help never loads them.
    const [{cliProfileSettings, resolveAwsSettings}, {queryFrom, resolveOutputFormat}, rotationRun] = await Promise.all([
      import('../lib/aws-config.js'),
      import('../lib/output.js'),
      import('../lib/rotation-run.js'),
    ])
    const {awsOptionsFrom, rotationOptions, runRotation} = rotationRun
    const query = await queryFrom(flags.query)
    const output = await resolveOutputFormat(flags.output, flags.profile)
    const settings = await resolveAwsSettings(awsOptionsFrom(flags))
    const journal = journalPath(flags.journal)
    // Read before anything is sent: with nothing to undo, the run ends here.
    const {line, entry} = rotationToUndo(
      await readJournal(journal.path, (line) => process.stderr.write(`${line}\n`)),
      {alias: aliasName, region: settings.region, path: journal.path},
      flags['journal-entry'],
    )

    await runRotation({
      command: 'rollback',
      settings,
      profileSettings: await cliProfileSettings(settings.profile),
      flags,
      output,
      query,
      journal,
      rollbackOf: line,
      async prepare() {
        return {
          aliasName,
          target: parseTargetKeyId((entry.from.arn ?? entry.from.keyId) as string, `journal line ${line}`),
          expectedCurrentKey: parseExpectedCurrentKey((entry.to.arn ?? entry.to.keyId) as string),
          region: settings.region,
          ...rotationOptions(flags),
        }
      },
    })
  }

  /** Every complaint of the flag parser is a usage error, told in one line. */
  private async parseFlags() {
    try {
      const {flags} = await this.parse(Rollback)
      return flags
    } catch (error) {
      throw parseFailure(error, 'rollback')
    }
  }

  async catch(error: Error): Promise<void> {
    endWithFailure(error, this.argv)
  }
}
