/**
 * The command line of `audit`, checked before any client exists: a bad value ends the run with
 * one line and exit 252, and nothing is sent.
 */
import {shown, UsageError} from './errors.js'
import type {Purpose} from './audit-findings.js'
import {REGION} from './identifiers.js'

/** What a purpose name may hold, so that it reads well in messages and in --query. */
const PURPOSE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
/** A profile name as the AWS config files can hold it: no white space, no brackets. */
const PROFILE_NAME = /^[^\s[\]]+$/

/** The entries of a comma-separated flag value; each must pass `valid`, none may repeat. */
function commaList(
  flag: string,
  text: string,
  valid: (entry: string) => boolean,
  what: {one: string; many: string},
  example: string,
) {
  const entries = text.split(',').map((entry) => entry.trim())
  const bad = entries.find((entry) => !valid(entry))
  if (bad !== undefined) {
    const problem = bad === '' ? 'has an empty entry' : `names ${shown(bad)}, which is not ${what.one}`
    throw new UsageError(`${flag} ${shown(text)} ${problem}: give ${what.many} separated by commas, as in ${example}.`)
  }

  const repeated = entries.find((entry, index) => entries.indexOf(entry) !== index)
  if (repeated !== undefined) throw new UsageError(`${flag} ${shown(text)} names ${repeated} twice: give each once.`)
  return entries
}

export function parseRegionList(text: string): string[] {
  return commaList('--regions', text, (entry) => REGION.test(entry), {one: 'a Region name', many: 'Region names'}, 'us-east-1,eu-west-1')
}

export function parseProfileList(text: string): string[] {
  return commaList('--profiles', text, (entry) => PROFILE_NAME.test(entry), {one: 'a profile name', many: 'profile names'}, 'prod,staging')
}

/**
 * A glob over alias names: `*` stands for any run of characters, `/` included (alias names are
 * not paths), and `?` for one character; everything else stands for itself.
 */
export function globPattern(glob: string): RegExp {
  const source = [...glob]
    .map((character) => {
      if (character === '*') return '.*'
      if (character === '?') return '.'
      return character.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    })
    .join('')
  return new RegExp(`^${source}$`)
}

/** Each --expect PURPOSE=GLOB, in the order given: the first that matches an alias names its purpose. */
export function parseExpectations(values: readonly string[] | undefined): Purpose[] {
  return (values ?? []).map((value) => {
    const separator = value.indexOf('=')
    const hint = "write it as PURPOSE=GLOB, as in --expect prod='alias/prod-*'"
    if (separator < 0) throw new UsageError(`--expect ${shown(value)} has no '=': ${hint}.`)
    const name = value.slice(0, separator)
    const glob = value.slice(separator + 1)
    if (!PURPOSE_NAME.test(name)) {
      const problem = name === '' ? 'has no purpose before the =' : `has a purpose ${shown(name)} that is not a plain word`
      throw new UsageError(`--expect ${shown(value)} ${problem}: use letters, digits, '.', '_' or '-'; ${hint}.`)
    }

    if (!glob.startsWith('alias/')) {
      const problem = glob === '' ? 'has no glob after the =' : `has a glob ${shown(glob)} that does not start with alias/`
      throw new UsageError(`--expect ${shown(value)} ${problem}: alias names do, so it would match nothing; ${hint}.`)
    }

    return {name, glob, pattern: globPattern(glob)}
  })
}
