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
  home: string = homedir(),
  account: () => string | undefined = accountHome,
): string | null {
  if (isAbsolute(home)) return home
  const fallback = account()
  return fallback !== undefined && isAbsolute(fallback) ? fallback : null
}

function accountHome(): string | undefined {
  try {
    return userInfo().homedir
  } catch {
    // No entry for this uid, as in some containers.
    return undefined
  }
}
