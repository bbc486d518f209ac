import {randomBytes} from 'node:crypto'

import type {KeyMetadata} from '@aws-sdk/client-kms'
import pRetry from 'p-retry'

import {keySpecOf, keyUsageOf} from './checks.js'
import {KmsRotateError, ServiceError} from './errors.js'
import type {KmsGateway} from './kms.js'
import type {KeySummary} from './report.js'

/**
 * What the canary did: one cryptographic round trip through the alias, after the alias was seen
 * on the new key. `answeredBy` is the KeyId of the first operation's answer, the key KMS used.
 */
export interface CanaryResult {
  status: 'passed' | 'failed' | 'skipped'
  operations: string[]
  /** Round trips made; more than one when the old key still answered. */
  attempts: number
  answeredBy: string | null
  message: string
}

/** Retries while the old key still answers: about 0.25 s doubling, five tries in all (~4 s). */
export const CANARY_BACKOFF = {retries: 4, minTimeout: 250, maxTimeout: 2000, factor: 2, randomize: true} as const

/** KMS answered through the alias with the old key: the alias change has not reached that reader yet. */
class OldKeyAnswered extends Error {}

class CanaryMismatch extends Error {}

/**
 * What the second call of a round trip answers when the alias still resolves to the old key
 * there: the ciphertext, signature or MAC came from the new key. Retried like OldKeyAnswered.
 */
const OTHER_KEY_ANSWERS = new Set(['IncorrectKeyException', 'KMSInvalidSignatureException', 'KMSInvalidMacException'])

class SecondCallLagged extends Error {}

async function secondCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof ServiceError && OTHER_KEY_ANSWERS.has(error.code)) throw new SecondCallLagged(error.message)
    throw error
  }
}

interface RoundTrip {
  operations: string[]
  run: (kms: KmsGateway, alias: string, signal?: AbortSignal) => Promise<string | undefined>
}

function preferred(offered: string[] | undefined, wanted: string, fallback: string): string {
  if (!offered || offered.length === 0) return fallback
  return offered.includes(wanted) ? wanted : offered[0]
}

const MESSAGE = new TextEncoder().encode('kms-rotate canary')

function symmetricRoundTrip(): RoundTrip {
  return {
    operations: ['Encrypt', 'Decrypt'],
    async run(kms, alias, signal) {
      const plaintext = randomBytes(32)
      const encrypted = await kms.encrypt({KeyId: alias, Plaintext: plaintext}, signal)
      const decrypted = await secondCall(() =>
        kms.decrypt({KeyId: alias, CiphertextBlob: encrypted.CiphertextBlob}, signal),
      )
      if (!decrypted.Plaintext || !plaintext.equals(Buffer.from(decrypted.Plaintext))) {
        throw new CanaryMismatch('Decrypt did not give back the plaintext that Encrypt was given')
      }

      return encrypted.KeyId
    },
  }
}

/** Ciphertext of an asymmetric key names no key; the answering KeyId is the whole check. */
function asymmetricEncrypt(key: KeyMetadata): RoundTrip {
  const algorithm = preferred(key.EncryptionAlgorithms, 'RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_256')
  return {
    operations: ['Encrypt'],
    async run(kms, alias, signal) {
      const encrypted = await kms.encrypt(
        {KeyId: alias, Plaintext: randomBytes(32), EncryptionAlgorithm: algorithm as never},
        signal,
      )
      return encrypted.KeyId
    },
  }
}

function signAndVerify(key: KeyMetadata): RoundTrip {
  const algorithm = preferred(key.SigningAlgorithms, 'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_256') as never
  return {
    operations: ['Sign', 'Verify'],
    async run(kms, alias, signal) {
      const input = {KeyId: alias, Message: MESSAGE, MessageType: 'RAW' as const, SigningAlgorithm: algorithm}
      const signed = await kms.sign(input, signal)
      const verified = await secondCall(() => kms.verify({...input, Signature: signed.Signature}, signal))
      if (!verified.SignatureValid) throw new CanaryMismatch('Verify found the signature from Sign invalid')
      return signed.KeyId
    },
  }
}

