// TypeDoc settings for `npm run docs` (API reference in docs/api). The entry points are the
// package's own (package.json tsup.entry that `exports` names: not the CLI, nor the `#crypto`
// backends), so a new entry point is documented without a change here. Type errors are tsc's job (`npm run typecheck`); test/package runs this
// with --treatWarningsAsErrors, so an export without TSDoc fails the tests.
import { readFileSync } from 'node:fs'

const { tsup, exports } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'))

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'bearer-guard',
  entryPoints: Object.entries(tsup.entry)
    .filter(([name]) => exports[name === 'index' ? '.' : `./${name}`] !== undefined)
    .map(([, file]) => file),
  out: 'docs/api',
  readme: 'README.md',
  skipErrorChecking: true,
  // No repository URL in package.json to link sources to.
  disableSources: true,
  excludePrivate: true,
  excludeInternal: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  requiredToBeDocumented: ['Function', 'Class', 'Interface', 'TypeAlias', 'Variable', 'Enum'],
}
