import {afterAll, beforeEach, inject} from 'vitest'

import {removeCliHome} from './cli.js'
import {MotoKms, resetMoto} from './moto.js'

/**
 * The integration project's moto server, emptied before each test, and a client that builds
 * fixtures in it and reads the final state back.
 */
export function useMoto(): {motoUrl: string; kms: MotoKms} {
  const motoUrl = inject('motoUrl')
  const kms = new MotoKms(motoUrl)
  beforeEach(() => resetMoto(motoUrl))
  afterAll(() => {
    kms.destroy()
    removeCliHome()
  })
  return {motoUrl, kms}
}
