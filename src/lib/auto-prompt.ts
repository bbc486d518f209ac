import type {AliasListEntry, KeyListEntry} from '@aws-sdk/client-kms'
import type {ChalkInstance} from 'chalk'

import {KmsRotateError, UsageError} from './errors.js'
import {parseTargetKeyId, RESERVED_ALIAS_PREFIX, validateAliasName} from './identifiers.js'
import type {KmsGateway} from './kms.js'
import {OUTCOMES} from './outcomes.js'
import {promptTheme} from './terminal.js'

/** `on` asks for every argument, `on-partial` only for those the command line left out. */
export type AutoPromptMode = 'on' | 'on-partial' | 'off'

export interface AutoPromptSettings {
  /** --cli-auto-prompt (true), --no-cli-auto-prompt (false), or neither. */
  flag: boolean | undefined
  /** The command line, to tell both flags given from the last one given. */
  argv: readonly string[]
  /** The profile's cli_auto_prompt. */
  profileSetting?: string
  /** Whether a person can answer: stdin and stdout are terminals. */
  terminal: boolean
}

/**
 * The flag, else AWS_CLI_AUTO_PROMPT, else the profile's cli_auto_prompt. As in the AWS CLI, a
 * value other than `on` or `on-partial` means off; off a terminal nothing is ever asked.
 */
export function autoPromptMode(settings: AutoPromptSettings, env: NodeJS.ProcessEnv = process.env): AutoPromptMode {
  const end = settings.argv.indexOf('--')
  const options = end === -1 ? settings.argv : settings.argv.slice(0, end)
  if (options.includes('--cli-auto-prompt') && options.includes('--no-cli-auto-prompt')) {
    throw new UsageError('--cli-auto-prompt and --no-cli-auto-prompt cannot both be given: keep one of them.')
  }

  if (!settings.terminal) return 'off'
  if (settings.flag !== undefined) return settings.flag ? 'on' : 'off'
  const configured = env.AWS_CLI_AUTO_PROMPT === undefined || env.AWS_CLI_AUTO_PROMPT === ''
    ? settings.profileSetting
    : env.AWS_CLI_AUTO_PROMPT
  const mode = configured?.trim().toLowerCase()
  return mode === 'on' || mode === 'on-partial' ? mode : 'off'
}

export interface GivenArguments {
  aliasName?: string
  targetKeyId?: string
}

export interface Choice {
  value: string
  name: string
  description?: string
}

export interface Question {
  message: string
  choices: Choice[]
  /** true, or why the value cannot be used. */
  validate: (value: string) => true | string
}

/** Puts a question to the person at the terminal and returns the value chosen. */
export type Ask = (question: Question) => Promise<string>

function isCustomerAlias(alias: AliasListEntry): alias is AliasListEntry & {AliasName: string} {
  return alias.AliasName !== undefined && !alias.AliasName.startsWith(RESERVED_ALIAS_PREFIX)
}

/** What was given goes first, so that Enter keeps it; a value the list lacks is added. */
function givenFirst(choices: Choice[], given: string | undefined): Choice[] {
  if (given === undefined) return choices
  const match = choices.find((choice) => choice.value === given)
  const first = match ?? {value: given, name: given, description: 'as given on the command line'}
  return [first, ...choices.filter((choice) => choice !== match)]
}

/** The account's own aliases, by name; aliases under alias/aws/ cannot be moved. */
export function aliasChoices(aliases: AliasListEntry[], given?: string): Choice[] {
  const choices = aliases
    .filter((alias) => isCustomerAlias(alias))
    .sort((a, b) => a.AliasName.localeCompare(b.AliasName))
    .map((alias) => ({
      value: alias.AliasName,
      name: alias.AliasName,
      description: alias.TargetKeyId ? `points at ${alias.TargetKeyId}` : 'points at no key',
    }))
  return givenFirst(choices, given)
}

/**
 * The account's keys, each with the aliases that point at it. A key that an alias/aws/ alias
 * points at is AWS managed, and no alias of ours may move to it.
 */
