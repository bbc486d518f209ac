import {describe, expect, it} from 'vitest'

import {KmsRotateError, shown} from '../../src/lib/errors.js'

describe('shown', () => {
  it('quotes a value as it is', () => {
    expect(shown('alias/app')).toBe("'alias/app'")
  })

  it('writes control and line-separator characters as escapes, so the message stays one line', () => {
    expect(shown('alias/a\nb\u2028c\u001B[31m')).toBe(String.raw`'alias/a\nb\u2028c\u001b[31m'`)
  })

  it('cuts a long value and says how long it was', () => {
    // given a value far longer than a line
    const long = 'k'.repeat(50_000)
    // when it is quoted
    const quoted = shown(long)
    // then the message keeps its start and its length, not all of it
    expect(quoted).toBe(`'${'k'.repeat(100)}…' (50000 characters)`)
  })

  it('counts characters, not UTF-16 units, and never splits one', () => {
    const quoted = shown('🔑'.repeat(121))
    expect(quoted).toBe(`'${'🔑'.repeat(100)}…' (121 characters)`)
  })
})

describe('KmsRotateError', () => {
  it('escapes its message, so that server text cannot add lines', () => {
    expect(new KmsRotateError('bad\nthing', 255).message).toBe(String.raw`bad\nthing`)
  })
})
