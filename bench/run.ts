/**
 * kms-rotate side by side with the AWS CLI, against a local moto server. The fault proxy in front
 * of it counts every call in runs of their own; the timed runs go to moto directly, unless
 * --latency MS puts the proxy in their way to hold each request that long, as a far Region would.
 *
 *   npm run bench                       # no added latency
 *   npm run bench -- --latency 20       # 20 ms per request
 *   npm run bench -- --runs 30 --warmup 3
 *
 * Wall time comes from hyperfine (median and interquartile range over --runs runs); peak memory
 * from GNU time's maximum resident set size over three separate runs through the proxy, which
 * gives the API calls.
 * Each timed rotation moves the alias to the key it is not on: hyperfine's --prepare step asks
 * moto directly (not through the proxy, so it is not counted) and writes that key's id to a file,
 * and every rotation row reads the file the same way inside its command.
 * HOME is a directory of the bench's own, so kms-rotate's code cache starts empty there and the
 * warm-up runs fill it, as a user's first runs do; row a0 runs without it.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {startKmsFaultProxy, type KmsFaultProxy} from '../test/support/kms-fault-proxy.js'
import {FAKE_CREDENTIALS, MotoKms, REPO_ROOT, startMoto, TEST_REGION} from '../test/support/moto.js'

const HYPERFINE = '/usr/bin/hyperfine'
const GNU_TIME = '/usr/bin/time'
const AWS_CLI_V2 = '/usr/bin/aws'
const ALIAS_NAME = 'alias/bench-rotation'
const MEMORY_RUNS = 3

/** The flags of the lean rotation: the four calls DescribeKey x2, UpdateAlias, ListAliases. */
const LEAN_FLAGS = '--preflight basic --no-canary'

const TARGETS = {
  fullVsBlind: 0.5,
  startupSeconds: 0.15,
  startupVsNode: 2,
  leanCalls: 4,
  peakMemoryMiB: 100,
}

interface Row {
  id: string
  name: string
  /** The command line, sending its requests to `endpoint`. */
  command: (endpoint: string) => string
  /** Moves the alias: the command reads the key to move it to from the state file. */
  rotation: boolean
}

interface Measured extends Row {
  medianSeconds: number
  /** Interquartile range of the runs. */
  iqrSeconds: number
  minSeconds: number
  maxSeconds: number
  runs: number
  peakMemoryMiB: number
  /** Calls per run by operation, from one counted run. */
  callsPerRun: Record<string, number>
  totalCallsPerRun: number
}

const USAGE = 'usage: npm run bench -- [--latency MS (0 or more)] [--runs N (3 or more)] [--warmup N (0 or more)]'

function benchOptions(): {latencyMs: number; runs: number; warmup: number} {
  let values: Record<string, string | undefined>
  try {
    const options = {
      latency: {type: 'string', default: '0'},
      runs: {type: 'string', default: '20'},
      warmup: {type: 'string', default: '3'},
    } as const
    ;({values} = parseArgs({options}))
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message.split('\n')[0]}\n${USAGE}\n`)
    process.exit(2)
  }

  // Whole numbers only: hyperfine refuses --runs 3.5 only after moto has started.
  const whole = (text: string | undefined) => (text !== undefined && /^\d+$/.test(text) ? Number(text) : Number.NaN)
  const options = {latencyMs: whole(values.latency), runs: whole(values.runs), warmup: whole(values.warmup)}
  if (Number.isNaN(options.latencyMs) || !(options.runs >= 3) || Number.isNaN(options.warmup)) {
    process.stderr.write(`${USAGE}\n`)
    process.exit(2)
  }

  return options
}

const {latencyMs, runs, warmup} = benchOptions()

if (!existsSync(HYPERFINE)) {
  process.stderr.write(`bench: ${HYPERFINE} is missing; install it with: apt-get install hyperfine\n`)
  process.exit(1)
}

if (!existsSync(join(REPO_ROOT, 'dist'))) {
  process.stderr.write('bench: dist/ is missing; run npm run build first\n')
  process.exit(1)
}

function quantile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q
  const below = Math.floor(position)
  const above = Math.ceil(position)
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below)
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`
}

function countsSince(proxy: KmsFaultProxy, from: number): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const call of proxy.requests.slice(from)) counts[call.operation || '(unnamed)'] = (counts[call.operation || '(unnamed)'] ?? 0) + 1
  return counts
}

interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * Runs a program without blocking: the proxy answers from this same process, so a synchronous
 * spawn would leave every call of the program unanswered.
 */
