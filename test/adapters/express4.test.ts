import { createRequire } from 'node:module'
import type express from 'express'
import { describe, expect, it } from 'vitest'
import { defineExpressSuite } from './express-suite.js'

// `express4` is an npm alias of Express 4, which ships no types of its own; Express 5's types
// describe everything the suite uses.
const require = createRequire(import.meta.url)
const express4 = require('express4') as typeof express

describe('express4 alias', () => {
  it('is Express 4', () => {
    expect((require('express4/package.json') as { version: string }).version).toMatch(/^4\./)
  })
})

defineExpressSuite('Express 4', express4)
