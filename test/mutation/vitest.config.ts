/**
 * The Vitest settings of `npm run mutation` (stryker.config.json): the project's own, with test
 * files sharing one module graph (`isolate: false`) and no type checking. Importing jose, the
 * core and the test keys once per run instead of once per file is what brings a Stryker run on
 * a 2-core machine from hours down to tens of minutes. The suite passes either way.
 */
import { defineConfig, mergeConfig } from 'vitest/config'
import base, { NODE_TESTS } from '../../vitest.config.js'

// The node:crypto project only: mutants of the core are killed on the Node.js path.
const { projects: _, ...test } = base.test ?? {}

export default mergeConfig(
  { ...base, test },
  defineConfig({
    test: {
      ...NODE_TESTS,
      isolate: false,
      typecheck: { enabled: false },
    },
  }),
)
