import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * Tests never read the developer's AWS configuration, never write to their journal, and never
 * reach an instance metadata endpoint: every variable that could point elsewhere is cleared or
 * pinned here.
 */
const emptyHome = mkdtempSync(join(tmpdir(), 'kms-rotate-test-home-'))

for (const name of Object.keys(process.env)) {
  if (name.startsWith('AWS_') || name === 'NO_COLOR' || name === 'KMS_ROTATE_JOURNAL') delete process.env[name]
}

Object.assign(process.env, {
  AWS_CONFIG_FILE: join(emptyHome, 'config'),
  AWS_SHARED_CREDENTIALS_FILE: join(emptyHome, 'credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
  // A journal that a test does not name goes here, never to the developer's own.
  XDG_STATE_HOME: join(emptyHome, 'state'),
})
