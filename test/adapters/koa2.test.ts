import { createRequire } from 'node:module'
import type Koa from 'koa'
import { describe, expect, it } from 'vitest'
import { defineKoaSuite } from './koa-suite.js'

// `koa2` is an npm alias of Koa 2, which ships no types of its own; Koa 3's types describe
// everything the suite uses.
const require = createRequire(import.meta.url)
const Koa2 = require('koa2') as typeof Koa

describe('koa2 alias', () => {
  it('is Koa 2', () => {
    expect((require('koa2/package.json') as { version: string }).version).toMatch(/^2\./)
  })
})

defineKoaSuite('Koa 2', Koa2)
