import {describe, expect, it} from 'vitest'

import {UsageError} from '../../src/lib/errors.js'
import {KMS_QUOTAS, Pacer, PacerRegistry, parseRates, rateNameOf} from '../../src/lib/pacing.js'

/** The most of `times` (ms) that fall within any window of `windowMs`. */
function busiestWindow(times: number[], windowMs: number): number {
  return Math.max(...times.map((start) => times.filter((time) => time >= start && time - start < windowMs).length))
}

describe('parseRates', () => {
  it('starts from the KMS quotas and lets the last --rate for a name win', () => {
    const rates = parseRates(['UpdateAlias=2', 'ListGrants=50', 'UpdateAlias=3'])
    expect(rates).toEqual({...KMS_QUOTAS, UpdateAlias: 3, ListGrants: 50})
  })

  it.each(['UpdateAlias', 'UpdateAlias=0', 'UpdateAlias=-1', 'CreateKey=5', 'UpdateAlias=fast'])('refuses %s', (value) => {
    expect(() => parseRates([value])).toThrow(UsageError)
  })
})

describe('rateNameOf', () => {
  it('paces the canary\'s calls together and leaves unknown operations unpaced', () => {
    expect(rateNameOf('Encrypt')).toBe('cryptographic')
    expect(rateNameOf('VerifyMac')).toBe('cryptographic')
    expect(rateNameOf('UpdateAlias')).toBe('UpdateAlias')
    expect(rateNameOf('GetCallerIdentity')).toBeUndefined()
  })
})

describe('Pacer', () => {
  it('lets no more than the rate through in any one second, spaced evenly', async () => {
    // given a pacer at 10 UpdateAlias per second
    const pacer = new Pacer({...KMS_QUOTAS, UpdateAlias: 10})
    const startedAt = performance.now()
    // when 15 requests ask at once
    const times = await Promise.all(
      Array.from({length: 15}, async () => {
        await pacer.wait('UpdateAlias')
        return performance.now() - startedAt
      }),
    )
    // then the 15th goes after about 1.4 s, and no second holds more than 10 (one more for timer slack)
    expect(Math.max(...times)).toBeGreaterThanOrEqual(1300)
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(11)
  })

  it('does not hold back operations paced separately or not at all', async () => {
    const pacer = new Pacer({...KMS_QUOTAS, UpdateAlias: 1})
    await pacer.wait('UpdateAlias')
    const startedAt = performance.now()
    await Promise.all([pacer.wait('DescribeKey'), pacer.wait('GetCallerIdentity')])
    expect(performance.now() - startedAt).toBeLessThan(500)
  })

  it('is shared per account and Region, and separate between them', () => {
    const registry = new PacerRegistry(KMS_QUOTAS)
    expect(registry.forPlace('111122223333', 'us-east-1')).toBe(registry.forPlace('111122223333', 'us-east-1'))
    expect(registry.forPlace('111122223333', 'us-east-1')).not.toBe(registry.forPlace('111122223333', 'us-west-2'))
    expect(registry.forPlace('111122223333', 'us-east-1')).not.toBe(registry.forPlace('444455556666', 'us-east-1'))
  })
})
