/**
 * Bundles every command, @oclif/core, the AWS SDK clients a rotation uses and the small libraries
 * into one CommonJS file, dist/bundle/cli.cjs, which bin/run.js loads with V8's code cache
 * (src/lib/code-cache.ts). CommonJS because only a script, not an ES module, can take cached
 * bytecode on Node 20. Modules imported lazily stay lazy: esbuild wraps them, so their code is in
 * the file but runs only when a command asks for it.
 *
 * The larger libraries that only some runs need (YAML, tables, JMESPath, the schema validator, the
 * progress bar, the EC2 client) go into bundles of their own under dist/bundle/vendor, which
 * cli.cjs require()s where the source imports them, so no run reads them unless it uses them.
 * The prompts stay in cli.cjs: they are small, and their default exports would come out of a
 * CommonJS bundle as a namespace, since the source is ESM and takes a module's exports as default.
 *
 * oclif finds the commands through the COMMANDS export (package.json: oclif.commands, the explicit
 * strategy). Every .ts file under src/commands is a command, its id its path with ':' between
 * directories, as oclif's pattern strategy would name it.
 */
import {readdirSync} from 'node:fs'
import {join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

import {build} from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const commandsDirectory = join(root, 'src', 'commands')
const outputDirectory = join(root, 'dist', 'bundle')

/**
 * Imported by specifier from the source; each becomes dist/bundle/vendor/NAME.cjs, with all the
 * package exports or, where a list is given, only those (the EC2 client holds every EC2 command).
 */
const VENDOR_EXPORTS = {'@aws-sdk/client-ec2': ['DescribeRegionsCommand', 'EC2Client']}
const VENDOR_PACKAGES = [
  '@aws-sdk/client-ec2',
  '@jmespath-community/jmespath',
  'ajv/dist/2020.js',
  'cli-progress',
  'cli-table3',
  'yaml',
]

const vendorFile = (specifier) => `${specifier.replace(/^@/, '').replace(/\.js$/, '').replaceAll('/', '-')}.cjs`

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The ESM builds, so that unused exports drop out.
  mainFields: ['module', 'main'],
  // import() of Node's modules and of the vendor bundles becomes require(): a script given cached
  // bytecode has no way to import an ES module.
  supported: {'dynamic-import': false},
  // Less source to read and hash on every run; the names stay, for stack traces under --debug.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  logLevel: 'warning',
  // oclif loads the TypeScript compiler only to run a plugin from its sources, never from a build.
  external: ['typescript'],
  // The bundle sits two levels below the package root, as dist/lib/*.js does, so the source's
  // paths relative to its own URL (../../package.json, the schemas) hold in both.
  define: {'import.meta.url': 'importMetaUrl'},
  banner: {js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;"},
}

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
  "export {run} from '@oclif/core/run'",
  `export const COMMANDS = {${commands.map(({id}, index) => `${JSON.stringify(id)}: command${index}`).join(', ')}}`,
].join('\n')

function vendorEntry(specifier) {
  const names = VENDOR_EXPORTS[specifier]
  return names === undefined
    ? `module.exports = require(${JSON.stringify(specifier)})`
    : `export {${names.join(', ')}} from ${JSON.stringify(specifier)}`
}

const vendorPlugin = {
  name: 'vendor',
  setup(builder) {
    const names = new Set(VENDOR_PACKAGES)
    builder.onResolve({filter: /^[@a-z]/}, ({path}) =>
      names.has(path) ? {path: `./vendor/${vendorFile(path)}`, external: true} : undefined,
    )
  },
}

await Promise.all([
  build({
    ...common,
    stdin: {contents: entry, resolveDir: root, sourcefile: 'commands-entry.ts', loader: 'ts'},
    outfile: join(outputDirectory, 'cli.cjs'),
    plugins: [vendorPlugin],
    metafile: Boolean(process.env.BUNDLE_METAFILE),
  }).then(async (result) => {
    if (result.metafile) (await import('node:fs')).writeFileSync(process.env.BUNDLE_METAFILE, JSON.stringify(result.metafile))
  }),
  ...VENDOR_PACKAGES.map((specifier) =>
    build({
      ...common,
      stdin: {contents: vendorEntry(specifier), resolveDir: root, sourcefile: `${specifier}.js`},
      outfile: join(outputDirectory, 'vendor', vendorFile(specifier)),
    }),
  ),
])
