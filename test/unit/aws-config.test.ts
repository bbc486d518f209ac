import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {cliProfileSettings, describeSettings, resolveAwsSettings, type AwsOptions} from '../../src/lib/aws-config.js'
import {ConfigurationError, UsageError} from '../../src/lib/errors.js'
import {EXIT} from '../../src/lib/outcomes.js'

const CONFIG = `[default]
region = eu-central-1

[profile dev]
region = ap-southeast-2

[profile no-region]
output = json
`

const CREDENTIALS = `[default]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = fake

[keys-only]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = fake
`

let savedEnv: NodeJS.ProcessEnv
let directory: string

/** Points the SDK's file loader at fresh files; each test gets its own paths, so no cache is shared. */
function givenAwsFiles(config: string, credentials = ''): void {
  writeFileSync(join(directory, 'config'), config)
  writeFileSync(join(directory, 'credentials'), credentials)
  process.env.AWS_CONFIG_FILE = join(directory, 'config')
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(directory, 'credentials')
}

function givenEnv(values: Record<string, string>): void {
  Object.assign(process.env, values)
}

async function errorFrom(options: AwsOptions): Promise<unknown> {
  return resolveAwsSettings(options).then(
    (settings) => {
      throw new Error(`expected an error, got ${JSON.stringify(settings)}`)
    },
    (error: unknown) => error,
  )
}

beforeEach(() => {
  savedEnv = {...process.env}
  directory = mkdtempSync(join(tmpdir(), 'kms-rotate-aws-config-'))
  givenAwsFiles(CONFIG, CREDENTIALS)
})

afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name]
  Object.assign(process.env, savedEnv)
  rmSync(directory, {recursive: true, force: true})
})

describe('resolveAwsSettings: Region', () => {
  it('takes the flag over every environment variable and the profile', async () => {
    givenEnv({AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-east-2'})
    const settings = await resolveAwsSettings({region: 'sa-east-1'})
    expect(settings.region).toBe('sa-east-1')
  })

  it('takes AWS_REGION over AWS_DEFAULT_REGION and the profile', async () => {
    givenEnv({AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-east-2'})
    expect((await resolveAwsSettings({})).region).toBe('us-west-2')
  })

  it('takes AWS_DEFAULT_REGION over the profile', async () => {
    givenEnv({AWS_DEFAULT_REGION: 'us-east-2'})
    expect((await resolveAwsSettings({})).region).toBe('us-east-2')
  })

  it('falls back on the default profile\'s region', async () => {
    const settings = await resolveAwsSettings({})
    expect(settings).toMatchObject({region: 'eu-central-1', profile: undefined, endpoint: undefined, maxAttempts: 5})
  })

  it('reads the region of the profile named by the flag', async () => {
    const settings = await resolveAwsSettings({profile: 'dev'})
    expect(settings).toMatchObject({region: 'ap-southeast-2', profile: 'dev', profileSource: '--profile'})
  })

  it('reads the region of the profile named by AWS_PROFILE', async () => {
    givenEnv({AWS_PROFILE: 'dev'})
    const settings = await resolveAwsSettings({})
    expect(settings).toMatchObject({region: 'ap-southeast-2', profile: 'dev', profileSource: 'AWS_PROFILE'})
  })

  it('takes the --profile flag over AWS_PROFILE', async () => {
    givenEnv({AWS_PROFILE: 'no-region'})
    const settings = await resolveAwsSettings({profile: 'dev'})
    expect(settings).toMatchObject({region: 'ap-southeast-2', profile: 'dev'})
  })

  it('treats empty AWS_REGION and AWS_DEFAULT_REGION as unset', async () => {
    givenEnv({AWS_REGION: '', AWS_DEFAULT_REGION: ''})
    expect((await resolveAwsSettings({})).region).toBe('eu-central-1')
  })

  it('treats an empty AWS_REGION as unset and uses AWS_DEFAULT_REGION', async () => {
    givenEnv({AWS_REGION: '', AWS_DEFAULT_REGION: 'us-east-2'})
    expect((await resolveAwsSettings({})).region).toBe('us-east-2')
  })

  it('treats an empty AWS_PROFILE as unset', async () => {
    givenEnv({AWS_PROFILE: ''})
    expect(await resolveAwsSettings({})).toMatchObject({region: 'eu-central-1', profile: undefined})
  })

  it('fails with a configuration error, exit 253, when no Region is set anywhere', async () => {
    // given a profile without a region and no Region in the environment
    // when the settings are resolved
    const error = await errorFrom({profile: 'no-region'})
    // then the error says how to set one
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).exitCode).toBe(EXIT.configuration)
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect((error as ConfigurationError).message).toContain('No AWS Region is configured')
  })

  it('fails with exit 253 when there are no AWS files at all and no Region', async () => {
    process.env.AWS_CONFIG_FILE = join(directory, 'missing-config')
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(directory, 'missing-credentials')
    const error = await errorFrom({})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).exitCode).toBe(253)
  })

  it('rejects a Region from the environment that is not a Region name: exit 253, naming the variable', async () => {
    givenEnv({AWS_REGION: 'US East 1'})
    const error = await errorFrom({})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect((error as ConfigurationError).message).toContain("AWS_REGION 'US East 1'")
  })

  it('rejects a Region flag that is not a Region name: exit 252, naming the flag', async () => {
    const error = await errorFrom({region: 'US East 1'})
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).toMatch(/^--region 'US East 1' is not a Region name/)
  })

  it("names the profile whose region is not a Region name, with a capital first letter", async () => {
    givenAwsFiles('[profile ma]\nregion = Mars!\n')
    const error = await errorFrom({profile: 'ma'})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).message).toBe("Profile ma's region 'Mars!' is not a Region name such as us-east-1.")
  })
})

