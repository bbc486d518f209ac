import {readFileSync} from 'node:fs'
import {release, type} from 'node:os'

/**
 * What `--version` prints, laid out like `aws --version`: name/version pairs for the program,
 * its runtime and the operating system.
 */
export function versionLine(): string {
  // Read at run time so that bin/run.js can answer --version without loading oclif or the AWS SDK.
  const {name, version} = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    name: string
    version: string
  }
  return `${name}/${version} node/${process.version} ${type()}/${release()}`
}

/** --version anywhere before `--` asks for the version, as in the AWS CLI, whatever else is given. */
export function asksForVersion(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--version')
}