export function keyChoices(keys: KeyListEntry[], aliases: AliasListEntry[], given?: string): Choice[] {
  const awsManaged = new Set(aliases.filter((alias) => !isCustomerAlias(alias)).map((alias) => alias.TargetKeyId))
  const aliasNames = new Map<string, string[]>()
  for (const alias of aliases.filter((entry) => isCustomerAlias(entry))) {
    if (alias.TargetKeyId === undefined) continue
    aliasNames.set(alias.TargetKeyId, [...(aliasNames.get(alias.TargetKeyId) ?? []), alias.AliasName])
  }

  const choices = keys
    .filter((key): key is KeyListEntry & {KeyId: string} => key.KeyId !== undefined && !awsManaged.has(key.KeyId))
    .sort((a, b) => a.KeyId.localeCompare(b.KeyId))
    .map((key) => {
      const names = aliasNames.get(key.KeyId) ?? []
      return {
        value: key.KeyId,
        name: names.length === 0 ? key.KeyId : `${key.KeyId}  ${names.join(', ')}`,
        description: key.KeyArn,
      }
    })
  return givenFirst(choices, given)
}

/**
 * The choices whose label holds `term`, ignoring case, and then `term` itself, so that a value
 * the list lacks (a key ARN, say) can still be typed.
 */
export function matching(choices: Choice[], term: string | undefined): Choice[] {
  if (term === undefined || term === '') return choices
  const wanted = term.toLowerCase()
  const found = choices.filter((choice) => choice.name.toLowerCase().includes(wanted))
  if (choices.some((choice) => choice.value === term)) return found
  return [...found, {value: term, name: term, description: 'as typed'}]
}

function problemWith(check: () => void): true | string {
  try {
    check()
    return true
  } catch (error) {
    if (error instanceof UsageError) return error.message
    throw error
  }
}

/** A list to offer, or none with a line on stderr when KMS will not give it. */
async function offered<T>(what: string, list: () => Promise<T[]>, note: (line: string) => void): Promise<T[]> {
  try {
    return await list()
  } catch (error) {
    if (!(error instanceof KmsRotateError)) throw error
    note(`The account's ${what} cannot be offered (${error.message}); type a value instead.`)
    return []
  }
}

/**
 * Asks for the arguments that `mode` says to ask for, offering the account's aliases and keys.
 * What it returns may still lack an argument when nothing was asked; the caller checks.
 */
export async function promptForMissing(
  given: GivenArguments,
  kms: Pick<KmsGateway, 'listAliases' | 'listKeys'>,
  mode: AutoPromptMode,
  ask: Ask,
  note: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<GivenArguments> {
  const askFor = (value: string | undefined) => mode === 'on' || (mode === 'on-partial' && value === undefined)
  if (!askFor(given.aliasName) && !askFor(given.targetKeyId)) return given

  const aliases = await offered('aliases', () => kms.listAliases(), note)
  const aliasName = askFor(given.aliasName)
    ? await ask({
        message: 'Alias to move',
        choices: aliasChoices(aliases, given.aliasName),
        validate: (value) => problemWith(() => validateAliasName(value)),
      })
    : (given.aliasName as string)

  const targetKeyId = askFor(given.targetKeyId)
    ? await ask({
        message: `Key for ${aliasName} to point at`,
        choices: keyChoices(await offered('keys', () => kms.listKeys(), note), aliases, given.targetKeyId),
        validate: (value) => problemWith(() => parseTargetKeyId(value)),
      })
    : (given.targetKeyId as string)

  return {aliasName, targetKeyId}
}

/** Asks with a searchable list on stderr; Ctrl-C there stops the run before anything is sent. */
export function searchOnTerminal(colour: ChalkInstance): Ask {
  return async ({message, choices, validate}) => {
    const {default: search} = await import('@inquirer/search')
    try {
      return await search(
        {message, source: (term) => matching(choices, term), validate, pageSize: 10, theme: promptTheme(colour)},
        {output: process.stderr},
      )
    } catch (error) {
      if (error instanceof Error && error.name === 'ExitPromptError') {
        throw new KmsRotateError('Stopped at the prompt: nothing was changed.', OUTCOMES.interrupted.exitCode)
      }

      throw error
    }
  }
}
