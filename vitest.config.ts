import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'] },
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
