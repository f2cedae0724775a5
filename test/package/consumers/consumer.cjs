// CJS consumer: loads every entry with `require`, through the package's own `exports` map
// (self-reference). The CJS build requires jose 6, which is ESM-only: this needs require(esm),
// on by default from Node 20.19.
'use strict'

const core = require('bearer-guard')
const express = require('bearer-guard/express')
const koa = require('bearer-guard/koa')
const fastify = require('bearer-guard/fastify')
const fetchEntry = require('bearer-guard/fetch')
const hono = require('bearer-guard/hono')
const nestjs = require('bearer-guard/nestjs')
const msal = require('bearer-guard/msal')
const mcp = require('bearer-guard/mcp')
const mcpErrors = require('@modelcontextprotocol/sdk/server/auth/errors.js')
const opentelemetry = require('bearer-guard/opentelemetry')
const Fastify = require('fastify')
const { Hono } = require('hono')
const testing = require('bearer-guard/testing')
const createError = require('http-errors')
const jose = require('jose')
const checks = require('./checks.cjs')

checks
  .run({
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
  .then(
    (result) => {
      process.stdout.write(`${JSON.stringify({ format: 'cjs', ...result })}\n`)
    },
    (error) => {
      console.error(error)
      process.exitCode = 1
    },
  )
