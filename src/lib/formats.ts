/**
 * The values of --output, --color and --generate-cli-skeleton. They live here, apart from the
 * code that renders them, so that a command can declare its flags without loading that code.
 */
export const OUTPUT_FORMATS = ['json', 'yaml', 'yaml-stream', 'text', 'table', 'off'] as const
export type OutputFormat = (typeof OUTPUT_FORMATS)[number]

export const COLOR_MODES = ['on', 'off', 'auto'] as const
export type ColorMode = (typeof COLOR_MODES)[number]

export const SKELETON_KINDS = ['input', 'yaml-input', 'output'] as const
export type SkeletonKind = (typeof SKELETON_KINDS)[number]

/**
 * --preflight: full reads every key policy, grant list and alias count it checks; basic reads
 * only DescribeKey of both keys, so that a rotation seen at the first poll makes four calls.
 */
export const PREFLIGHT_MODES = ['full', 'basic'] as const
export type PreflightMode = (typeof PREFLIGHT_MODES)[number]
