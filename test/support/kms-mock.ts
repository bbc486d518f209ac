import 'aws-sdk-client-mock-vitest/extend'

import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  KMSServiceException,
  ListGrantsCommand,
  NotFoundException,
  type AliasListEntry,
  type GrantListEntry,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import {mockClient} from 'aws-sdk-client-mock'

import {KmsGateway} from '../../src/lib/kms.js'

export const REGION = 'us-east-1'
export const ACCOUNT = '111122223333'
export const OTHER_ACCOUNT = '444455556666'
export const ENDPOINT = `https://kms.${REGION}.amazonaws.com`

export const ALIAS = 'alias/app'
export const CURRENT_KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab'
export const TARGET_KEY_ID = '0987dcba-09fe-87dc-65ba-ab0987654321'
/** A key that neither the alias nor the rotation names: where another writer moves the alias. */
export const THIRD_KEY_ID = '5555eeee-55ee-55ee-55ee-5555eeee5555'

/** Every KMSClient in the test file answers from this mock; reset it before each test. */
export const kmsMock = mockClient(KMSClient)

export function keyArn(keyId: string, region = REGION, account = ACCOUNT): string {
  return `arn:aws:kms:${region}:${account}:key/${keyId}`
}

/** A customer managed, Enabled symmetric encryption key unless `overrides` say otherwise. */
export function keyMetadata(keyId: string, overrides: Partial<KeyMetadata> = {}): KeyMetadata {
  return {
    KeyId: keyId,
    Arn: keyArn(keyId),
    AWSAccountId: ACCOUNT,
    KeyState: 'Enabled',
    Enabled: true,
    KeyManager: 'CUSTOMER',
    KeySpec: 'SYMMETRIC_DEFAULT',
    KeyUsage: 'ENCRYPT_DECRYPT',
    Origin: 'AWS_KMS',
    CreationDate: new Date('2024-01-02T03:04:05Z'),
    ...overrides,
  }
}

/** A gateway over a real KMSClient whose `send` the mock answers; it never reaches the network. */
export function newGateway(): KmsGateway {
  // The SDK's notice about the Node version is for maintainers, not test output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const client = new KMSClient({
    region: REGION,
    credentials: {accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'fake-secret-access-key'},
  })
  return new KmsGateway(client, {endpoint: ENDPOINT})
}

/** The policy KMS gives a key created without one: IAM policies in the account decide. */
export function defaultKeyPolicy(account = ACCOUNT): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: {AWS: `arn:aws:iam::${account}:root`},
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  })
}

/**
 * DescribeKey answers for the alias and for the target, each looked up by the text sent. Every
 * key gets the default key policy and no grants; for other answers, call givenKeyAccess after this,
 * since the mock answers from the last matching setup.
 */
export function describeKeys(answers: Record<string, KeyMetadata>): void {
  kmsMock.on(GetKeyPolicyCommand).resolves({Policy: defaultKeyPolicy(), PolicyName: 'default'})
  kmsMock.on(ListGrantsCommand).resolves({Grants: [], Truncated: false})
  for (const [keyId, metadata] of Object.entries(answers)) {
    kmsMock.on(DescribeKeyCommand, {KeyId: keyId}).resolves({KeyMetadata: metadata})
  }
}

/**
 * ListAliases input as the visibility poll sends it, with no KeyId. Give the poll's answers for
 * this input only: the mock counts a call against every answer it matches, so an answer for
 * every ListAliases would also count the preflight's call filtered by key.
 */
export const UNFILTERED = {KeyId: undefined}

/** How many ListAliases calls the visibility poll made. */
export function pollCalls(): number {
  return kmsMock.commandCalls(ListAliasesCommand, UNFILTERED).length
}

/**
 * The answer to ListAliases filtered by `keyId`, which the preflight asks with the key's ARN:
 * `count` customer aliases named alias/other-N, plus any `more`.
 */
export function aliasesOnKey(keyId: string, count = 0, ...more: AliasListEntry[]): void {
  const others = Array.from({length: count}, (_, index) => aliasEntry(`alias/other-${index}`, keyId))
  kmsMock.on(ListAliasesCommand, {KeyId: keyArn(keyId)}).resolves({Aliases: [...others, ...more], Truncated: false})
}

/** The key policy (an object, or JSON text as given) and grants of one key, read by its ARN. */
export function givenKeyAccess(keyId: string, access: {policy?: object | string; grants?: GrantListEntry[]}): void {
  const {policy, grants} = access
  if (policy !== undefined) {
    const text = typeof policy === 'string' ? policy : JSON.stringify(policy)
    kmsMock.on(GetKeyPolicyCommand, {KeyId: keyArn(keyId)}).resolves({Policy: text, PolicyName: 'default'})
  }

  if (grants !== undefined) kmsMock.on(ListGrantsCommand, {KeyId: keyArn(keyId)}).resolves({Grants: grants})
}

export function aliasEntry(aliasName: string, targetKeyId: string): AliasListEntry {
  return {
    AliasName: aliasName,
    AliasArn: `arn:aws:kms:${REGION}:${ACCOUNT}:${aliasName}`,
    TargetKeyId: targetKeyId,
  }
}

export function notFound(message: string): NotFoundException {
  return new NotFoundException({message, $metadata: {httpStatusCode: 400}})
}

/** A KMS error answer the SDK has no class for, such as AccessDeniedException. */
export function serviceException(name: string, message: string, httpStatusCode = 400): KMSServiceException {
  return new KMSServiceException({name, message, $fault: 'client', $metadata: {httpStatusCode}})
}

/** What the HTTP handler throws when nothing answers: no $fault, no HTTP status. */
export function connectionRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), {code: 'ECONNREFUSED'})
}
