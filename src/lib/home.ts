import {homedir, userInfo} from 'node:os'
import {isAbsolute} from 'node:path'

/**
 * The user's home directory: HOME when it is an absolute path, else the account's own from the
 * password database. An empty or relative HOME would otherwise put the journal and the code
 * cache under whatever directory the command happens to run in. Null when neither is absolute
 * (not undefined, which would make a default parameter take its default), so that each caller
 * decides what doing without one means.
 */
export function homeDirectory(
  home: string | undefined = fromEnvironment(),
  account: () => string | undefined = accountHome,
): string | null {
  if (home !== undefined && isAbsolute(home)) return home
  const fallback = account()
  return fallback !== undefined && isAbsolute(fallback) ? fallback : null
}

/** os.homedir(), which throws where HOME is unset and the uid has no password entry. */
function fromEnvironment(): string | undefined {
  try {
    return homedir()
  } catch {
    return undefined
  }
}

function accountHome(): string | undefined {
  try {
    return userInfo().homedir
  } catch {
    // No entry for this uid, as in some containers.
    return undefined
  }
}