describe('resolveAwsSettings: profile', () => {
  it('fails with a configuration error, exit 253, for an unknown profile, naming it', async () => {
    const error = await errorFrom({profile: 'nope', region: 'us-east-1'})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect((error as ConfigurationError).message).toContain('(nope)')
    expect((error as ConfigurationError).message).toContain('--profile')
  })

  it('says AWS_PROFILE named the unknown profile when it did', async () => {
    givenEnv({AWS_PROFILE: 'nope'})
    const error = await errorFrom({region: 'us-east-1'})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).message).toContain('AWS_PROFILE')
  })

  it('names what named the unknown profile when it was not --profile', async () => {
    const error = await errorFrom({profile: 'nope', profileNamedBy: '--profiles', region: 'us-east-1'})
    expect((error as ConfigurationError).message).toContain('(nope) named by --profiles could not be found')
  })

  it('accepts a profile that is only in the credentials file', async () => {
    const settings = await resolveAwsSettings({profile: 'keys-only', region: 'us-east-1'})
    expect(settings).toMatchObject({profile: 'keys-only', region: 'us-east-1'})
  })

  it('rejects an empty --profile as a usage error', async () => {
    const error = await errorFrom({profile: ''})
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(252)
  })
})

describe('resolveAwsSettings: empty flags', () => {
  it.each([
    ['--region', {region: ''}],
    ['--endpoint-url', {endpointUrl: ''}],
  ])('rejects an empty %s as a usage error instead of falling back on the environment', async (flag, options) => {
    // given an environment that would otherwise supply the value
    givenEnv({AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566'})
    // when the flag is given empty
    const error = await errorFrom(options)
    // then it is a usage error that names the flag
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(252)
    expect((error as UsageError).message).toContain(flag)
  })
})

describe('resolveAwsSettings: endpoint', () => {
  it('takes the flag over AWS_ENDPOINT_URL_KMS and AWS_ENDPOINT_URL', async () => {
    givenEnv({AWS_ENDPOINT_URL_KMS: 'http://kms.local:4566', AWS_ENDPOINT_URL: 'http://all.local:4566'})
    const settings = await resolveAwsSettings({endpointUrl: 'https://flag.example.com'})
    expect(settings.endpoint).toBe('https://flag.example.com')
  })

  it('takes AWS_ENDPOINT_URL_KMS over AWS_ENDPOINT_URL', async () => {
    givenEnv({AWS_ENDPOINT_URL_KMS: 'http://kms.local:4566', AWS_ENDPOINT_URL: 'http://all.local:4566'})
    expect((await resolveAwsSettings({})).endpoint).toBe('http://kms.local:4566')
  })

  it('falls back on AWS_ENDPOINT_URL', async () => {
    givenEnv({AWS_ENDPOINT_URL: 'http://all.local:4566'})
    expect((await resolveAwsSettings({})).endpoint).toBe('http://all.local:4566')
  })

  it('treats an empty AWS_ENDPOINT_URL_KMS as unset', async () => {
    givenEnv({AWS_ENDPOINT_URL_KMS: '', AWS_ENDPOINT_URL: 'http://all.local:4566'})
    expect((await resolveAwsSettings({})).endpoint).toBe('http://all.local:4566')
  })

  it('leaves the endpoint to the SDK when nothing sets one', async () => {
    givenEnv({AWS_ENDPOINT_URL_KMS: '', AWS_ENDPOINT_URL: ''})
    expect((await resolveAwsSettings({})).endpoint).toBeUndefined()
  })

  it.each([
    ['--endpoint-url', {endpointUrl: 'localhost:4566'}, {}, "--endpoint-url 'localhost:4566'"],
    ['--endpoint-url', {endpointUrl: 'kms.example.com'}, {}, "--endpoint-url 'kms.example.com'"],
    ['AWS_ENDPOINT_URL_KMS', {}, {AWS_ENDPOINT_URL_KMS: 'kms.local'}, "AWS_ENDPOINT_URL_KMS 'kms.local'"],
    ['AWS_ENDPOINT_URL', {}, {AWS_ENDPOINT_URL: 'ftp://kms.local'}, "AWS_ENDPOINT_URL 'ftp://kms.local'"],
  ])(
    'rejects an endpoint without an http(s) scheme from %s: exit 252 for the flag, else 253',
    async (source, options: AwsOptions, env: Record<string, string>, named) => {
      givenEnv(env)
      const error = await errorFrom(options)
      expect(error).toBeInstanceOf(source.startsWith('--') ? UsageError : ConfigurationError)
      expect((error as UsageError).exitCode).toBe(source.startsWith('--') ? 252 : 253)
      expect((error as UsageError).message).toContain(named)
    },
  )
})

describe('resolveAwsSettings: endpoint from the config file', () => {
  const ENDPOINT_CONFIG = `[default]
region = us-east-1

[profile global]
region = us-east-1
endpoint_url = http://127.0.0.1:4001

[profile per-service]
region = us-east-1
endpoint_url = http://127.0.0.1:4001
services = local

[profile ignoring]
region = us-east-1
endpoint_url = http://127.0.0.1:4001
ignore_configured_endpoint_urls = true

[services local]
kms =
  endpoint_url = http://127.0.0.1:4002
`

  it('reads the profile\'s endpoint_url', async () => {
    givenAwsFiles(ENDPOINT_CONFIG)
    expect((await resolveAwsSettings({profile: 'global'})).endpoint).toBe('http://127.0.0.1:4001')
  })

  it('prefers the kms entry of the profile\'s services section', async () => {
    givenAwsFiles(ENDPOINT_CONFIG)
    expect((await resolveAwsSettings({profile: 'per-service'})).endpoint).toBe('http://127.0.0.1:4002')
  })

  it('prefers AWS_ENDPOINT_URL over the config file', async () => {
    givenAwsFiles(ENDPOINT_CONFIG)
    givenEnv({AWS_ENDPOINT_URL: 'http://127.0.0.1:4003'})
    expect((await resolveAwsSettings({profile: 'per-service'})).endpoint).toBe('http://127.0.0.1:4003')
  })

  it('ignores configured endpoints when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true, but not the flag', async () => {
    givenAwsFiles(ENDPOINT_CONFIG)
    givenEnv({AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true', AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:4003'})
    expect((await resolveAwsSettings({profile: 'global'})).endpoint).toBeUndefined()
    const flagged = await resolveAwsSettings({profile: 'global', endpointUrl: 'http://127.0.0.1:4004'})
    expect(flagged.endpoint).toBe('http://127.0.0.1:4004')
  })

  it('ignores configured endpoints when the profile says so', async () => {
    givenAwsFiles(ENDPOINT_CONFIG)
    expect((await resolveAwsSettings({profile: 'ignoring'})).endpoint).toBeUndefined()
  })

  it('rejects an endpoint with white space around it', async () => {
    const error = await errorFrom({endpointUrl: ' http://127.0.0.1:4001'})
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).toContain('white space around it')
  })

  it('leaves user name and password out of the message about a bad endpoint', async () => {
    const error = await errorFrom({endpointUrl: 'http://ops:hunter2@127.0.0.1:99999'})
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).not.toContain('hunter2')
  })
})

