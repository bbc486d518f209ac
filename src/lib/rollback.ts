import {KmsRotateError, ServiceError, UpdateAnswerLostError} from './errors.js'
import type {KmsGateway} from './kms.js'
import type {KeySummary, Rollback, Verification} from './report.js'

/** The visibility poll of rotate.ts, passed in so that this module does not import it back. */
export type WaitForTarget = (
  keyId: string,
  previousKeyId: string,
) => Promise<{seen: boolean; verification: Verification}>

/**
 * Moves the alias back to `previous` after a failed canary, as a compare-and-swap: only when a
 * DescribeKey read just before shows it still on `next`. Someone who moved it meanwhile wins.
 */
export async function rollBack(
  kms: KmsGateway,
  alias: string,
  {previous, next}: {previous: KeySummary; next: KeySummary},
  waitFor: WaitForTarget,
): Promise<Rollback> {
  const rollback: Rollback = {sent: false, seen: false, aliasTarget: null, error: null}
  const previousKeyId = previous.keyId
  if (previousKeyId === null) return {...rollback, error: 'the old key is not known'}

  try {
    const current = await kms.describeKey(alias)
    rollback.aliasTarget = current.KeyId ?? null
  } catch (error) {
    if (!(error instanceof KmsRotateError)) throw error
    return {...rollback, error: `reading the alias failed: ${error.message}`}
  }

  if (rollback.aliasTarget !== next.keyId) {
    return {...rollback, error: 'it is no longer on the new key, so that change was left in place'}
  }

  rollback.sent = true
  try {
    await kms.updateAlias(alias, previous.arn ?? previousKeyId)
  } catch (error) {
    // A lost answer may still have moved it: the poll below says where it is.
    if (error instanceof UpdateAnswerLostError) rollback.error = error.message
    else if (error instanceof ServiceError || error instanceof KmsRotateError) {
      return {...rollback, error: `UpdateAlias back failed: ${error.message}`}
    } else throw error
  }

  const waited = await waitFor(previousKeyId, next.keyId as string)
  rollback.seen = waited.seen
  rollback.aliasTarget = waited.verification.lastSeenTarget
  if (!waited.seen) {
    rollback.error = waited.verification.error ?? 'the old key was not seen in ListAliases before the deadline'
  }

  return rollback
}
