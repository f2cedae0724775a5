/**
 * Package hygiene: the built output names every Node.js built-in with its `node:` prefix (tsup
 * strips it unless `removeNodeProtocol` is false, and a bare `crypto` is what Deno, Bun and
 * workerd's nodejs_compat treat least reliably), and package.json carries what a registry page
 * and a dependent need: licence file, repository links, and no runtime dependency that only one
 * adapter uses.
 */
import { readdir, readFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildScratchPackage, ROOT, type ScratchPackage } from '../helpers/scratch-package.js'

const SPECIFIER =
  /\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)|\brequire\(\s*["']([^"']+)["']\s*\)/g

/** Every module specifier a built file imports or requires, statically. */
function specifiersOf(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map(
    (match) => match[1] ?? match[2] ?? match[3] ?? match[4] ?? '',
  )
}

const BUILTINS = new Set(builtinModules.filter((name) => !name.startsWith('_')))

/** Whether a specifier names a Node.js built-in without the `node:` prefix (`crypto`, `fs/promises`). */
function isBareBuiltin(specifier: string): boolean {
  return BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0] ?? '')
}

interface PackageJson {
  license?: string
  repository?: { type?: string; url?: string }
  homepage?: string
  bugs?: { url?: string }
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  devDependencies?: Record<string, string>
}

let pkg: ScratchPackage
let imports: Array<{ file: string; specifier: string }>

beforeAll(async () => {
  pkg = await buildScratchPackage('hygiene')
  const files = (await readdir(pkg.dist)).filter((file) => /\.c?js$/.test(file))
  imports = (
    await Promise.all(
      files.map(async (file) =>
        specifiersOf(await readFile(join(pkg.dist, file), 'utf8')).map((specifier) => ({
          file,
          specifier,
        })),
      ),
    )
  ).flat()
}, 120_000)
afterAll(() => pkg?.remove())

describe('the built output', () => {
  it('finds the imports it checks: node:crypto in both formats', () => {
    const crypto = imports.filter(({ specifier }) => specifier === 'node:crypto')
    expect(crypto.some(({ file }) => file.endsWith('.cjs'))).toBe(true)
    expect(crypto.some(({ file }) => file.endsWith('.js'))).toBe(true)
  })

  it('names every Node.js built-in with the node: prefix, in ESM and CommonJS', () => {
    const bare = imports.filter(({ specifier }) => isBareBuiltin(specifier))
    expect(bare.map(({ file, specifier }) => `${file}: ${specifier}`)).toEqual([])
  })

  it('tells a bare built-in from a package or a prefixed one', () => {
    expect(specifiersOf(`import{a}from"crypto";const b=require('fs/promises')`)).toEqual([
      'crypto',
      'fs/promises',
    ])
    expect(['crypto', 'fs/promises', 'util'].every(isBareBuiltin)).toBe(true)
    expect(['node:crypto', 'jose', 'http-errors', 'hono/http-exception'].some(isBareBuiltin)).toBe(
      false,
    )
  })
})

describe('package.json and the files beside it', () => {
  let manifest: PackageJson
  beforeAll(async () => {
    manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as PackageJson
  })

  it('ships an MIT LICENSE file that matches the license field', async () => {
    expect(manifest.license).toBe('MIT')
    const text = await readFile(join(ROOT, 'LICENSE'), 'utf8')
    expect(text).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} bearer-guard contributors\n/)
    expect(text).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND')
  })

  it('links the repository, its home page and its issue tracker', () => {
    expect(manifest.repository).toEqual({
      type: 'git',
      url: 'git+https://github.com/bearer-guard/bearer-guard.git',
    })
    expect(manifest.homepage).toBe('https://github.com/bearer-guard/bearer-guard#readme')
    expect(manifest.bugs).toEqual({ url: 'https://github.com/bearer-guard/bearer-guard/issues' })
  })

  it('depends at run time on jose only; http-errors and fastify-plugin not at all', () => {
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(['jose'])
    expect(manifest.peerDependencies?.['fastify-plugin']).toBeUndefined()
    expect(manifest.devDependencies?.['fastify-plugin']).toBeUndefined()
  })

  it('installs at most 4 packages for a user of the core and one adapter (the lock file says which)', async () => {
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dependencies?: Record<string, string> }>
    }
    // The run-time closure: our dependencies, theirs, and so on (the framework is the user's own).
    const installed = new Set<string>(['bearer-guard'])
    const pending = Object.keys(manifest.dependencies ?? {})
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      if (installed.has(name)) continue
      installed.add(name)
      const entry = lock.packages[`node_modules/${name}`]
      expect(entry, `${name} is in package-lock.json`).toBeDefined()
      pending.push(...Object.keys(entry?.dependencies ?? {}))
    }
    expect([...installed].sort()).toEqual(['bearer-guard', 'jose'])
    expect(installed.size).toBeLessThanOrEqual(4)
  })
})
