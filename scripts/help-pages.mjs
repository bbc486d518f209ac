/**
 * Renders `kms-rotate --help` and `kms-rotate COMMAND --help` through oclif at 80 columns into
 * dist/help/NAME.txt, for bin/run.js to print without loading oclif (src/lib/help-pages.ts).
 * Runs after the bundle and the manifest are built.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {HELP_PAGE_COLUMNS, ROOT_HELP_PAGE} from '../dist/lib/help-pages.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))
const pages = [[ROOT_HELP_PAGE, []], ...Object.keys(manifest.commands).map((id) => [id, id.split(':')])]

mkdirSync(join(root, 'dist', 'help'), {recursive: true})
for (const [name, words] of pages) {
  const env = {...process.env, OCLIF_COLUMNS: String(HELP_PAGE_COLUMNS), KMS_ROTATE_DISABLE_THEME: 'true'}
  const run = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...words, '--help'], {env, encoding: 'utf8'})
  if (run.status !== 0 || run.stdout === '') {
    throw new Error(`help-pages: ${[...words, '--help'].join(' ')} exited ${run.status}: ${run.stderr}`)
  }

  writeFileSync(join(root, 'dist', 'help', `${name}.txt`), run.stdout)
}