describe('resolveAwsSettings: retry mode', () => {
  it('is adaptive unless configured', async () => {
    expect((await resolveAwsSettings({region: 'us-east-1'})).retryMode).toBe('adaptive')
  })

  it('takes AWS_RETRY_MODE', async () => {
    givenEnv({AWS_RETRY_MODE: 'standard'})
    expect((await resolveAwsSettings({region: 'us-east-1'})).retryMode).toBe('standard')
  })

  it('rejects an unknown retry mode as a configuration error, exit 253', async () => {
    givenEnv({AWS_RETRY_MODE: 'bogus'})
    const error = await errorFrom({region: 'us-east-1'})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect((error as ConfigurationError).message).toContain("AWS_RETRY_MODE 'bogus'")
  })
})

describe('resolveAwsSettings: attempts per call', () => {
  it('makes five attempts unless configured', async () => {
    expect((await resolveAwsSettings({region: 'us-east-1'})).maxAttempts).toBe(5)
  })

  it('takes AWS_MAX_ATTEMPTS before the profile', async () => {
    givenAwsFiles('[default]\nmax_attempts = 7\n')
    givenEnv({AWS_MAX_ATTEMPTS: '2'})
    expect((await resolveAwsSettings({region: 'us-east-1'})).maxAttempts).toBe(2)
  })

  it("takes the profile's max_attempts", async () => {
    givenAwsFiles('[default]\nmax_attempts = 7\n')
    expect((await resolveAwsSettings({region: 'us-east-1'})).maxAttempts).toBe(7)
  })

  it.each(['0', 'three', '-1', '1.5'])('rejects AWS_MAX_ATTEMPTS %s as a configuration error, exit 253', async (value) => {
    givenEnv({AWS_MAX_ATTEMPTS: value})
    const error = await errorFrom({region: 'us-east-1'})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).message).toContain(`AWS_MAX_ATTEMPTS '${value}'`)
  })
})

