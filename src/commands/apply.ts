import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'

import {endWithFailure, parseFailure} from '../lib/command-errors.js'
import {FLEET_FLAGS} from './plan.js'
import UpdateAlias from './update-alias.js'

const shared = UpdateAlias.flags

export default class Apply extends Command {
  static summary = 'Move every alias of a rotation file to its new key, paced under the KMS request quotas.'

  static description = `Runs the plan, asks on a terminal unless --yes, then for each entry that passed: \
UpdateAlias, the ListAliases visibility poll and the canary, as update-alias does. Requests are paced per \
account and Region (see --rate); different accounts and Regions run side by side. Every entry gets a journal \
line, with the run's id and the file, so that rollback can undo any of them and --resume can skip those already \
moved. Ctrl-C sends no new UpdateAlias, lets those on their way finish, prints the report and exits 130. Exit 0 \
when every entry rotated or was unchanged; 6 (partial) when some did and some did not, with one stderr line per \
failed entry; otherwise the entries' common outcome (3 when all were refused).`

  static examples = [
    {
      description: 'Apply a rotation file, confirming on the terminal:',
      command: '<%= config.bin %> <%= command.id %> -f rotations.yaml',
    },
    {
      description: 'In a pipeline, at most 2 UpdateAlias per second, stopping at the first failure:',
      command: '<%= config.bin %> <%= command.id %> -f rotations.yaml --yes --rate UpdateAlias=2 --fail-fast --output json',
    },
    {
      description: 'Carry on after a run was cut off:',
      command: '<%= config.bin %> <%= command.id %> -f rotations.yaml --yes --resume',
    },
  ]

  static flags = {
    ...FLEET_FLAGS,
    yes: shared.yes,
    journal: shared.journal,
    'wait-timeout': shared['wait-timeout'],
    canary: shared.canary,
    'no-paginate': shared['no-paginate'],
    resume: Flags.boolean({
      default: false,
      summary: 'Skip entries the journal shows already moved to their target; each is still checked.',
    }),
    'fail-fast': Flags.boolean({
      default: false,
      summary: 'Send no further UpdateAlias once an entry has failed; by default the others carry on.',
    }),
  }

  async run(): Promise<void> {
    let flags
    try {
      flags = (await this.parse(Apply)).flags
    } catch (error) {
      throw parseFailure(error, 'apply')
    }

    // The settings, the SDK and the renderers load only once the flags parse.
    const {runFleetCommand} = await import('../lib/fleet-command.js')
    await runFleetCommand('apply', flags)
  }

  async catch(error: Error): Promise<void> {
    endWithFailure(error, this.argv)
  }
}
