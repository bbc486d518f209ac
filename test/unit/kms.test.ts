import {DescribeKeyCommand, KMSClient, ListAliasesCommand, ListKeysCommand} from '@aws-sdk/client-kms'
import {beforeEach, describe, expect, it} from 'vitest'

import {ConfigurationError, IncompleteListingError, KmsRotateError, ServiceError} from '../../src/lib/errors.js'
import {endpointOf, KmsGateway, toKmsRotateError} from '../../src/lib/kms.js'
import {EXIT} from '../../src/lib/outcomes.js'
import {
  aliasEntry,
  connectionRefused,
  CURRENT_KEY_ID,
  ENDPOINT,
  keyArn,
  keyMetadata,
  kmsMock,
  newGateway,
  REGION,
  serviceException,
  TARGET_KEY_ID,
} from '../support/kms-mock.js'

beforeEach(() => {
  kmsMock.reset()
})

describe('toKmsRotateError', () => {
  it('keeps the code and message of a KMS error answer, in the AWS CLI format, exit 254', () => {
    const answer = serviceException('KMSInvalidStateException', 'key is pending')
    const error = toKmsRotateError(answer, 'UpdateAlias', {endpoint: ENDPOINT})
    expect(error).toBeInstanceOf(ServiceError)
    expect((error as ServiceError).exitCode).toBe(EXIT.service)
    expect(error.message).toBe(
      'An error occurred (KMSInvalidStateException) when calling the UpdateAlias operation: key is pending',
    )
  })

  it('turns a missing credential chain into a configuration error, exit 253', () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    })
    const error = toKmsRotateError(missing, 'DescribeKey', {endpoint: ENDPOINT})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect(error.message).toContain('Unable to locate credentials')
  })

  it('passes on why a named credential source failed, instead of the generic advice', () => {
    // given a profile whose credential_process failed
    const failed = Object.assign(new Error('Profile p2 credential_process exited with code 1\nmore'), {
      name: 'CredentialsProviderError',
    })
    const error = toKmsRotateError(failed, 'DescribeKey', {endpoint: ENDPOINT})
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect(error.message).toBe('Unable to locate credentials: Profile p2 credential_process exited with code 1.')
  })

  it('points at the named profile when the whole credential chain came up empty', () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    })
    const error = toKmsRotateError(missing, 'DescribeKey', {endpoint: ENDPOINT, profile: 'broken'})
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect(error.message).toContain('Unable to locate credentials for profile broken')
    expect(error.message).not.toContain('pass --profile')
  })

  it('escapes control characters in a message from the server, keeping it on one line', () => {
    const answer = serviceException('AccessDeniedException', 'denied\n\u001b[31mred')
    const error = toKmsRotateError(answer, 'UpdateAlias', {endpoint: ENDPOINT})
    expect(error.message).toBe(
      'An error occurred (AccessDeniedException) when calling the UpdateAlias operation: denied\\n\\u001b[31mred',
    )
    expect((error as ServiceError).detail).toBe('denied\\n\\u001b[31mred')
  })

  it('turns a refused connection into exit 255 naming the endpoint and the operation', () => {
    const error = toKmsRotateError(connectionRefused(), 'ListAliases', {endpoint: ENDPOINT})
    expect(error).toBeInstanceOf(KmsRotateError)
    expect(error).not.toBeInstanceOf(ServiceError)
    expect((error as KmsRotateError).exitCode).toBe(255)
    expect(error.message).toBe(
      `Could not connect to the endpoint URL: "${ENDPOINT}" ` +
        '(ListAliases: connect ECONNREFUSED 127.0.0.1:443).',
    )
  })

  it('turns a read timeout into a read timeout on the endpoint, exit 255', () => {
    const timeout = Object.assign(new Error('the request socket timed out after 60000 ms of inactivity'), {
      name: 'TimeoutError',
    })
    const error = toKmsRotateError(timeout, 'DescribeKey', {endpoint: ENDPOINT})
    expect((error as KmsRotateError).exitCode).toBe(255)
    expect(error.message).toBe(`Read timeout on endpoint URL: "${ENDPOINT}" (DescribeKey).`)
  })

  it('turns a connect timeout into a connect timeout on the endpoint, exit 255', () => {
    const timeout = Object.assign(
      new Error('the request socket did not establish a connection with the server within 60000 ms.'),
      {name: 'TimeoutError'},
    )
    const error = toKmsRotateError(timeout, 'DescribeKey', {endpoint: ENDPOINT})
    expect((error as KmsRotateError).exitCode).toBe(255)
    expect(error.message).toBe(`Connect timeout on endpoint URL: "${ENDPOINT}" (DescribeKey).`)
  })

  it('says a reset connection closed, not that it timed out, though the SDK names it TimeoutError', () => {
    const reset = Object.assign(new Error('socket hang up'), {name: 'TimeoutError', code: 'ECONNRESET'})
    const error = toKmsRotateError(reset, 'UpdateAlias', {endpoint: ENDPOINT})
    expect((error as KmsRotateError).exitCode).toBe(255)
    expect(error.message).toBe(`The connection to "${ENDPOINT}" closed before UpdateAlias was answered.`)
  })

  it('turns an answer the SDK cannot read into a service error naming the HTTP status, exit 254', () => {
    // given what the SDK throws for a proxy's HTML error page: an HTTP status but no $fault
    const unreadable = Object.assign(new SyntaxError('Unexpected token \'<\'\n  Deserialization error: ...'), {
      $metadata: {httpStatusCode: 502},
    })
    const error = toKmsRotateError(unreadable, 'DescribeKey', {endpoint: ENDPOINT})
    expect(error).toBeInstanceOf(ServiceError)
    expect((error as ServiceError).exitCode).toBe(254)
    expect(error.message).toBe(
      'An error occurred (502) when calling the DescribeKey operation: HTTP 502 with a body that is not a KMS answer',
    )
  })

  it('turns a success status with an unreadable body into exit 255 naming the endpoint', () => {
    // given what the SDK throws when something other than KMS answers 200
    const unreadable = Object.assign(new SyntaxError('Unexpected token'), {$metadata: {httpStatusCode: 200}})
    const error = toKmsRotateError(unreadable, 'DescribeKey', {endpoint: ENDPOINT})
    expect(error).not.toBeInstanceOf(ServiceError)
    expect((error as KmsRotateError).exitCode).toBe(255)
    expect(error.message).toBe(
      `The endpoint "${ENDPOINT}" answered DescribeKey with HTTP 200 but not as KMS does: check that it is a KMS endpoint.`,
    )
  })

  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"],
  ])('turns the certificate failure %s into an SSL validation error naming --ca-bundle, exit 255', (code, message) => {
    const tls = Object.assign(new Error(message), {code})
    const error = toKmsRotateError(tls, 'DescribeKey', {endpoint: ENDPOINT})
    expect((error as KmsRotateError).exitCode).toBe(255)
    expect(error.message).toBe(
      `SSL validation failed for ${ENDPOINT}: ${message}. ` +
        'If its CA is private, name a PEM file of it with --ca-bundle or AWS_CA_BUNDLE.',
    )
  })

  it('turns a broken TLS exchange into an SSL validation error without the CA advice, exit 255', () => {
    const tls = Object.assign(new Error('write EPROTO ... wrong version number'), {code: 'EPROTO'})
    const error = toKmsRotateError(tls, 'DescribeKey', {endpoint: ENDPOINT})
    expect((error as KmsRotateError).exitCode).toBe(255)
    expect(error.message).toBe(`SSL validation failed for ${ENDPOINT}: write EPROTO ... wrong version number.`)
  })

  it.each([
    'The SSO session associated with this profile is invalid. To refresh this SSO session run aws sso login ' +
      'with the corresponding profile.',
    'The SSO session token associated with profile=dev was not found or is invalid. ' +
      "To refresh this SSO session run 'aws sso login' with the corresponding profile.",
    "Token is expired. To refresh this SSO session run 'aws sso login' with the corresponding profile.",
  ])('says to run aws sso login for the profile when its SSO token is missing or expired, exit 253: %s', (message) => {
    const sso = Object.assign(new Error(message), {name: 'CredentialsProviderError'})
    const error = toKmsRotateError(sso, 'DescribeKey', {endpoint: ENDPOINT, profile: 'dev'})
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect(error.message).toBe(
      'Unable to locate credentials: the SSO token of profile dev is missing, invalid or expired. ' +
        'Run "aws sso login --profile dev", then run this command again.',
    )
  })

  it('says to run aws sso login without --profile for the default profile', () => {
    const sso = Object.assign(new Error("Token is expired. To refresh this SSO session run 'aws sso login' ..."), {
      name: 'TokenProviderError',
    })
    const error = toKmsRotateError(sso, 'DescribeKey', {endpoint: ENDPOINT})
    expect((error as ConfigurationError).exitCode).toBe(253)
    expect(error.message).toContain('the SSO token of the default profile is missing')
    expect(error.message).toContain('Run "aws sso login", then')
  })

  it('passes an abort through unchanged', () => {
    const abort = Object.assign(new Error('The operation was aborted'), {name: 'AbortError'})
    expect(toKmsRotateError(abort, 'ListAliases', {endpoint: ENDPOINT})).toBe(abort)
  })
})

