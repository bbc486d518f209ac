/**
 * A throwaway certificate authority and a server certificate it signed for 127.0.0.1 and
 * localhost, made with the openssl command in a temporary directory.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** Whether the openssl command can be run; the TLS tests are skipped without it. */
export const opensslAvailable = spawnSync('openssl', ['version'], {stdio: 'ignore'}).status === 0

export interface TestCertificates {
  directory: string
  /** The CA's certificate: what --ca-bundle names. */
  caFile: string
  /** The server's key and certificate, PEM. */
  key: string
  cert: string
  remove(): void
}

function openssl(directory: string, args: string[]): void {
  const result = spawnSync('openssl', args, {cwd: directory, encoding: 'utf8'})
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`)
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

export function makeTestCertificates(): TestCertificates {
  const directory = mkdtempSync(join(tmpdir(), 'kms-rotate-tls-'))
  openssl(directory, [
    'req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', '/CN=kms-rotate test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ])
  openssl(directory, ['req', '-new', ...EC_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'])
  writeFileSync(
    join(directory, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  )
  openssl(directory, [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext',
  ])

  return {
    directory,
    caFile: join(directory, 'ca.pem'),
    key: readFileSync(join(directory, 'server.key'), 'utf8'),
    cert: readFileSync(join(directory, 'server.pem'), 'utf8'),
    remove: () => rmSync(directory, {recursive: true, force: true}),
  }
}
