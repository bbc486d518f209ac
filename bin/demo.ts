/**
 * `npm run demo`: the built CLI against a local moto server. One rotation that goes through,
 * one that the preflight refuses. Nothing leaves 127.0.0.1.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {cliEnvironment, removeCliHome} from '../test/support/cli.js'
import {MotoKms, REPO_ROOT, startMoto, type MotoServer} from '../test/support/moto.js'

const ALIAS = 'alias/demo-app'

function say(line: string): void {
  process.stdout.write(`\n==> ${line}\n`)
}

function ensureBuilt(): void {
  if (existsSync(join(REPO_ROOT, 'dist', 'commands'))) return
  say('dist/ is missing: building the CLI first (npm run build)')
  const build = spawnSync('npm', ['run', 'build'], {cwd: REPO_ROOT, stdio: 'inherit'})
  if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status ?? build.signal})`)
}

/** Runs `kms-rotate ARGS` on this terminal, so that its report shows as an operator would see it. */
function kmsRotate(args: string[]): Promise<number | null> {
  const env = cliEnvironment()
  for (const name of ['TERM', 'NO_COLOR', 'COLUMNS']) {
    if (process.env[name] !== undefined) env[name] = process.env[name]
  }

  process.stdout.write(`$ kms-rotate ${args.join(' ')}\n`)
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], {cwd: REPO_ROOT, env, stdio: 'inherit'})
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve(code))
  })
}

async function demo(motoUrl: string): Promise<boolean> {
  const kms = new MotoKms(motoUrl)
  try {
    const oldKey = await kms.createKey()
    const newKey = await kms.createKey()
    await kms.createAlias(ALIAS, oldKey.KeyId)
    const updateAlias = (target: string) =>
      kmsRotate(['update-alias', '--alias-name', ALIAS, '--target-key-id', target, '--endpoint-url', motoUrl, '--yes'])

    say(`Moving ${ALIAS} from symmetric key ${oldKey.KeyId} to symmetric key ${newKey.KeyId}`)
    const rotation = await updateAlias(newKey.KeyId)
    const afterRotation = await kms.aliasTarget(ALIAS)
    say(`ListAliases: ${ALIAS} points at ${afterRotation ?? 'nothing'} (exit code ${rotation})`)
    const rotated = rotation === 0 && afterRotation === newKey.KeyId
    if (!rotated) say(`UNEXPECTED: wanted exit 0 and ${ALIAS} on ${newKey.KeyId}`)

    const hmacKey = await kms.createKey({keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC'})
    say(`Trying to move ${ALIAS} to HMAC_256 key ${hmacKey.KeyId}: the preflight should refuse`)
    const refusal = await updateAlias(hmacKey.KeyId)
    const afterRefusal = await kms.aliasTarget(ALIAS)
    const refused = refusal === 3 && afterRefusal === newKey.KeyId
    say(
      refused
        ? `Exit 3 (refused) was expected: a symmetric alias cannot move to an HMAC key. ${ALIAS} still points at ${afterRefusal}`
        : `UNEXPECTED: wanted exit 3 with ${ALIAS} still on ${newKey.KeyId}; got exit ${refusal} and ${afterRefusal ?? 'no alias'}`,
    )

    return rotated && refused
  } finally {
    kms.destroy()
  }
}

let moto: MotoServer | undefined

process.once('SIGINT', () => {
  process.stderr.write('\nInterrupted: stopping moto.\n')
  void (moto?.stop() ?? Promise.resolve()).finally(() => {
    removeCliHome()
    process.exit(130)
  })
})

try {
  ensureBuilt()
  say('Starting a local moto server (a KMS emulator) on 127.0.0.1')
  moto = await startMoto()
  const asExpected = await demo(moto.url)
  say(asExpected ? 'Demo finished: both runs behaved as expected.' : 'Demo finished: something did not behave as expected.')
  process.exitCode = asExpected ? 0 : 1
} catch (error) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
} finally {
  await moto?.stop()
  removeCliHome()
}