describe('cliProfileSettings', () => {
  const config = `[default]
cli_pager = less -R
cli_auto_prompt = on-partial

[profile dev]
cli_pager = more

[profile quiet]
cli_pager =
`

  it("reads the default profile's cli_pager and cli_auto_prompt", async () => {
    givenAwsFiles(config)
    expect(await cliProfileSettings(undefined)).toEqual({cliPager: 'less -R', cliAutoPrompt: 'on-partial'})
  })

  it('reads the named profile only, without falling back on the default one', async () => {
    givenAwsFiles(config)
    expect(await cliProfileSettings('dev')).toEqual({cliPager: 'more', cliAutoPrompt: undefined})
  })

  it('reads an empty cli_pager as no pager', async () => {
    givenAwsFiles(config)
    expect((await cliProfileSettings('quiet')).cliPager ?? '').toBe('')
  })

  it('has nothing for a profile that only the credentials file knows', async () => {
    expect(await cliProfileSettings('keys-only')).toEqual({cliPager: undefined, cliAutoPrompt: undefined})
  })
})

/** A CA certificate made for these tests; only its form matters, never its trust. */
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUOHCmLZpT06LSz2n+P7Xxq05p63cwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXa21zLXJvdGF0ZSB1bml0IHRlc3QgQ0EwIBcNMjYxMjAzMTQw
OTI1WhgPMjEyNjExMDkxNDA5MjVaMCIxIDAeBgNVBAMMF2ttcy1yb3RhdGUgdW5p
dCB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEBA1zzumlKBQayOY
C10G+DsMC6tIJ2j1Xwp8trmpBNpxwqPS7lGGSyLnnYOmWWgCYaMUsq7+3jwHCkiN
+IRf4qNTMFEwHQYDVR0OBBYEFHbEy2JJf/nne4+YZ6xCwe70VYQhMB8GA1UdIwQY
MBaAFHbEy2JJf/nne4+YZ6xCwe70VYQhMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDSQAwRgIhAL9MwRnqeUKGNVS/TiGwYBgUgFcWBX8SZ+D8+t6PsteEAiEA
4lJIZ8OzD4lObdUTMGW5aMgVIOgeGAhsb8iqubtaz4Y=
-----END CERTIFICATE-----
`

describe('resolveAwsSettings: CA bundle', () => {
  /** A bundle file in the test's directory; each holds the same certificate and a comment naming it. */
  function bundle(name: string, content = `# ${name}\n${CA_PEM}`): string {
    const path = join(directory, name)
    writeFileSync(path, content)
    return path
  }

  function givenProfileBundle(path: string): void {
    givenAwsFiles(`[default]\nregion = us-east-1\nca_bundle = ${path}\n`)
  }

  it('is none unless something names one', async () => {
    expect((await resolveAwsSettings({region: 'us-east-1'})).caBundle).toBeUndefined()
  })

  it('takes the flag over AWS_CA_BUNDLE and the profile, and reads the file', async () => {
    givenProfileBundle(bundle('profile.pem'))
    givenEnv({AWS_CA_BUNDLE: bundle('env.pem')})
    const {caBundle} = await resolveAwsSettings({caBundle: bundle('flag.pem')})
    expect(caBundle).toEqual({path: join(directory, 'flag.pem'), source: '--ca-bundle', pem: `# flag.pem\n${CA_PEM}`})
  })

  it('takes AWS_CA_BUNDLE over the profile', async () => {
    givenProfileBundle(bundle('profile.pem'))
    givenEnv({AWS_CA_BUNDLE: bundle('env.pem')})
    const {caBundle} = await resolveAwsSettings({})
    expect(caBundle).toMatchObject({source: 'AWS_CA_BUNDLE', pem: `# env.pem\n${CA_PEM}`})
  })

  it("falls back on the profile's ca_bundle, and treats an empty AWS_CA_BUNDLE as unset", async () => {
    givenProfileBundle(bundle('profile.pem'))
    givenEnv({AWS_CA_BUNDLE: ''})
    expect((await resolveAwsSettings({})).caBundle).toMatchObject({source: "the default profile's ca_bundle"})
  })

  const namedBy: Array<[string, (path: string) => AwsOptions, string]> = [
    ['the flag', (path) => ({caBundle: path}), '--ca-bundle'],
    [
      'AWS_CA_BUNDLE',
      (path) => {
        givenEnv({AWS_CA_BUNDLE: path})
        return {}
      },
      'AWS_CA_BUNDLE',
    ],
    [
      'the profile',
      (path) => {
        givenProfileBundle(path)
        return {}
      },
      "the default profile's ca_bundle",
    ],
  ]

  it.each(namedBy)('fails with exit 253 naming the path and %s when the file is missing', async (_, arrange, named) => {
    // given
    const path = join(directory, 'missing.pem')
    const options = arrange(path)
    // when
    const error = await errorFrom({region: 'us-east-1', ...options})
    // then
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect((error as ConfigurationError).message).toBe(
      `The CA bundle '${path}' from ${named} cannot be read (ENOENT): give the path of a PEM file of CA certificates.`,
    )
  })

  it.each([
    ['holds no certificate', 'just some text\n', 'holds no PEM certificate'],
    ['holds a damaged certificate', CA_PEM.replace('MIIB', 'MIIX'), 'has an unreadable PEM certificate'],
  ])('fails with exit 253 when the file %s', async (_, content, says) => {
    const error = await errorFrom({region: 'us-east-1', caBundle: bundle('bad.pem', content)})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect((error as ConfigurationError).message).toContain(says)
  })

  it('is neither read nor checked with --no-verify-ssl, as the AWS CLI then ignores it', async () => {
    givenEnv({AWS_CA_BUNDLE: join(directory, 'missing.pem')})
    const settings = await resolveAwsSettings({region: 'us-east-1', verifySsl: false})
    expect(settings).toMatchObject({verifySsl: false, caBundle: undefined})
  })

  it('rejects an empty --ca-bundle as a usage error', async () => {
    const error = await errorFrom({region: 'us-east-1', caBundle: ''})
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).toContain('--ca-bundle is empty')
  })
})

