import type {TestProject} from 'vitest/node'

import {startMoto} from './moto.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the moto server shared by the integration tests, such as http://127.0.0.1:PORT. */
    motoUrl: string
  }
}

/** One moto server for the whole integration project; each test resets it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moto = await startMoto()
  project.provide('motoUrl', moto.url)
  return () => moto.stop()
}