function runProgram(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.once('error', reject)
    child.once('close', (status) => resolve({status, stdout, stderr}))
  })
}

function sh(command: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return runProgram('sh', ['-c', command], env)
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'kms-rotate-bench-'))
  const moto = await startMoto()
  const proxy = await startKmsFaultProxy(moto.url)
  try {
    // Quotas off: back-to-back runs would otherwise meet UpdateAlias's 5 per second.
    proxy.unthrottled()
    if (latencyMs > 0) proxy.latency(latencyMs)

    const fixtures = new MotoKms(moto.url)
    const first = await fixtures.createKey()
    const second = await fixtures.createKey()
    await fixtures.createAlias(ALIAS_NAME, first.KeyId)
    fixtures.destroy()

    const state = join(work, 'next-key')
    writeFileSync(configFile(work), '')
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: configFile(work),
      AWS_SHARED_CREDENTIALS_FILE: configFile(work),
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_REGION: TEST_REGION,
      AWS_DEFAULT_REGION: TEST_REGION,
      AWS_PAGER: '',
      KMS_ROTATE_JOURNAL: join(work, 'journal.jsonl'),
    }

    // Which key the alias is not on, asked of moto itself so that the proxy does not count it.
    // moto picks the service from the credential scope; it does not check the signature.
    const scope = `Credential=testing/20260101/${TEST_REGION}/kms/aws4_request, SignedHeaders=host, Signature=0`
    const listFirst =
      `curl -sf ${moto.url}/ -H 'Authorization: AWS4-HMAC-SHA256 ${scope}' ` +
      `-H 'X-Amz-Target: TrentService.ListAliases' ` +
      `-H 'Content-Type: application/x-amz-json-1.1' -d '{"KeyId":"${first.KeyId}"}'`
    const prepare =
      `if ${listFirst} | grep -q '"${ALIAS_NAME}"'; then echo ${second.KeyId} > ${state}; ` +
      `else echo ${first.KeyId} > ${state}; fi`

    const node = process.execPath
    const kmsRotate = `${node} ${join(REPO_ROOT, 'bin', 'run.js')}`
    // v2 is timed beside v1 where it is installed; its rows are c2 and d2.
    const awsClis = [
      {suffix: '', version: 'v1', program: resolveAwsV1()},
      ...(existsSync(AWS_CLI_V2) ? [{suffix: '2', version: 'v2', program: AWS_CLI_V2}] : []),
    ]
    const rotate = (endpoint: string) =>
      `update-alias --alias-name ${ALIAS_NAME} --target-key-id "$(cat ${state})" --endpoint-url ${endpoint}`
    const rows: Row[] = [
      {id: 'a', name: 'kms-rotate update-alias --yes (full)', command: (url) => `${kmsRotate} ${rotate(url)} --yes`, rotation: true},
      {
        id: 'b',
        name: `kms-rotate update-alias --yes ${LEAN_FLAGS}`,
        command: (url) => `${kmsRotate} ${rotate(url)} --yes ${LEAN_FLAGS}`,
        rotation: true,
      },
      {
        // As the first run of a new version: V8 compiles the bundle from source.
        id: 'a0',
        name: 'kms-rotate update-alias --yes (full, no code cache)',
        command: (url) => `KMS_ROTATE_CODE_CACHE=off ${kmsRotate} ${rotate(url)} --yes`,
        rotation: true,
      },
      ...awsClis.flatMap(({suffix, version, program}) => [
        {
          id: `c${suffix}`,
          name: `aws kms update-alias (${version}, blind)`,
          command: (url: string) => `${program} kms ${rotate(url)}`,
          rotation: true,
        },
        {
          id: `d${suffix}`,
          name: `aws ${version} runbook: describe-key x2, update-alias, list-aliases`,
          command: (url: string) =>
            `sh ${join(REPO_ROOT, 'bench', 'aws-runbook.sh')} ${program} ${ALIAS_NAME} "$(cat ${state})" ${url}`,
          rotation: true,
        },
      ]),
      {id: 'e1', name: 'kms-rotate --version', command: () => `${kmsRotate} --version`, rotation: false},
      {id: 'e2', name: 'kms-rotate update-alias --help', command: () => `${kmsRotate} update-alias --help`, rotation: false},
      {id: 'e3', name: 'node -e 0', command: () => `${node} -e 0`, rotation: false},
    ]

    // The proxy costs each request a hop through this process: only added latency is worth it.
    const timedUrl = latencyMs > 0 ? proxy.url : moto.url
    const measured: Measured[] = []
    for (const row of rows) {
      process.stderr.write(`bench: ${row.id} ${row.name}\n`)
      measured.push(await measure(row, {env, prepare, proxy, timedUrl, state, work}))
    }

    checkJournal(env.KMS_ROTATE_JOURNAL as string)
    const result = report(measured)
    const resultsDirectory = join(REPO_ROOT, 'bench', 'results')
    mkdirSync(resultsDirectory, {recursive: true})
    const file = join(resultsDirectory, `latency-${latencyMs}ms.json`)
    writeFileSync(
      file,
      `${JSON.stringify({date: new Date().toISOString(), latencyMs, runs, warmup, node: process.version, ...result}, null, 2)}\n`,
    )
    process.stdout.write(`\nResults written to ${file}\n`)
    if (!result.targets.every((target) => target.pass)) process.exitCode = 1
  } finally {
    await proxy.close()
    await moto.stop()
    rmSync(work, {recursive: true, force: true})
  }
}

