/**
 * `aws kms update-alias` and `kms-rotate update-alias` side by side, on the same moto server and
 * in the same environment, so that a runbook can swap one command name for the other.
 *
 * The `aws` on PATH is the AWS CLI version 1. Where it differs from what version 2 documents,
 * kms-rotate follows version 2 and these tests assert only what both versions agree on:
 * - a command line that does not parse (an unknown option, a missing argument) exits 252 in
 *   version 2; version 1 exits 2 or 255. Both exit non-zero and name the option.
 * - a bad --query exits 252 in version 2 and 255 in version 1.
 * - an error answer from AWS exits 254 in version 2 and 255 in version 1.
 * - --cli-input-yaml and --generate-cli-skeleton yaml-input exist only in version 2.
 */
import {spawn, spawnSync} from 'node:child_process'

import {describe, expect, it} from 'vitest'

import {cliEnvironment, linesOf, runCli, type CliResult} from '../support/cli.js'
import {TEST_REGION} from '../support/moto.js'
import {useMoto} from '../support/moto-per-test.js'
import {parseJsonReport} from '../support/report-schema.js'
import {aliasAndTarget, ALIAS, SYMMETRIC} from '../support/scenarios.js'

const awsOnPath = spawnSync('aws', ['--version'], {stdio: 'ignore'}).status === 0
const {motoUrl, kms} = useMoto()

const AWS_ERROR_LINE = /^An error occurred \((\w+)\) when calling the (\w+) operation: (.*)$/

/**
 * One environment for both tools: fake credentials, the Region in AWS_DEFAULT_REGION (which is
 * all that the AWS CLI version 1 reads), no instance metadata, and empty config files.
 */
function sharedEnvironment(): NodeJS.ProcessEnv {
  return {...cliEnvironment({region: false}), AWS_DEFAULT_REGION: TEST_REGION}
}

function runAws(args: string[]): Promise<CliResult> {
  const child = spawn('aws', ['kms', 'update-alias', ...args, '--endpoint-url', motoUrl], {
    env: sharedEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (exitCode) => resolve({exitCode, stdout, stderr}))
  })
}

function runKmsRotate(args: string[]): Promise<CliResult> {
  return runCli(['update-alias', ...args, '--endpoint-url', motoUrl, '--yes'], sharedEnvironment())
}

describe.skipIf(!awsOnPath)('kms-rotate update-alias next to aws kms update-alias', () => {
  it('the same --cli-input-json moves the alias with both, and both exit 0', async () => {
    // given an alias and two keys it may move to
    const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)
    const other = await kms.createKey(SYMMETRIC)
    const document = (target: string) => JSON.stringify({AliasName: ALIAS, TargetKeyId: target})

    // when the AWS CLI moves it to one key, and kms-rotate to the other
    const aws = await runAws(['--cli-input-json', document(given.target)])
    const seenAfterAws = await kms.aliasTarget(ALIAS)
    const kmsRotate = await runKmsRotate(['--cli-input-json', document(other.KeyId)])

    // then each moved it, with the same exit code
    expect(aws.exitCode).toBe(0)
    expect(seenAfterAws).toBe(given.targetKeyId)
    expect(kmsRotate.exitCode).toBe(aws.exitCode)
    expect(await kms.aliasTarget(ALIAS)).toBe(other.KeyId)
  })

  it.each([[['--generate-cli-skeleton']], [['--generate-cli-skeleton', 'input']]])(
    '%j prints the same skeleton, byte for byte, with the same exit code',
    async (args) => {
      const [aws, kmsRotate] = await Promise.all([runAws(args), runKmsRotate(args)])
      expect(aws.exitCode).toBe(0)
      expect(kmsRotate.exitCode).toBe(aws.exitCode)
      expect(kmsRotate.stdout).toBe(aws.stdout)
    },
  )

  describe('command lines that both refuse, before anything is sent', () => {
    const both = (target: string) => ['--alias-name', ALIAS, '--target-key-id', target]
    const cases = [
      {
        behaviour: 'an unknown option',
        args: (target: string) => [...both(target), '--no-such-option'],
        // Both name the option; the AWS CLI says "Unknown options: --no-such-option".
        mentions: /--no-such-option/,
      },
      {
        behaviour: 'a missing required option',
        args: () => ['--alias-name', ALIAS],
        mentions: /the following arguments are required: --target-key-id/i,
      },
      {
        behaviour: 'a --query that does not parse',
        args: (target: string) => [...both(target), '--query', '['],
        mentions: /Bad value for --query/,
      },
    ]

    it.each(cases)('$behaviour', async ({args, mentions}) => {
      // given an alias that could be moved
      const given = await aliasAndTarget(kms, SYMMETRIC, SYMMETRIC)

      // when each tool is given the same command line
      const aws = await runAws(args(given.target))
      const kmsRotate = await runKmsRotate(args(given.target))

      // then both exit non-zero (252 in kms-rotate, as in version 2), print nothing on stdout
      // and say what is wrong on stderr
      expect(aws.exitCode).not.toBe(0)
      expect(kmsRotate.exitCode).toBe(252)
      for (const run of [aws, kmsRotate]) {
        expect(run.stdout).toBe('')
        expect(run.stderr).toMatch(mentions)
      }

      expect(linesOf(kmsRotate.stderr)).toHaveLength(1)
      // and the alias has not moved
      expect(await kms.aliasTarget(ALIAS)).toBe(given.currentKeyId)
    })
  })

  it('a missing alias: both print the NotFoundException line, and neither changes anything', async () => {
    // given a key and no alias
    const key = await kms.createKey(SYMMETRIC)
    const args = ['--alias-name', 'alias/missing', '--target-key-id', key.KeyId]

    // when each tool is asked to move the alias
    const aws = await runAws(args)
    const kmsRotate = await runKmsRotate([...args, '--output', 'json'])

    // then both print KMS's NotFoundException in the AWS CLI's one-line format
    const awsLine = AWS_ERROR_LINE.exec(linesOf(aws.stderr)[0] ?? '')
    expect(awsLine?.[1]).toBe('NotFoundException')
    const ourLine = AWS_ERROR_LINE.exec(linesOf(kmsRotate.stderr)[0] ?? '')
    expect(ourLine?.[1]).toBe('NotFoundException')
    expect(linesOf(kmsRotate.stderr)).toHaveLength(1)
    // kms-rotate finds it with DescribeKey, before any write; its exit code is the AWS CLI v2's
    // (254; v1 answers 255), and its report carries the same line as the alias-exists check
    expect(ourLine?.[2]).toBe('DescribeKey')
    expect(aws.exitCode).not.toBe(0)
    expect(kmsRotate.exitCode).toBe(254)
    const report = parseJsonReport(kmsRotate.stdout)
    expect(report.outcome).toBe('not-found')
    expect(report.summary).toBe(linesOf(kmsRotate.stderr)[0])
    expect(report.checks).toContainEqual({id: 'alias-exists', status: 'fail', message: report.summary})
    expect(report.apiCalls).not.toHaveProperty('UpdateAlias')
    expect(await kms.aliasTarget('alias/missing')).toBeUndefined()
  })
})
