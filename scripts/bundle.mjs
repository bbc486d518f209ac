/**
 * Bundles every command, @oclif/core and the libraries into dist/index.js (plus chunks for what
 * is imported lazily, the AWS SDK above all), so that a run reads a handful of files instead of
 * hundreds of modules. oclif finds the commands through the COMMANDS export (package.json:
 * oclif.commands, the explicit strategy). Every .ts file under src/commands is a command, its
 * id its path with ':' between directories, as oclif's pattern strategy would name it.
 */
import {readdirSync} from 'node:fs'
import {join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

import {build} from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const commandsDirectory = join(root, 'src', 'commands')

function commandFiles(directory) {
  return readdirSync(directory, {withFileTypes: true}).flatMap((entry) => {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) return commandFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

const commands = commandFiles(commandsDirectory)
  .map((path) => ({path, id: relative(commandsDirectory, path).replace(/\.ts$/, '').split(sep).join(':')}))
  .sort((a, b) => a.id.localeCompare(b.id))

const entry = [
  ...commands.map(({path}, index) => `import command${index} from ${JSON.stringify(path)}`),
  // oclif's subpaths rather than its index, which would also load the parts no command uses.
  "export * as Errors from '@oclif/core/errors'",
  "export {flush} from '@oclif/core/flush'",
  "export {run} from '@oclif/core/run'",
  `export const COMMANDS = {${commands.map(({id}, index) => `${JSON.stringify(id)}: command${index}`).join(', ')}}`,
].join('\n')

const result = await build({
  stdin: {contents: entry, resolveDir: root, sourcefile: 'commands-entry.ts', loader: 'ts'},
  outdir: join(root, 'dist'),
  entryNames: 'index',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  // oclif loads the TypeScript compiler only to run a plugin from its sources, never from a build.
  external: ['typescript'],
  splitting: true,
  format: 'esm',
  platform: 'node',
  // The ESM builds: the SDK's lazy import()s become chunks of their own, and unused exports drop out.
  mainFields: ['module', 'main'],
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  metafile: Boolean(process.env.BUNDLE_METAFILE),
  // Bundled CommonJS modules still call require() for Node's own modules.
  banner: {js: "import {createRequire as kmsRotateCreateRequire} from 'node:module'; const require = kmsRotateCreateRequire(import.meta.url);"},
})
if (result.metafile) (await import('node:fs')).writeFileSync(process.env.BUNDLE_METAFILE, JSON.stringify(result.metafile))