function configFile(work: string): string {
  return join(work, 'empty-aws-config')
}

/** The AWS CLI v1 script itself: a pyenv shim in front of it would add its own start-up to each run. */
function resolveAwsV1(): string {
  const viaPyenv = spawnSync('pyenv', ['which', 'aws'], {encoding: 'utf8'})
  if (viaPyenv.status === 0 && viaPyenv.stdout.trim() !== '') return viaPyenv.stdout.trim()
  const found = spawnSync('sh', ['-c', 'command -v aws'], {encoding: 'utf8'})
  if (found.status !== 0) throw new Error('bench: the AWS CLI (aws) is not on PATH')
  return found.stdout.trim()
}

async function measure(
  row: Row,
  {
    env,
    prepare,
    proxy,
    timedUrl,
    state,
    work,
  }: {env: NodeJS.ProcessEnv; prepare: string; proxy: KmsFaultProxy; timedUrl: string; state: string; work: string},
): Promise<Measured> {
  // Memory and calls: a few runs of their own, each under GNU time and counted at the proxy.
  const memory: number[] = []
  let callsPerRun: Record<string, number> = {}
  for (let run = 0; run < MEMORY_RUNS; run++) {
    if (row.rotation) await sh(prepare, env)
    const from = proxy.requests.length
    const rssFile = join(work, 'rss')
    const timed = await sh(`${GNU_TIME} -f %M -o ${rssFile} sh -c ${shellQuote(row.command(proxy.url))} >/dev/null`, env)
    if (timed.status !== 0) throw new Error(`bench: ${row.name} failed:\n${timed.stderr}`)
    memory.push(Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024)
    const counts = countsSince(proxy, from)
    if (row.rotation) checkMovedTo(proxy, from, readFileSync(state, 'utf8').trim(), row)
    if (run > 0 && JSON.stringify(counts) !== JSON.stringify(callsPerRun)) {
      process.stderr.write(`bench: ${row.id} made different calls on run ${run + 1}: ${JSON.stringify(counts)}\n`)
    }

    callsPerRun = counts
  }

  const exportFile = join(work, `${row.id}.json`)
  const hyperfine = await runProgram(
    HYPERFINE,
    [
      '--style', 'none',
      '--runs', String(runs),
      '--warmup', String(warmup),
      ...(row.rotation ? ['--prepare', prepare] : []),
      '--export-json', exportFile,
      '--command-name', row.id,
      row.command(timedUrl),
    ],
    env,
  )
  if (hyperfine.status !== 0) throw new Error(`bench: hyperfine failed for ${row.name}:\n${hyperfine.stderr}`)
  const {results} = JSON.parse(readFileSync(exportFile, 'utf8')) as {results: Array<{times: number[]}>}
  const times = [...results[0].times].sort((x, y) => x - y)
  memory.sort((x, y) => x - y)
  return {
    ...row,
    medianSeconds: quantile(times, 0.5),
    iqrSeconds: quantile(times, 0.75) - quantile(times, 0.25),
    minSeconds: times[0],
    maxSeconds: times.at(-1) as number,
    runs: times.length,
    peakMemoryMiB: quantile(memory, 0.5),
    callsPerRun,
    totalCallsPerRun: Object.values(callsPerRun).reduce((sum, count) => sum + count, 0),
  }
}

/** Every kms-rotate run, timed or not, wrote a journal line; each must say the alias moved. */
function checkJournal(path: string): void {
  const outcomes = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line).outcome as string)
  const others = outcomes.filter((outcome) => outcome !== 'rotated')
  if (others.length > 0) throw new Error(`bench: ${others.length} kms-rotate runs did not rotate: ${others.join(', ')}`)
  process.stderr.write(`bench: all ${outcomes.length} kms-rotate runs rotated the alias\n`)
}

