/** Rotation files of many aliases in moto, for the plan and apply tests and the benchmark. */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {ListAliasesCommand} from '@aws-sdk/client-kms'

import {MotoKms} from './moto.js'

/** Below KMS's 50 aliases per key, so that alias-quota passes on every shared target key. */
const ALIASES_PER_KEY = 40

export interface FleetEntry {
  alias: string
  region: string
  currentKeyId: string
  targetKeyId: string
}

export interface Fleet {
  entries: FleetEntry[]
  /** The rotation file, YAML, one entry per alias with its Region. */
  file: string
  directory: string
  clients: Map<string, MotoKms>
}

/** `count` items at a time, so that moto is not sent hundreds of requests at once. */
async function inBatches<T>(items: T[], count: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += count) {
    await Promise.all(items.slice(start, start + count).map(work))
  }
}

/**
 * `perRegion` aliases in each Region, straight in moto (not through the proxy): each on a current
 * key, with a target key for it, keys shared by at most 40 aliases.
 */
export async function createFleet(motoUrl: string, regions: string[], perRegion: number, prefix = 'fleet'): Promise<Fleet> {
  const clients = new Map<string, MotoKms>()
  const entries: FleetEntry[] = []
  for (const region of regions) {
    const kms = new MotoKms(motoUrl, region)
    clients.set(region, kms)
    const keys = Math.ceil(perRegion / ALIASES_PER_KEY)
    const current = await Promise.all(Array.from({length: keys}, () => kms.createKey()))
    const target = await Promise.all(Array.from({length: keys}, () => kms.createKey()))
    const regionEntries = Array.from({length: perRegion}, (_, index) => ({
      alias: `alias/${prefix}-${String(index).padStart(4, '0')}`,
      region,
      currentKeyId: current[Math.floor(index / ALIASES_PER_KEY)].KeyId,
      targetKeyId: target[Math.floor(index / ALIASES_PER_KEY)].KeyId,
    }))
    await inBatches(regionEntries, 20, (entry) => kms.createAlias(entry.alias, entry.currentKeyId))
    entries.push(...regionEntries)
  }

  const directory = mkdtempSync(join(tmpdir(), 'kms-rotate-fleet-'))
  const file = join(directory, 'rotations.yaml')
  writeRotationFile(file, entries)
  return {entries, file, directory, clients}
}

export function writeRotationFile(file: string, entries: Array<Pick<FleetEntry, 'alias' | 'region' | 'targetKeyId'>>): void {
  const lines = entries.map((entry) => `  - {alias: ${entry.alias}, target: ${entry.targetKeyId}, region: ${entry.region}}`)
  writeFileSync(file, `rotations:\n${lines.join('\n')}\n`)
}

/** Where every alias points in moto, by Region and alias name. */
export async function aliasTargets(fleet: Fleet): Promise<Map<string, string | undefined>> {
  const targets = new Map<string, string | undefined>()
  for (const [region, kms] of fleet.clients) {
    let marker: string | undefined
    do {
      const page = await kms.client.send(new ListAliasesCommand({Marker: marker, Limit: 100}))
      for (const alias of page.Aliases ?? []) targets.set(`${region} ${alias.AliasName}`, alias.TargetKeyId)
      marker = page.Truncated ? page.NextMarker : undefined
    } while (marker)
  }

  return targets
}

/** The entries whose alias is not on its target key in moto. */
export async function entriesOffTarget(fleet: Fleet): Promise<FleetEntry[]> {
  const targets = await aliasTargets(fleet)
  return fleet.entries.filter((entry) => targets.get(`${entry.region} ${entry.alias}`) !== entry.targetKeyId)
}

export function destroyFleet(fleet: Fleet): void {
  for (const kms of fleet.clients.values()) kms.destroy()
}
