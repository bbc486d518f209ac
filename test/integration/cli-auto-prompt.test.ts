/**
 * --cli-auto-prompt and AWS_CLI_AUTO_PROMPT through the built CLI against moto: on a
 * pseudo-terminal the alias and the key are picked from the account's; elsewhere nothing is asked.
 */
import {describe, expect, it} from 'vitest'

import {cliEnvironment, linesOf, runCli, runOnTerminalTyping} from '../support/cli.js'
import {useMoto} from '../support/moto-per-test.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'

const {motoUrl, kms} = useMoto()
const OTHER_ALIAS = 'alias/payments'

function escaped(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** The highlighted entry is `value`, and the list has been narrowed to `typed` (offered last, as typed). */
function narrowedTo(value: string, typed: string): RegExp {
  return new RegExp(`❯ ${escaped(value)}[^\\n]*\\n\\s+${escaped(typed)}\\s*\\n`)
}

describe('auto-prompt on a terminal', () => {
  it('in on-partial mode asks for both when none is given; typing part of a name and Enter picks it', async () => {
    // given ALIAS on one key, OTHER_ALIAS on another, and a third key
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const otherKey = await kms.createKey(SYMMETRIC)
    await kms.createAlias(OTHER_ALIAS, otherKey.KeyId)
    const keyPrefix = given.targetKeyId.slice(0, 8)

    // when the alias and the key are picked by typing part of each
    const run = await runOnTerminalTyping(
      ['update-alias', '--endpoint-url', motoUrl, '--yes'],
      [
        {after: /Alias to move[^]*alias\/payments/, keys: 'paym'},
        {after: narrowedTo(OTHER_ALIAS, 'paym'), keys: '\r'},
        {after: new RegExp(`Key for alias/payments to point at[^]*${given.targetKeyId}`), keys: keyPrefix},
        {after: narrowedTo(given.targetKeyId, keyPrefix), keys: '\r'},
      ],
      {...cliEnvironment(), AWS_CLI_AUTO_PROMPT: 'on-partial'},
    )

    // then the picked alias moved to the picked key, and the other alias stayed
    expect(run.exitCode).toBe(0)
    expect(run.text).toContain(`✔ Alias to move ${OTHER_ALIAS}`)
    expect(run.text).toContain(`✔ Key for ${OTHER_ALIAS} to point at ${given.targetKeyId}`)
    expect(run.text).toMatch(/^rotated +alias\/payments now points at /m)
    expect(await kms.aliasTarget(OTHER_ALIAS)).toBe(given.targetKeyId)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
    // moto has AWS managed aliases; only the account's own were offered
    expect(run.text).toMatch(/^❯ alias\/app\r?$/m)
    expect(run.text).not.toMatch(/^\s*(❯ )?alias\/aws\//m)
  })

  it('with --cli-auto-prompt asks even for given arguments, offering them first for Enter to keep', async () => {
    // given an alias that sorts before the one given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    await kms.createAlias('alias/aaa', given.targetKeyId)

    // when Enter is pressed at each prompt
    const run = await runOnTerminalTyping(
      ['update-alias', '--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', motoUrl, '--yes',
        '--cli-auto-prompt'],
      [
        {after: `❯ ${ALIAS}`, keys: '\r'},
        {after: `❯ ${given.targetKeyId}`, keys: '\r'},
      ],
    )

    // then both were asked, and the given ones were used
    expect(run.exitCode).toBe(0)
    expect(run.text).toContain(`✔ Alias to move ${ALIAS}`)
    expect(run.text).toContain(`✔ Key for ${ALIAS} to point at ${given.targetKeyId}`)
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
    expect(await kms.aliasTarget('alias/aaa')).toBe(given.targetKeyId)
  })

  it('ends with exit 130 and one line, changing nothing, on Ctrl-C at the prompt', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when Ctrl-C is typed once the aliases are listed
    const run = await runOnTerminalTyping(
      ['update-alias', '--endpoint-url', motoUrl, '--yes', '--cli-auto-prompt'],
      [{after: /Alias to move[^]*alias\/app/, keys: '\u0003'}],
    )

    // then
    expect(run.exitCode).toBe(130)
    expect(run.text).toContain('Stopped at the prompt: nothing was changed.')
    expect(run.text).not.toContain('Key for')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })

  it('in on-partial mode asks nothing when the command line is complete', async () => {
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const run = await runOnTerminalTyping(
      ['update-alias', '--alias-name', ALIAS, '--target-key-id', given.target, '--endpoint-url', motoUrl, '--yes'],
      [],
      {...cliEnvironment(), AWS_CLI_AUTO_PROMPT: 'on-partial'},
    )
    expect(run.exitCode).toBe(0)
    expect(run.text).not.toContain('Alias to move')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.targetKeyId)
  })

  it('with --no-cli-auto-prompt never asks, whatever AWS_CLI_AUTO_PROMPT says: a missing flag is exit 252', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when no key is typed, so a prompt would wait until the run is killed
    const run = await runOnTerminalTyping(
      ['update-alias', '--alias-name', ALIAS, '--endpoint-url', motoUrl, '--yes', '--no-cli-auto-prompt'],
      [],
      {...cliEnvironment(), AWS_CLI_AUTO_PROMPT: 'on'},
    )

    // then
    expect(run.exitCode).toBe(252)
    expect(run.text).toContain('The following arguments are required: --target-key-id')
    expect(run.text).not.toContain('Key for')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})

describe('auto-prompt off a terminal', () => {
  it('never asks: a missing flag is one line and exit 252, with nothing listed', async () => {
    // given
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

    // when stdin and stdout are not terminals
    const run = await runCli(['update-alias', '--alias-name', ALIAS, '--endpoint-url', motoUrl, '--cli-auto-prompt'], {
      ...cliEnvironment(),
      AWS_CLI_AUTO_PROMPT: 'on',
    })

    // then
    expect(run.exitCode).toBe(252)
    expect(linesOf(run.stderr)).toHaveLength(1)
    expect(run.stderr).toMatch(/^The following arguments are required: --target-key-id /)
    expect(run.stdout).toBe('')
    expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
  })
})
