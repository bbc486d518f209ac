/**
 * How close `kms-rotate apply` comes to the floor that the UpdateAlias quota sets: 1,000 aliases
 * in one Region, behind the fault proxy at KMS's published quotas (5 UpdateAlias per second per
 * account and Region), every entry verified by the visibility poll and the canary as usual.
 *
 *   npm run bench:apply               # 1,000 entries; BENCH_ENTRIES=200 for a shorter run
 *
 * Prints the elapsed time, the floor (entries / 5 s), their ratio, and any ThrottlingException
 * the proxy answered. Needs a build (npm run build) and moto, as the integration tests do.
 */
import {spawn} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {KMS_QUOTAS} from '../src/lib/pacing.js'
import {cliEnvironment, removeCliHome} from '../test/support/cli.js'
import {createFleet, destroyFleet, entriesOffTarget} from '../test/support/fleet.js'
import {startKmsFaultProxy} from '../test/support/kms-fault-proxy.js'
import {REPO_ROOT, startMoto, TEST_REGION} from '../test/support/moto.js'

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1000)
/** The run may take this much longer than the floor and still pass. */
const ALLOWED_RATIO = 1.1

async function main(): Promise<void> {
  const moto = await startMoto()
  const proxy = await startKmsFaultProxy(moto.url)
  const fleet = await createFleet(moto.url, [TEST_REGION], ENTRIES, 'bench')
  try {
    const args = ['apply', '-f', fleet.file, '--yes', '--output', 'off', '--endpoint-url', proxy.url]
    const journal = join(fleet.directory, 'journal.jsonl')
    const startedAt = performance.now()
    const wallStart = Date.now()
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args, '--journal', journal], {
        cwd: REPO_ROOT,
        env: cliEnvironment(),
        stdio: ['ignore', 'ignore', 'inherit'],
      })
      child.once('error', reject)
      child.once('close', resolve)
    })
    const elapsedSeconds = (performance.now() - startedAt) / 1000

    const floorSeconds = ENTRIES / KMS_QUOTAS.UpdateAlias
    const ratio = elapsedSeconds / floorSeconds
    const throttles = proxy.requests.filter((call) => call.handling === 'throttled')
    const offTarget = await entriesOffTarget(fleet)
    const counts = new Map<string, number>()
    for (const call of throttles) counts.set(call.operation, (counts.get(call.operation) ?? 0) + 1)
    const byOperation = [...counts].map(([operation, count]) => `${operation} ${count}`)
    console.log(`apply of ${ENTRIES} entries in ${TEST_REGION}, UpdateAlias quota ${KMS_QUOTAS.UpdateAlias}/s`)
    console.log(`  exit code        ${exitCode}`)
    console.log(`  elapsed          ${elapsedSeconds.toFixed(1)} s`)
    console.log(`  floor            ${floorSeconds.toFixed(1)} s`)
    console.log(`  ratio            ${ratio.toFixed(3)} (allowed ${ALLOWED_RATIO})`)
    const updates = proxy.callsTo('UpdateAlias').map((call) => call.at)
    const firstAt = ((Math.min(...updates) - wallStart) / 1000).toFixed(1)
    const lastAt = ((Math.max(...updates) - wallStart) / 1000).toFixed(1)
    console.log(`  UpdateAlias sent ${updates.length}, the first at ${firstAt} s, the last at ${lastAt} s`)
    console.log(`  throttled        ${throttles.length}${byOperation.length > 0 ? ` (${byOperation.join(', ')})` : ''}`)
    console.log(`  off target       ${offTarget.length}`)
    if (exitCode !== 0 || ratio > ALLOWED_RATIO || throttles.length > 0 || offTarget.length > 0) process.exitCode = 1
  } finally {
    destroyFleet(fleet)
    rmSync(fleet.directory, {recursive: true, force: true})
    removeCliHome()
    await proxy.close()
    await moto.stop()
  }
}

await main()