describe('resolveAwsSettings: timeouts, TLS checks and signing', () => {
  it('uses the AWS CLI defaults: 60 s timeouts, certificates checked, requests signed', async () => {
    const settings = await resolveAwsSettings({region: 'us-east-1'})
    expect(settings).toMatchObject({connectTimeoutMs: 60_000, readTimeoutMs: 60_000})
    expect(settings).toMatchObject({verifySsl: true, signRequests: true})
  })

  it('takes the timeouts in seconds, 0 meaning no limit', async () => {
    const settings = await resolveAwsSettings({region: 'us-east-1', connectTimeoutSeconds: 0, readTimeoutSeconds: 5})
    expect(settings).toMatchObject({connectTimeoutMs: 0, readTimeoutMs: 5000})
  })

  it('passes --no-verify-ssl and --no-sign-request on', async () => {
    const settings = await resolveAwsSettings({region: 'us-east-1', verifySsl: false, signRequests: false})
    expect(settings).toMatchObject({verifySsl: false, signRequests: false})
  })
})

describe('describeSettings', () => {
  it('says in one line where requests go and how, without user names or passwords in the endpoint', async () => {
    // given a fully specified run
    givenEnv({AWS_PROFILE: 'dev'})
    const settings = await resolveAwsSettings({
      endpointUrl: 'https://ops:hunter2@kms.example.com',
      signRequests: false,
      readTimeoutSeconds: 0,
    })
    // when
    const line = describeSettings(settings)
    // then
    expect(line).toBe(
      'region=ap-southeast-2 profile=dev (AWS_PROFILE) endpoint=https://kms.example.com signing=none ' +
        'verify-ssl=true ca-bundle=- connect-timeout=60s read-timeout=none retry-mode=adaptive max-attempts=5',
    )
  })
})
