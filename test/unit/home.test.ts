import {describe, expect, it} from 'vitest'

import {homeDirectory} from '../../src/lib/home.js'

describe('homeDirectory', () => {
  it('is HOME when HOME is absolute, without asking the account', () => {
    const account = () => {
      throw new Error('the account was asked')
    }
    expect(homeDirectory('/home/me', account)).toBe('/home/me')
  })

  it("is the account's home directory when HOME is empty or relative", () => {
    expect(homeDirectory('', () => '/home/account')).toBe('/home/account')
    expect(homeDirectory('relative/home', () => '/home/account')).toBe('/home/account')
  })

  it('is null when neither HOME nor the account gives an absolute directory', () => {
    expect(homeDirectory('', () => undefined)).toBeNull()
    expect(homeDirectory('relative', () => 'also-relative')).toBeNull()
  })
})
