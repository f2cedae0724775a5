import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

/**
 * The modules of package.json `imports` with one implementation per platform: `#name` is
 * `src/name-node.ts` or `src/name-web.ts`. The built package picks one by export condition; the
 * tests run the source, so each project names its own.
 */
const PLATFORM_MODULES = ['crypto', 'channels']
const platform = (name: 'node' | 'web') =>
  Object.fromEntries(
    PLATFORM_MODULES.map((module) => [
      `#${module}`,
      fileURLToPath(new URL(`./src/${module}-${name}.ts`, import.meta.url)),
    ]),
  )

/**
 * Run a second time on the WebCrypto backend (issue #13): the same tables on both paths (the
 * hostile-token table, the adapter case table over Fetch and Hono, the validator's, the key
 * source's, inspect's and the Entra ID profile's tests, the token properties: every one-character
 * change of a valid token is refused), and test/webcrypto, which is that backend's alone.
 */
const WEBCRYPTO_TESTS = [
  'test/webcrypto/**/*.test.ts',
  'test/core/hostile.test.ts',
  'test/core/token.test.ts',
  'test/core/validator.test.ts',
  'test/core/key-refresh.test.ts',
  'test/adapters/fetch.test.ts',
  'test/core/jwks.test.ts',
  'test/core/inspect.test.ts',
  'test/core/unverified-descriptions.test.ts',
  'test/adapters/hono.test.ts',
  'test/core/verified-token-reuse.test.ts',
  'test/core/azure.test.ts',
  'test/property/token.prop.test.ts',
]

/** What the node:crypto project runs: every test but the WebCrypto build's own. */
export const NODE_TESTS = {
  include: ['test/**/*.test.ts'],
  exclude: ['test/webcrypto/**', '**/node_modules/**'],
}

export default defineConfig({
  resolve: { alias: platform('node') },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'] },
    projects: [
      { extends: true, test: { name: 'node:crypto', ...NODE_TESTS } },
      {
        extends: true,
        // Listed first, so it wins over the root's (Vite's mergeAlias).
        resolve: { alias: platform('web') },
        test: { name: 'WebCrypto', include: WEBCRYPTO_TESTS, typecheck: { enabled: false } },
      },
    ],
    // Off unless asked for: `npm test -- --coverage` (as .ci/run does) measures the core and
    // fails the run when its line coverage drops under the threshold.
    coverage: {
      provider: 'v8',
      // The core. Not the emulator test kit (src/testing), nor the CLI's process wiring
      // (src/cli/main.ts), which only the child processes of test/cli run and V8 coverage of
      // this process cannot see; src/cli/run.ts is tested in process and counts.
      include: ['src/**/*.ts'],
      exclude: ['src/testing/**', 'src/cli/main.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'reports/coverage',
      thresholds: { lines: 95 },
    },
  },
})
