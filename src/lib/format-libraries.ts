/**
 * The libraries of the yaml and table formats, behind one dynamic import (render.ts,
 * loadFormatLibraries). Named here as static imports so that the bundle gives the CommonJS
 * packages' exports their names, as a dynamic import of the package itself would not.
 */
export {default as Table} from 'cli-table3'
export {stringify as toYaml} from 'yaml'
