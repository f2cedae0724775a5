// Dual package: validators made by the ESM and the CommonJS build of one scratch build (the
// folder in argv[2]), each handed to the Fetch and Hono adapters of both builds. Prints what each
// pair answers to `Bearer garbage` (a 401 invalid_token in the core, with no key needed) as JSON.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Hono } from 'hono'

const dist = process.argv[2]
const require = createRequire(join(dist, 'index.cjs'))
const load = (file) => import(pathToFileURL(join(dist, file)).href)
const builds = {
  esm: { core: await load('index.js'), fetch: await load('fetch.js'), hono: await load('hono.js') },
  cjs: {
    core: require('./index.cjs'),
    fetch: require('./fetch.cjs'),
    hono: require('./hono.cjs'),
  },
}
const jwks = JSON.parse(readFileSync(new URL('../../fixtures/jwks.json', import.meta.url), 'utf8'))
const headers = { authorization: 'Bearer garbage' }

function describeError(error) {
  return {
    threw: error?.name,
    status: error?.status,
    reason: error?.reason,
    esmClass: error instanceof builds.esm.core.BearerGuardError,
    cjsClass: error instanceof builds.cjs.core.BearerGuardError,
  }
}

async function viaFetch(adapter, validator) {
  try {
    const response = await adapter.authenticate(validator)(
      new Request('http://127.0.0.1/', { headers }),
    )
    return { status: response.status, wwwAuthenticate: response.headers.get('www-authenticate') }
  } catch (error) {
    return describeError(error)
  }
}

async function viaHono(adapter, validator) {
  const app = new Hono()
  let caught
  // Records what Hono's own error handler was given (it sets c.error); the answer is Hono's.
  app.use('*', async (c, next) => {
    await next()
    if (c.error !== undefined) {
      caught = {
        ...describeError(c.error.cause ?? c.error),
        httpException: typeof c.error.getResponse === 'function',
      }
    }
  })
  app.use('*', adapter.authenticate(validator))
  app.get('/', (c) => c.text('ok'))
  const response = await app.request('/', { headers })
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    body: await response.text(),
    caught,
  }
}

const results = {}
for (const from of ['esm', 'cjs']) {
  const validator = builds[from].core.createValidator({
    issuer: 'https://issuer.example/',
    audience: 'api://orders',
    keys: jwks,
  })
  for (const to of ['esm', 'cjs']) {
    results[`${from} validator, ${to} fetch`] = await viaFetch(builds[to].fetch, validator)
    results[`${from} validator, ${to} hono`] = await viaHono(builds[to].hono, validator)
  }
}
console.log(JSON.stringify(results))
