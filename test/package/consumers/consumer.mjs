// ESM consumer: loads every entry with `import`, through the package's own `exports` map
// (self-reference), runs the shared checks and prints the result as JSON.

import * as mcpErrors from '@modelcontextprotocol/sdk/server/auth/errors.js'
import * as core from 'bearer-guard'
import * as express from 'bearer-guard/express'
import * as fastify from 'bearer-guard/fastify'
import * as fetchEntry from 'bearer-guard/fetch'
import * as hono from 'bearer-guard/hono'
import * as koa from 'bearer-guard/koa'
import * as mcp from 'bearer-guard/mcp'
import * as msal from 'bearer-guard/msal'
import * as nestjs from 'bearer-guard/nestjs'
import * as opentelemetry from 'bearer-guard/opentelemetry'
import * as testing from 'bearer-guard/testing'
import Fastify from 'fastify'
import { Hono } from 'hono'
import createError from 'http-errors'
import * as jose from 'jose'
import checks from './checks.cjs'

const result = await checks.run({
  core,
  express,
  koa,
  fastify,
  fetchEntry,
  hono,
  nestjs,
  msal,
  mcp,
  mcpErrors,
  opentelemetry,
  Fastify,
  Hono,
  testing,
  jose,
  createError,
})
process.stdout.write(`${JSON.stringify({ format: 'esm', ...result })}\n`)
