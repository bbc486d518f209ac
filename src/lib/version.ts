import {readFileSync} from 'node:fs'
import {release, type} from 'node:os'

/**
 * What `--version` prints, laid out like `aws --version`: name/version pairs for the program,
 * its runtime and the operating system.
 */
export function versionLine(): string {
  const {name, version} = packageNameAndVersion()
  return `${name}/${version} node/${process.version} ${type()}/${release()}`
}

/** Read at run time so that bin/run.js can answer --version without loading oclif or the AWS SDK. */
export function packageNameAndVersion(): {name: string; version: string} {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    name: string
    version: string
  }
}

/** --version anywhere before `--` asks for the version, as in the AWS CLI, whatever else is given. */
export function asksForVersion(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--version')
}
