import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import Audit from '../../src/commands/audit.js'
import UpdateAlias from '../../src/commands/update-alias.js'
import {FINDING_IDS, FINDINGS} from '../../src/lib/audit-findings.js'
import {CHECK_IDS, CHECKS} from '../../src/lib/checks.js'
import {auditExitCodeTable, exitCodeTable} from '../../src/lib/outcomes.js'

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

  it('lists every audit finding with its severity and the condition the code reports', () => {
    for (const id of FINDING_IDS) {
      expect(readme).toContain(`| \`${id}\` | ${FINDINGS[id].severity} | ${FINDINGS[id].when} |`)
    }
  })

  it('lists every exit code of audit', () => {
    for (const row of auditExitCodeTable()) {
      const outcome = row.outcome === '' ? '' : `\`${row.outcome}\``
      expect(readme).toContain(`| ${row.exitCode} | ${outcome} | ${row.meaning} |`)
    }
  })

  it('documents every flag of audit that update-alias does not have', () => {
    const own = Object.keys(Audit.flags).filter((name) => !(name in UpdateAlias.flags))
    expect(own.length).toBeGreaterThan(0)
    for (const name of own) expect(readme).toMatch(new RegExp(`^\\| \`--${name}[ \`]`, 'm'))
  })
})