describe('endpointOf', () => {
  it.each([
    ['us-east-1', undefined, 'https://kms.us-east-1.amazonaws.com'],
    ['cn-north-1', undefined, 'https://kms.cn-north-1.amazonaws.com.cn'],
    ['us-east-1', 'http://localhost:4566', 'http://localhost:4566'],
    ['us-east-1', 'https://ops:hunter2@kms.example.com', 'https://kms.example.com'],
  ])('names the endpoint requests go to (%s, %s)', (region, endpoint, expected) => {
    expect(endpointOf({region, endpoint})).toBe(expected)
  })
})

describe('KmsGateway', () => {
  it('counts each operation it calls, failed calls included', async () => {
    // given one DescribeKey that answers and one ListAliases that fails
    kmsMock.on(DescribeKeyCommand).resolves({KeyMetadata: keyMetadata(TARGET_KEY_ID)})
    kmsMock.on(ListAliasesCommand).rejects(serviceException('AccessDeniedException', 'denied'))
    const kms = newGateway()
    // when both are called
    await kms.describeKey(TARGET_KEY_ID)
    await expect(kms.listAliasesPage(TARGET_KEY_ID, undefined)).rejects.toBeInstanceOf(ServiceError)
    // then both are counted
    expect(kms.apiCalls).toEqual({DescribeKey: 1, ListAliases: 1})
  })

  it('treats a DescribeKey answer without KeyMetadata as a service error', async () => {
    kmsMock.on(DescribeKeyCommand).resolves({})
    const error = await newGateway().describeKey(TARGET_KEY_ID).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ServiceError)
    expect((error as ServiceError).code).toBe('EmptyResponse')
  })

  it('logs one line per call: operation, endpoint, status, request id, never credentials', async () => {
    // given a gateway with a debug log
    kmsMock.on(DescribeKeyCommand).resolves({
      KeyMetadata: keyMetadata(TARGET_KEY_ID),
      $metadata: {httpStatusCode: 200, requestId: 'req-1', attempts: 2},
    })
    const lines: string[] = []
    const client = new KMSClient({
      region: REGION,
      credentials: {accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'fake-secret-access-key'},
    })
    const kms = new KmsGateway(client, {endpoint: ENDPOINT}, (line) => lines.push(line))
    // when a call is made
    await kms.describeKey(TARGET_KEY_ID)
    // then one line tells what happened and nothing secret
    expect(lines).toHaveLength(1)
    expect(lines[0]?.startsWith(`DescribeKey ${ENDPOINT} status=200 requestId=req-1 retries=1 `)).toBe(true)
    expect(lines[0]).toMatch(/ \d+ms$/)
    expect(lines[0]).not.toContain('AKIA')
    expect(lines[0]).not.toContain('fake-secret')
  })

  it('asks ListAliases for the whole account, page by page, 100 at a time', async () => {
    kmsMock.on(ListAliasesCommand).resolves({Aliases: [], Truncated: true, NextMarker: 'next'})
    const page = await newGateway().listAliasesPage('previous')
    expect(page).toEqual({aliases: [], truncated: true, nextMarker: 'next'})
    expect(kmsMock).toHaveReceivedCommandWith(ListAliasesCommand, {Marker: 'previous', Limit: 100})
    expect(kmsMock.commandCalls(ListAliasesCommand)[0].args[0].input.KeyId).toBeUndefined()
  })

  it('lists every alias of the account by following NextMarker, counting each page', async () => {
    // given two pages of aliases
    kmsMock
      .on(ListAliasesCommand, {Marker: undefined})
      .resolves({Aliases: [aliasEntry('alias/a', CURRENT_KEY_ID)], Truncated: true, NextMarker: 'page-2'})
      .on(ListAliasesCommand, {Marker: 'page-2'})
      .resolves({Aliases: [aliasEntry('alias/b', TARGET_KEY_ID)], Truncated: false})
    const kms = newGateway()
    // when
    const aliases = await kms.listAliases()
    // then both pages are read, for the whole account (no KeyId)
    expect(aliases.map((alias) => alias.AliasName)).toEqual(['alias/a', 'alias/b'])
    expect(kmsMock).toHaveReceivedCommandTimes(ListAliasesCommand, 2)
    expect(kmsMock).toHaveReceivedNthCommandWith(ListAliasesCommand, 2, {Marker: 'page-2'})
    for (const call of kmsMock.commandCalls(ListAliasesCommand)) expect(call.args[0].input.KeyId).toBeUndefined()
    expect(kms.apiCalls).toEqual({ListAliases: 2})
  })

  it('lists every key of the account by following NextMarker', async () => {
    kmsMock
      .on(ListKeysCommand, {Marker: undefined})
      .resolves({Keys: [{KeyId: CURRENT_KEY_ID}], Truncated: true, NextMarker: 'page-2'})
      .on(ListKeysCommand, {Marker: 'page-2'})
      .resolves({Keys: [{KeyId: TARGET_KEY_ID}]})
    const kms = newGateway()
    expect((await kms.listKeys()).map((key) => key.KeyId)).toEqual([CURRENT_KEY_ID, TARGET_KEY_ID])
    expect(kms.apiCalls).toEqual({ListKeys: 2})
  })

  it('turns a failed ListKeys into the AWS CLI-style service error', async () => {
    kmsMock.on(ListKeysCommand).rejects(serviceException('AccessDeniedException', 'not allowed'))
    const error = await newGateway().listKeys().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ServiceError)
    expect((error as ServiceError).message).toBe(
      'An error occurred (AccessDeniedException) when calling the ListKeys operation: not allowed',
    )
  })

  it('lists the aliases of one key across every page', async () => {
    // given two pages of aliases for the key
    const keyId = keyArn(TARGET_KEY_ID)
    kmsMock
      .on(ListAliasesCommand, {KeyId: keyId, Marker: undefined})
      .resolves({Aliases: [aliasEntry('alias/one', TARGET_KEY_ID)], Truncated: true, NextMarker: 'next'})
      .on(ListAliasesCommand, {KeyId: keyId, Marker: 'next'})
      .resolves({Aliases: [aliasEntry('alias/two', TARGET_KEY_ID)], Truncated: false})
    const kms = newGateway()
    // when they are listed
    const aliases = await kms.listAliasesOfKey(keyId)
    // then both pages were read, 100 at a time, filtered by the key
    expect(aliases.map((alias) => alias.AliasName)).toEqual(['alias/one', 'alias/two'])
    expect(kmsMock).toHaveReceivedCommandWith(ListAliasesCommand, {KeyId: keyId, Marker: 'next', Limit: 100})
    expect(kms.apiCalls).toEqual({ListAliases: 2})
  })

  it('stops listing a key\'s aliases at a page that says Truncated without a NextMarker', async () => {
    kmsMock.on(ListAliasesCommand).resolves({Aliases: [], Truncated: true})
    const listing = newGateway().listAliasesOfKey(TARGET_KEY_ID)
    await expect(listing).rejects.toBeInstanceOf(IncompleteListingError)
    await expect(listing).rejects.toThrow('ListAliases page 1 says Truncated but gives no NextMarker')
  })
})
