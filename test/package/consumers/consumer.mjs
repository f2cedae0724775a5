// ESM consumer: loads every entry with `import`, through the package's own `exports` map
// (self-reference), runs the shared checks and prints the result as JSON.
import * as core from 'bearer-guard'
import * as express from 'bearer-guard/express'
import * as koa from 'bearer-guard/koa'
import createError from 'http-errors'
import * as jose from 'jose'
import checks from './checks.cjs'

const result = await checks.run({ core, express, koa, jose, createError })
process.stdout.write(`${JSON.stringify({ format: 'esm', ...result })}\n`)
