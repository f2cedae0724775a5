/**
 * A trick taken out of a copy of src/: for a trick whose plain alternative is a line or two
 * inside a module too large to rebuild in bench/tricks/ (the multi-issuer validator's). The copy
 * is src/ as it is now, its `#crypto` and `#channels` imports pointed at the Node.js modules, with
 * exact text replacements in one file; a replacement whose text is not found exactly once stops
 * the run, so a change to src/ cannot silently leave the trick in. The copy lives under bench/.tmp
 * (not node_modules, where tsx ran the same source about 15 % slower here).
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export interface Variant {
  /** The file of src/ to change, as `src/issuers.ts`. */
  file: string
  /** Exact texts and what each becomes; none for a copy of src/ as it is. */
  replace: ReadonlyArray<readonly [string, string]>
}

const SRC = fileURLToPath(new URL('../../src', import.meta.url))

/** Writes src/ with `variant` applied into `dir`/src; throws when a text is not found once. */
export function writeVariant(dir: string, variant: Variant): void {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const src = join(dir, 'src')
  cpSync(SRC, src, { recursive: true })
  for (const name of readdirSync(src)) {
    if (!name.endsWith('.ts')) continue
    const path = join(src, name)
    const text = readFileSync(path, 'utf8')
    const pointed = text
      .replaceAll("from '#crypto'", "from './crypto-node.js'")
      .replaceAll("from '#channels'", "from './channels-node.js'")
    if (pointed !== text) writeFileSync(path, pointed)
  }
  const target = join(dir, variant.file)
  let text = readFileSync(target, 'utf8')
  for (const [from, to] of variant.replace) {
    const at = text.indexOf(from)
    if (at === -1 || text.indexOf(from, at + 1) !== -1) {
      throw new Error(`${variant.file}: the text to replace is not there exactly once: ${from}`)
    }
    text = text.slice(0, at) + to + text.slice(at + from.length)
  }
  writeFileSync(target, text)
}

/** The index module of the copy in `dir`. */
export function importVariant(dir: string): Promise<typeof import('../../src/index.js')> {
  return import(pathToFileURL(join(dir, 'src', 'index.ts')).href)
}
