import {describe, expect, it} from 'vitest'

import {UsageError} from '../../src/lib/errors.js'
import {
  isReservedAliasName,
  parseExpectedCurrentKey,
  parseTargetKeyId,
  validateAliasName,
} from '../../src/lib/identifiers.js'
import {EXIT} from '../../src/lib/outcomes.js'

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab'
const MRK_ID = 'mrk-1234abcd12ab34cd56ef1234567890ab'
const KEY_ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`

/** Runs `action` and returns the error it throws; fails the test when it throws nothing. */
function errorFrom(action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }

  throw new Error('expected a usage error, but nothing was thrown')
}

function expectUsageError(action: () => unknown, ...fragments: string[]): void {
  const error = errorFrom(action)
  expect(error).toBeInstanceOf(UsageError)
  expect((error as UsageError).exitCode).toBe(EXIT.usage)
  expect((error as UsageError).exitCode).toBe(252)
  for (const fragment of fragments) expect((error as UsageError).message).toContain(fragment)
}

describe('validateAliasName', () => {
  it.each([
    ['a simple name', 'alias/app'],
    ['a name with every allowed character', 'alias/My_App-2/prod'],
    ['a name of exactly 256 characters', `alias/${'a'.repeat(250)}`],
    ['a name that only starts like a reserved one', 'alias/aws-app'],
  ])('accepts %s', (_, aliasName) => {
    // given a well-formed alias name
    // when it is validated / then nothing is thrown
    expect(() => validateAliasName(aliasName)).not.toThrow()
  })

  it('suggests the alias/ prefix when it is missing', () => {
    // given a bare name
    // when it is validated
    // then the message names the value and suggests alias/NAME
    expectUsageError(() => validateAliasName('my-app'), "'my-app'", "did you mean 'alias/my-app'?")
  })

  it.each([
    ['a dot', 'alias/my.app', "'.'", 'position 9'],
    ['a colon', 'alias/my:app', "':'", 'position 9'],
    ['a space', 'alias/my app', 'a space', 'position 9'],
    ['a non-ASCII letter', 'alias/café', "'é' (U+00E9)", 'position 10'],
    ['an emoji', 'alias/app-🔑', 'U+1F511', 'position 11'],
  ])('rejects a name that contains %s and says where', (_, aliasName, character, position) => {
    // given an alias name with a character KMS does not allow
    // when it is validated
    // then the message names the value, the character and its position
    expectUsageError(() => validateAliasName(aliasName), `'${aliasName}'`, character, position)
  })

  it('escapes a control character so that the message stays on one line', () => {
    // given a name with a newline in it
    // when it is validated / then the newline is shown escaped and named by its code point
    expectUsageError(() => validateAliasName('alias/app\nx'), "'alias/app\\nx'", 'U+000A')
    expect(() => validateAliasName('alias/app\nx')).toThrow(/^[^\n]*$/)
  })

  it('suggests the trimmed value for a name with white space around it', () => {
    expectUsageError(() => validateAliasName(' alias/app'), 'white space around it', "did you mean 'alias/app'?")
  })

  it('suggests a lower-case prefix for ALIAS/NAME', () => {
    expectUsageError(() => validateAliasName('ALIAS/app'), "did you mean 'alias/app'?")
  })

  it('rejects a name of 257 characters and gives the length', () => {
    // given a name one character over the KMS limit
    const aliasName = `alias/${'a'.repeat(251)}`
    expect(aliasName).toHaveLength(257)
    // when it is validated / then the message gives its length and the limit
    expectUsageError(() => validateAliasName(aliasName), '--alias-name', '257 characters', 'at most 256')
  })

  it('rejects an empty name', () => {
    expectUsageError(() => validateAliasName(''), '--alias-name is empty')
  })

  it('rejects the prefix alone', () => {
    expectUsageError(() => validateAliasName('alias/'), "'alias/'", 'no name after the prefix')
  })

  it.each([
    ['a key id', KEY_ID],
    ['a multi-Region key id', MRK_ID],
  ])('rejects %s given as the alias name', (_, keyId) => {
    expectUsageError(() => validateAliasName(keyId), `'${keyId}'`, 'is a key id, not an alias name')
  })

  it('rejects a key ARN given as the alias name', () => {
    expectUsageError(() => validateAliasName(KEY_ARN), `'${KEY_ARN}'`, 'is an ARN, not an alias name')
  })

  it('rejects an alias ARN and suggests the name alone', () => {
    // given the ARN of an alias instead of its name
    const aliasArn = 'arn:aws:kms:us-east-1:111122223333:alias/app'
    // when it is validated / then the message names the ARN and suggests alias/app
    expectUsageError(() => validateAliasName(aliasArn), `'${aliasArn}'`, 'give the name alone, alias/app')
  })
})

describe('isReservedAliasName', () => {
  it.each([
    ['alias/aws/ebs', true],
    ['alias/aws/', true],
    ['alias/aws', false],
    ['alias/aws-app', false],
    ['alias/app/aws/x', false],
  ])('says whether %s is under alias/aws/', (aliasName, reserved) => {
    expect(isReservedAliasName(aliasName)).toBe(reserved)
  })
})

describe('parseTargetKeyId', () => {
  it.each([
    ['a key id', KEY_ID],
    ['a multi-Region key id', MRK_ID],
    ['an upper-case key id', KEY_ID.toUpperCase()],
    ['an upper-case multi-Region key id', 'mrk-1234ABCD12AB34CD56EF1234567890AB'],
  ])('accepts %s and keeps it verbatim, with no ARN parts', (_, given) => {
    // when the id is parsed
    const parsed = parseTargetKeyId(given)
    // then the text to send is exactly what was given
    expect(parsed).toEqual({given})
  })

  it.each([
    ['a key ARN', KEY_ARN, {partition: 'aws', region: 'us-east-1', account: '111122223333', keyId: KEY_ID}],
    [
      'a multi-Region key ARN in GovCloud',
      `arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/${MRK_ID}`,
      {partition: 'aws-us-gov', region: 'us-gov-west-1', account: '111122223333', keyId: MRK_ID},
    ],
    [
      'a key ARN in China with an upper-case key id',
      `arn:aws-cn:kms:cn-north-1:111122223333:key/${KEY_ID.toUpperCase()}`,
      {partition: 'aws-cn', region: 'cn-north-1', account: '111122223333', keyId: KEY_ID.toUpperCase()},
    ],
  ])('accepts %s and splits it into its parts', (_, given, arn) => {
    // when the ARN is parsed
    const parsed = parseTargetKeyId(given)
    // then it is kept verbatim and its parts are known
    expect(parsed).toEqual({given, arn})
  })

  it('rejects an empty value', () => {
    expectUsageError(() => parseTargetKeyId(''), '--target-key-id is empty')
  })

  it('rejects an ARN whose partition does not hold its Region', () => {
    expectUsageError(
      () => parseTargetKeyId(`arn:aws-cn:kms:us-east-1:111122223333:key/${KEY_ID}`),
      "the Region 'us-east-1' is in partition 'aws', not 'aws-cn'",
    )
  })

  it('rejects an alias name', () => {
    expectUsageError(() => parseTargetKeyId('alias/app'), "'alias/app'", 'is an alias')
  })

  it('rejects an alias ARN', () => {
    const aliasArn = 'arn:aws:kms:us-east-1:111122223333:alias/app'
    expectUsageError(() => parseTargetKeyId(aliasArn), `'${aliasArn}'`, 'is an alias ARN')
  })

  it.each([
    ['a truncated key id', KEY_ID.slice(0, -1), 'expected a key id'],
    ['a key id with a non-hex digit', KEY_ID.replace('a', 'g'), 'expected a key id'],
    ['a multi-Region key id one digit short', MRK_ID.slice(0, -1), "'mrk-' and 32 hexadecimal digits"],
    ['a multi-Region key id one digit long', `${MRK_ID}0`, "'mrk-' and 32 hexadecimal digits"],
    ['a name', 'my-key', 'expected a key id'],
  ])('rejects %s', (_, given, hint) => {
    expectUsageError(() => parseTargetKeyId(given), `'${given}'`, 'is not a key id or key ARN', hint)
  })

  it.each([
    ['a wrong partition', `arn:gcp:kms:us-east-1:111122223333:key/${KEY_ID}`, "'gcp' is not an AWS"],
    ['a wrong service', `arn:aws:s3:us-east-1:111122223333:key/${KEY_ID}`, "the service is 's3', not 'kms'"],
    ['no Region', `arn:aws:kms::111122223333:key/${KEY_ID}`, "'' is not a Region"],
    ['a short account id', `arn:aws:kms:us-east-1:11112222333:key/${KEY_ID}`, "'11112222333' is not"],
    [
      'a wrong resource type',
      'arn:aws:kms:us-east-1:111122223333:grant/abc',
      "the resource 'grant/abc' is not key/ID",
    ],
    [
      'a truncated key id',
      `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID.slice(0, -1)}`,
      `'${KEY_ID.slice(0, -1)}' is not a key id`,
    ],
    [
      'a multi-Region key id of the wrong length',
      'arn:aws:kms:us-east-1:111122223333:key/mrk-1234',
      "'mrk-1234' is not a key id",
    ],
  ])('rejects an ARN with %s and says which part is wrong', (_, given, problem) => {
    // given an ARN with one bad part
    // when it is parsed
    // then the message names the value and the bad part
    expectUsageError(() => parseTargetKeyId(given), `'${given}'`, 'is not a key ARN', problem)
  })
})

describe('parseExpectedCurrentKey', () => {
  it.each([
    ['a key id', KEY_ID, {given: KEY_ID}],
    ['a multi-Region key id', MRK_ID, {given: MRK_ID}],
    [
      'a key ARN',
      KEY_ARN,
      {given: KEY_ARN, arn: {partition: 'aws', region: 'us-east-1', account: '111122223333', keyId: KEY_ID}},
    ],
  ])('accepts %s as --target-key-id does', (_, given, parsed) => {
    expect(parseExpectedCurrentKey(given)).toEqual(parsed)
  })

  it.each([
    ['an empty value', '', '--expected-current-key is empty: give the id or ARN of the key the alias points to now.'],
    ['an alias name', 'alias/app', "--expected-current-key 'alias/app' is an alias: give the id or ARN of the key"],
    ['a name', 'my-key', "--expected-current-key 'my-key' is not a key id or key ARN"],
    ['a key id with white space around it', ` ${KEY_ID}`, `--expected-current-key ' ${KEY_ID}' has white space`],
  ])('rejects %s, naming its own flag', (_, given, message) => {
    expectUsageError(() => parseExpectedCurrentKey(given), message)
  })
})
