import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {homeDirectory} from './home.js'

/**
 * `COMMAND --help` as oclif prints it at 80 columns, rendered when the package is built into
 * dist/help (scripts/help-pages.mjs), so that bin/run.js can print it without loading oclif.
 * That is what oclif prints when stdout is not a terminal: 80 columns, no bold. On a terminal,
 * with OCLIF_COLUMNS or with a user theme file, the request goes to oclif as usual.
 */
export const HELP_PAGE_COLUMNS = 80

/** The page of the root command, `kms-rotate --help`. */
export const ROOT_HELP_PAGE = 'index'

interface HelpContext {
  env: NodeJS.ProcessEnv
  stdout: {isTTY?: boolean; columns?: number}
  platform: NodeJS.Platform
}

/**
 * Where oclif looks for a user's theme.json: KMS_ROTATE_CONFIG_DIR, else the XDG config
 * directory, under HOME as oclif takes it. Undefined where there is no home to look in.
 */
function userThemeFile(env: NodeJS.ProcessEnv): string | undefined {
  if (env.KMS_ROTATE_CONFIG_DIR) return join(env.KMS_ROTATE_CONFIG_DIR, 'theme.json')
  const home = env.HOME || homeDirectory()
  const configHome = env.XDG_CONFIG_HOME || (home ? join(home, '.config') : undefined)
  return configHome === undefined ? undefined : join(configHome, 'kms-rotate', 'theme.json')
}

function hasUserTheme(env: NodeJS.ProcessEnv): boolean {
  const file = userThemeFile(env)
  return file !== undefined && existsSync(file)
}

/**
 * The name of the page in dist/help that answers argv exactly, or undefined when oclif must:
 * argv is `COMMAND --help` or `--help` alone, stdout is not a terminal, and there is no theme.
 */
export function helpPageName(
  argv: readonly string[],
  {env, stdout, platform}: HelpContext = {env: process.env, stdout: process.stdout, platform: process.platform},
): string | undefined {
  const page =
    argv.length === 1 && argv[0] === '--help'
      ? ROOT_HELP_PAGE
      : argv.length === 2 && argv[1] === '--help' && /^[a-z][a-z-]*$/.test(argv[0])
        ? argv[0]
        : undefined
  if (page === undefined || env.OCLIF_COLUMNS) return undefined
  // On a terminal oclif also sets headings in bold, which the plain pages do not carry.
  if (stdout.isTTY) return undefined
  // oclif's config directory lies elsewhere on Windows; there the themes are left to it.
  if (platform === 'win32' || (env.KMS_ROTATE_DISABLE_THEME !== 'true' && hasUserTheme(env))) {
    return undefined
  }

  return page
}