function macAndVerify(key: KeyMetadata): RoundTrip {
  // HMAC_256 keys take HMAC_SHA_256, and so on; DescribeKey lists the one that fits.
  const fromSpec = `HMAC_SHA_${(keySpecOf(key) ?? 'HMAC_256').replace('HMAC_', '')}`
  const algorithm = preferred(key.MacAlgorithms, fromSpec, fromSpec) as never
  return {
    operations: ['GenerateMac', 'VerifyMac'],
    async run(kms, alias, signal) {
      const input = {KeyId: alias, Message: MESSAGE, MacAlgorithm: algorithm}
      const generated = await kms.generateMac(input, signal)
      const verified = await secondCall(() => kms.verifyMac({...input, Mac: generated.Mac}, signal))
      if (!verified.MacValid) throw new CanaryMismatch('VerifyMac found the MAC from GenerateMac invalid')
      return generated.KeyId
    },
  }
}

/** The round trip for the new key's KeyUsage, or why there is none. */
export function roundTripFor(key: KeyMetadata): RoundTrip | {skip: string} {
  const usage = keyUsageOf(key)
  switch (usage) {
    case 'ENCRYPT_DECRYPT': {
      return keySpecOf(key) === 'SYMMETRIC_DEFAULT' ? symmetricRoundTrip() : asymmetricEncrypt(key)
    }

    case 'SIGN_VERIFY': {
      return signAndVerify(key)
    }

    case 'GENERATE_VERIFY_MAC': {
      return macAndVerify(key)
    }

    case 'KEY_AGREEMENT': {
      return {skip: 'skipped: DeriveSharedSecret needs a peer public key, which kms-rotate does not have'}
    }

    default: {
      return {skip: `skipped: no canary for KeyUsage ${usage ?? 'unknown'}`}
    }
  }
}

/** Whether a KeyId from an answer (an ARN, usually) names this key. */
export function namesKey(answer: string | undefined, key: KeySummary): boolean {
  if (!answer) return false
  return answer === key.arn || answer === key.keyId || (key.keyId !== null && answer.endsWith(`:key/${key.keyId}`))
}

/**
 * One round trip through the alias. When the old key answers, KMS has not spread the alias
 * change yet: that alone is retried, in either call. Refused access is not the key's fault, so it skips.
 */
export async function runCanary(
  kms: KmsGateway,
  alias: string,
  keys: {previous: KeySummary; next: KeySummary; nextMetadata: KeyMetadata},
  signal?: AbortSignal,
): Promise<CanaryResult> {
  const trip = roundTripFor(keys.nextMetadata)
  if ('skip' in trip) return {status: 'skipped', operations: [], attempts: 0, answeredBy: null, message: trip.skip}

  const result: CanaryResult = {status: 'failed', operations: trip.operations, attempts: 0, answeredBy: null, message: ''}
  const through = `${trip.operations.join(' and ')} through ${alias}`
  try {
    await pRetry(
      async () => {
        result.attempts++
        result.answeredBy = (await trip.run(kms, alias, signal)) ?? null
        if (namesKey(result.answeredBy ?? undefined, keys.next)) return
        if (namesKey(result.answeredBy ?? undefined, keys.previous)) throw new OldKeyAnswered()
        throw new CanaryMismatch(`answered by ${result.answeredBy ?? 'no key'}, not the new key`)
      },
      {...CANARY_BACKOFF, signal, shouldRetry: ({error}) => error instanceof OldKeyAnswered || error instanceof SecondCallLagged},
    )
    return {...result, status: 'passed', message: `${through} answered by ${result.answeredBy}`}
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'AccessDeniedException') {
      return {...result, status: 'skipped', message: `skipped: ${error.code} on ${error.operation}: ${error.detail}`}
    }

    if (error instanceof OldKeyAnswered) {
      const message = `${through} still answered by the old key ${result.answeredBy} after ${result.attempts} tries`
      return {...result, message}
    }

    if (error instanceof SecondCallLagged) {
      return {...result, message: `${through} failed after ${result.attempts} tries: ${error.message.replace(/\.$/, '')}`}
    }

    // A call that got no answer proves nothing about the new key either; it counts as a failure.
    if (error instanceof CanaryMismatch || error instanceof KmsRotateError) {
      return {...result, message: `${through} failed: ${error.message.replace(/\.$/, '')}`}
    }

    throw error
  }
}
