import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import UpdateAlias from '../../src/commands/update-alias.js'
import {CHECK_IDS, CHECKS} from '../../src/lib/checks.js'
import {exitCodeTable} from '../../src/lib/outcomes.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('README', () => {
  it('lists every check with the condition the code reports', () => {
    for (const id of CHECK_IDS) {
      expect(readme).toContain(`| \`${id}\` | ${CHECKS[id]} |`)
    }
  })

  it('lists every exit code and outcome from the exit-code table', () => {
    for (const row of exitCodeTable()) {
      const outcome = row.outcome === '' ? '' : `\`${row.outcome}\``
      expect(readme).toContain(`| ${row.exitCode} | ${outcome} | ${row.meaning} |`)
    }
  })

  it('documents every flag of update-alias', () => {
    for (const name of Object.keys(UpdateAlias.flags)) {
      expect(readme).toMatch(new RegExp(`^\\| (\`-\\w\`, )?\`--${name}[ \`]`, 'm'))
    }
  })
})
