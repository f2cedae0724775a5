/**
 * The Vitest settings of `npm run mutation` (stryker.config.json): the project's own, with test
 * files sharing one module graph (`isolate: false`) and no type checking. Importing jose, the
 * core and the test keys once per run instead of once per file is what brings a Stryker run on
 * a 2-core machine from hours down to tens of minutes. The suite passes either way.
 */
import { defineConfig, mergeConfig } from 'vitest/config'
import base from '../../vitest.config.js'

export default mergeConfig(
  base,
  defineConfig({
    test: {
      isolate: false,
      typecheck: { enabled: false },
    },
  }),
)
