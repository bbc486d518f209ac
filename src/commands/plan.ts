import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'

import {endWithFailure, parseFailure} from '../lib/command-errors.js'
import {KMS_QUOTAS, RATE_NAMES} from '../lib/pacing.js'
import {MAX_ROTATION_ENTRIES} from '../lib/rotation-file.js'
import UpdateAlias, {CONNECTION_FLAGS} from './update-alias.js'

const shared = UpdateAlias.flags

/** The flags of plan, which apply has too: the file, pacing, the checks' options and the connection. */
export const FLEET_FLAGS = {
  file: Flags.string({
    char: 'f',
    required: true,
    summary:
      'The rotation file: a rotations list of {alias, target, region?, profile?, expectedCurrent?}, YAML or JSON, ' +
      `at most ${MAX_ROTATION_ENTRIES.toLocaleString('en-US')} entries (split a longer list into several files).`,
  }),
  rate: Flags.string({
    multiple: true,
    summary:
      `Requests per second per account and Region, as NAME=N (repeatable); NAME is one of ${RATE_NAMES.join(', ')}. ` +
      `Defaults: the KMS quotas (${RATE_NAMES.map((name) => `${name}=${KMS_QUOTAS[name]}`).join(', ')}).`,
  }),
  'allow-key-spec-change': shared['allow-key-spec-change'],
  'acknowledge-verify-break': shared['acknowledge-verify-break'],
  'allow-access-loss': shared['allow-access-loss'],
  ...CONNECTION_FLAGS,
  'no-sign-request': shared['no-sign-request'],
}

export default class Plan extends Command {
  static summary = 'Check every rotation of a rotation file, as update-alias --dry-run would, and change nothing.'

  static description = `Reads the rotation file, refuses it whole (exit 252, nothing sent) if an entry is malformed, \
has an unknown field or repeats an alias for the same Region and profile, then runs every entry's preflight at \
once, paced per account and Region under the KMS request quotas. Prints one row per entry and the totals. Sends \
no UpdateAlias and writes no journal line. Exit 0 when every entry would rotate or is already on its target, 3 \
when any would be refused or failed, 130 on Ctrl-C.`

  static examples = [
    {
      description: 'See what a rotation file would do:',
      command: '<%= config.bin %> <%= command.id %> -f rotations.yaml',
    },
    {
      description: 'The entries that would be refused, by alias:',
      command: `<%= config.bin %> <%= command.id %> -f rotations.yaml --query "entries[?outcome!='planned'].alias"`,
    },
  ]

  static flags = FLEET_FLAGS

  async run(): Promise<void> {
    let flags
    try {
      flags = (await this.parse(Plan)).flags
    } catch (error) {
      throw parseFailure(error, 'plan')
    }

    // The settings, the SDK and the renderers load only once the flags parse.
    const {runFleetCommand} = await import('../lib/fleet-command.js')
    await runFleetCommand('plan', flags)
  }

  async catch(error: Error): Promise<void> {
    endWithFailure(error, this.argv)
  }
}