/** A counted run of a rotation row sent UpdateAlias to the key that the prepare step chose. */
function checkMovedTo(proxy: KmsFaultProxy, from: number, keyId: string, row: Row): void {
  const targets = proxy.requests.slice(from).filter((call) => call.operation === 'UpdateAlias')
  if (targets.length !== 1 || String(targets[0].input.TargetKeyId) !== keyId) {
    throw new Error(`bench: a run of ${row.id} did not send one UpdateAlias to the other key ${keyId}`)
  }
}

function report(measured: Measured[]) {
  const byId = Object.fromEntries(measured.map((row) => [row.id, row]))
  const ratio = (x: string, y: string) => byId[x].medianSeconds / byId[y].medianSeconds
  // Each kms-rotate rotation against each AWS CLI row present: c, d, and c2, d2 with v2.
  const awsRows = measured.filter((row) => /^[cd]2?$/.test(row.id)).map((row) => row.id)
  const ratios: Record<string, number> = {}
  for (const y of awsRows) for (const x of ['a', 'b', 'a0']) ratios[`${x}/${y}`] = ratio(x, y)

  const seconds = (value: number) => value.toFixed(3)
  const lines = [
    ['row', 'command', 'median s', 'IQR s', 'min s', 'max s', 'peak RSS MiB', 'API calls per run'],
    ...measured.map((row) => [
      row.id,
      row.name,
      seconds(row.medianSeconds),
      seconds(row.iqrSeconds),
      seconds(row.minSeconds),
      seconds(row.maxSeconds),
      row.peakMemoryMiB.toFixed(0),
      row.totalCallsPerRun === 0
        ? '0'
        : `${row.totalCallsPerRun}: ${Object.entries(row.callsPerRun).map(([operation, count]) => `${operation} ${count}`).join(', ')}`,
    ]),
  ]
  const widths = lines[0].map((_, column) => Math.max(...lines.map((line) => line[column].length)))
  const render = (line: string[]) => `| ${line.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`
  const table = [render(lines[0]), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...lines.slice(1).map(render)]

  const node = byId.e3.medianSeconds
  const startup = ['e1', 'e2'].map((id) => byId[id])
  const targets = [
    ...awsRows
      .filter((id) => id.startsWith('c'))
      .map((id) => ({
        target: `full rotation (a) <= ${TARGETS.fullVsBlind} x ${byId[id].name} (${id})`,
        value: `${ratios[`a/${id}`].toFixed(2)} x`,
        pass: ratios[`a/${id}`] <= TARGETS.fullVsBlind,
      })),
    ...startup.map((row) => ({
      target: `start-up ${row.name} < ${TARGETS.startupSeconds} s and <= ${TARGETS.startupVsNode} x node -e 0`,
      value: `${seconds(row.medianSeconds)} s, ${(row.medianSeconds / node).toFixed(2)} x`,
      pass: row.medianSeconds < TARGETS.startupSeconds && row.medianSeconds <= TARGETS.startupVsNode * node,
    })),
    {
      target: `lean rotation (b) makes exactly ${TARGETS.leanCalls} API calls`,
      value: String(byId.b.totalCallsPerRun),
      pass: byId.b.totalCallsPerRun === TARGETS.leanCalls,
    },
    ...measured
      .filter((row) => row.id.startsWith('a') || row.id.startsWith('b') || row.id.startsWith('e'))
      .map((row) => ({
        target: `peak memory of ${row.id} < ${TARGETS.peakMemoryMiB} MiB`,
        value: `${row.peakMemoryMiB.toFixed(0)} MiB`,
        pass: row.peakMemoryMiB < TARGETS.peakMemoryMiB,
      })),
  ]

  process.stdout.write(`\nlatency per request: ${latencyMs} ms; ${runs} runs after ${warmup} warm-up runs\n\n`)
  process.stdout.write(`${table.join('\n')}\n\n`)
  process.stdout.write(
    `ratios: ${Object.entries(ratios).map(([name, value]) => `${name} ${value.toFixed(2)}`).join(', ')}\n\n`,
  )
  for (const target of targets) process.stdout.write(`${target.pass ? 'PASS' : 'FAIL'}  ${target.target}: ${target.value}\n`)
  return {rows: measured, ratios, targets, table: table.join('\n')}
}

await main()
