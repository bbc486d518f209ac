import {shown, UsageError} from './errors.js'

/** KMS limits an alias name to 256 characters, `alias/` included. */
export const ALIAS_NAME_MAX_LENGTH = 256
export const ALIAS_PREFIX = 'alias/'
export const RESERVED_ALIAS_PREFIX = 'alias/aws/'

const ALIAS_NAME_CHARACTER = /[A-Za-z0-9/_-]/
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const MULTI_REGION_KEY_ID = /^mrk-[0-9a-f]{32}$/i
const ARN = /^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)$/
const PARTITION = /^aws(-[a-z]+)*$/
export const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/
const ACCOUNT = /^\d{12}$/

export interface KeyArn {
  partition: string
  region: string
  account: string
  keyId: string
}

/** What `--target-key-id` named: the text to send, kept verbatim, and the ARN parts if any. */
export interface TargetKeyReference {
  given: string
  arn?: KeyArn
}

/** Spaces around a pasted value are a common slip; say so rather than report a bad character. */
function rejectSurroundingSpace(flag: string, value: string): void {
  if (value.trim() !== value) {
    throw new UsageError(`${flag} ${shown(value)} has white space around it: did you mean ${shown(value.trim())}?`)
  }
}

function describeCharacter(character: string): string {
  if (character === ' ') return 'a space'
  const codePoint = `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
  if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(character)) return `the invisible character ${codePoint}`
  return /[\u0021-\u007e]/.test(character) ? `'${character}'` : `'${character}' (${codePoint})`
}

/**
 * Throws a usage error unless `aliasName` is a name that UpdateAlias can take; `flag` names where
 * the value came from in the message.
 */
export function validateAliasName(aliasName: string, flag = '--alias-name'): void {
  if (aliasName === '') {
    throw new UsageError(`${flag} is empty: give an alias name such as alias/my-app.`)
  }

  rejectSurroundingSpace(flag, aliasName)

  if (aliasName.startsWith('arn:')) {
    const arnAlias = /:(alias\/.+)$/.exec(aliasName)
    const hint = arnAlias ? `give the name alone, ${arnAlias[1]}` : 'give an alias name such as alias/my-app'
    throw new UsageError(`${flag} ${shown(aliasName)} is an ARN, not an alias name: ${hint}.`)
  }

  if (KEY_ID.test(aliasName) || MULTI_REGION_KEY_ID.test(aliasName)) {
    throw new UsageError(
      `${flag} ${shown(aliasName)} is a key id, not an alias name: give an alias name such as alias/my-app.`,
    )
  }

  if (!aliasName.startsWith(ALIAS_PREFIX)) {
    const suggestion = aliasName.toLowerCase().startsWith(ALIAS_PREFIX)
      ? ALIAS_PREFIX + aliasName.slice(ALIAS_PREFIX.length)
      : ALIAS_PREFIX + aliasName
    throw new UsageError(`${flag} ${shown(aliasName)} must start with 'alias/': did you mean ${shown(suggestion)}?`)
  }

  const name = aliasName.slice(ALIAS_PREFIX.length)
  if (name === '') {
    throw new UsageError(`${flag} 'alias/' has no name after the prefix: give one, as in alias/my-app.`)
  }

  for (const [index, character] of [...name].entries()) {
    if (!ALIAS_NAME_CHARACTER.test(character)) {
      throw new UsageError(
        `${flag} ${shown(aliasName)} contains ${describeCharacter(character)} at position ` +
          `${ALIAS_PREFIX.length + index + 1}: alias names take only letters, digits, '/', '_' and '-'.`,
      )
    }
  }

  if (aliasName.length > ALIAS_NAME_MAX_LENGTH) {
    throw new UsageError(
      `${flag} is ${aliasName.length} characters long: KMS allows at most ${ALIAS_NAME_MAX_LENGTH}, ` +
        `'alias/' included.`,
    )
  }
}

/** The partition a Region belongs to, as it appears in ARNs. */
export function partitionOf(region: string): string {
  const prefixes: Array<[string, string]> = [
    ['cn-', 'aws-cn'],
    ['us-gov-', 'aws-us-gov'],
    ['us-isob-', 'aws-iso-b'],
    ['us-isof-', 'aws-iso-f'],
    ['us-iso-', 'aws-iso'],
    ['eu-isoe-', 'aws-iso-e'],
    ['eusc-', 'aws-eusc'],
  ]
  return prefixes.find(([prefix]) => region.startsWith(prefix))?.[1] ?? 'aws'
}

/** How a key ARN lies outside `region` (its partition, its Region); empty when it does not. */
export function placeDifferences(arn: KeyArn, region: string): string[] {
  const differences: string[] = []
  if (arn.partition !== partitionOf(region)) differences.push(`partition ${arn.partition}, not ${partitionOf(region)}`)
  if (arn.region !== region) differences.push(`Region ${arn.region}, not ${region}`)
  return differences
}

export function isReservedAliasName(aliasName: string): boolean {
  return aliasName.startsWith(RESERVED_ALIAS_PREFIX)
}

function isKeyIdentifier(text: string): boolean {
  return KEY_ID.test(text) || MULTI_REGION_KEY_ID.test(text)
}

/** Parses `--target-key-id`: a key id, a multi-Region key id or a key ARN. */
export function parseTargetKeyId(given: string, flag = '--target-key-id'): TargetKeyReference {
  return parseKeyReference(flag, given, 'the key the alias should point to')
}

/** Parses `--expected-current-key` by the same rules as `--target-key-id`. */
export function parseExpectedCurrentKey(given: string): TargetKeyReference {
  return parseKeyReference('--expected-current-key', given, 'the key the alias points to now')
}

/** A key id, a multi-Region key id or a key ARN given to `flag`; `role` says which key it is meant to name. */
function parseKeyReference(flag: string, given: string, role: string): TargetKeyReference {
  if (given === '') {
    throw new UsageError(`${flag} is empty: give the id or ARN of ${role}.`)
  }

  rejectSurroundingSpace(flag, given)

  if (given.startsWith(ALIAS_PREFIX)) {
    throw new UsageError(`${flag} ${shown(given)} is an alias: give the id or ARN of ${role}.`)
  }

  if (isKeyIdentifier(given)) return {given}

  const arnParts = ARN.exec(given)
  if (!arnParts) {
    const hint = /^mrk-/i.test(given)
      ? "a multi-Region key id is 'mrk-' and 32 hexadecimal digits"
      : 'expected a key id (1234abcd-12ab-34cd-56ef-1234567890ab), mrk-ID or arn:aws:kms:REGION:ACCOUNT:key/ID'
    throw new UsageError(`${flag} ${shown(given)} is not a key id or key ARN: ${hint}.`)
  }

  const [, partition, service, region, account, resource] = arnParts
  const problem = (what: string) =>
    new UsageError(`${flag} ${shown(given)} is not a key ARN: ${what}.`)
  if (!PARTITION.test(partition)) throw problem(`${shown(partition)} is not an AWS partition`)
  if (service !== 'kms') throw problem(`the service is ${shown(service)}, not 'kms'`)
  if (!REGION.test(region)) throw problem(`${shown(region)} is not a Region`)
  if (partitionOf(region) !== partition) {
    throw problem(`the Region ${shown(region)} is in partition ${shown(partitionOf(region))}, not ${shown(partition)}`)
  }

  if (!ACCOUNT.test(account)) throw problem(`${shown(account)} is not a 12-digit account id`)
  if (resource.startsWith(ALIAS_PREFIX)) {
    throw new UsageError(`${flag} ${shown(given)} is an alias ARN: give the id or ARN of ${role}.`)
  }

  if (!resource.startsWith('key/')) throw problem(`the resource ${shown(resource)} is not key/ID`)
  const keyId = resource.slice('key/'.length)
  if (!isKeyIdentifier(keyId)) throw problem(`${shown(keyId)} is not a key id`)

  return {given, arn: {partition, region, account, keyId}}
}
