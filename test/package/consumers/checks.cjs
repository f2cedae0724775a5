// Shared by consumer.mjs and consumer.cjs: the same checks over the modules each consumer loaded
// in its own format. It imports nothing itself, so both formats run exactly this code.
'use strict'

const ERROR_CLASSES = [
  'BearerGuardError',
  'UnauthorizedError',
  'InvalidRequestError',
  'InvalidTokenError',
  'InsufficientScopeError',
  'KeysUnavailableError',
]

async function rejection(action) {
  try {
    await action()
  } catch (error) {
    return error
  }
  return undefined
}

function callExpress(middleware, req) {
  return new Promise((resolve) => {
    middleware(req, {}, (error) => resolve(error))
  })
}

// A copy of the core per entry would not know the main entry's validator, and would try to
// read it as options: report that as a failed check rather than a crash.
async function attempt(action) {
  try {
    return await action()
  } catch {
    return false
  }
}

async function run({
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
}) {
  const names = {
    'bearer-guard': Object.keys(core).sort(),
    'bearer-guard/express': Object.keys(express).sort(),
    'bearer-guard/koa': Object.keys(koa).sort(),
    'bearer-guard/fastify': Object.keys(fastify).sort(),
    'bearer-guard/fetch': Object.keys(fetchEntry).sort(),
    'bearer-guard/hono': Object.keys(hono).sort(),
    'bearer-guard/nestjs': Object.keys(nestjs).sort(),
    'bearer-guard/testing': Object.keys(testing).sort(),
    'bearer-guard/msal': Object.keys(msal).sort(),
    'bearer-guard/mcp': Object.keys(mcp).sort(),
    'bearer-guard/opentelemetry': Object.keys(opentelemetry).sort(),
  }
  const checks = {}

  const issuer = 'https://issuer.example/'
  const audience = 'api://orders'
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256')
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  const mint = (claims) =>
    new jose.SignJWT({ iss: issuer, aud: audience, sub: 'consumer', scp: 'Files.Read', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey)

  const validator = core.createValidator({ issuer, audience, keys: [publicJwk] })
  checks.isValidator = core.isValidator(validator)

  const token = await mint({})
  const auth = await validator.verify(token)
  checks.verifiesToken = auth.subject === 'consumer' && auth.scopes.includes('Files.Read')

  checks.errorClassesExtendBase = ERROR_CLASSES.every(
    (name) =>
      typeof core[name] === 'function' &&
      (name === 'BearerGuardError' || core[name].prototype instanceof core.BearerGuardError),
  )

  const missing = await rejection(() => validator.authenticate(undefined))
  checks.missingTokenIsUnauthorizedError =
    missing instanceof core.UnauthorizedError &&
    missing instanceof core.BearerGuardError &&
    missing.status === 401 &&
    missing.headers['WWW-Authenticate'] === 'Bearer realm="api"'
  checks.errorsAreHttpErrors =
    createError.isHttpError(missing) && missing.statusCode === 401 && missing.expose === true

  const wrongAudience = await rejection(async () =>
    validator.verify(await mint({ aud: 'api://other' })),
  )
  checks.wrongAudienceIsInvalidTokenError =
    wrongAudience instanceof core.InvalidTokenError &&
    wrongAudience.code === 'invalid_token' &&
    wrongAudience.reason === 'wrong_audience'

  const twice = await rejection(() => validator.authenticate(['Bearer a', 'Bearer b']))
  checks.repeatedHeaderIsInvalidRequestError =
    twice instanceof core.InvalidRequestError && twice.status === 400

  // One copy of the core per format: a validator made by the main entry is recognised by the
  // adapters, and their guards throw the main entry's error classes.
  const req = { rawHeaders: ['Host', 'x', 'Authorization', `Bearer ${token}`] }
  checks.expressAuthenticateSharesValidator = await attempt(async () => {
    const error = await callExpress(express.authenticate(validator), req)
    return error === undefined && req.auth !== undefined && req.auth.subject === 'consumer'
  })
  const expressDenied = await callExpress(express.requireScopes('Files.Write'), req)
  checks.expressGuardThrowsCoreClass =
    expressDenied instanceof core.InsufficientScopeError &&
    expressDenied.headers['WWW-Authenticate'].includes('scope="Files.Write"')

  const ctx = { req: { rawHeaders: req.rawHeaders }, state: {} }
  checks.koaAuthenticateSharesValidator = await attempt(async () => {
    let reachedNext = false
    await koa.authenticate(validator)(ctx, async () => {
      reachedNext = true
    })
    return reachedNext && ctx.state.auth !== undefined && ctx.state.auth.subject === 'consumer'
  })
  const koaDenied = await rejection(() =>
    koa.requireScopesOrRoles('Files.Write', 'Files.ReadWrite.All')(
      { state: { auth } },
      async () => {},
    ),
  )
  checks.koaGuardThrowsCoreClass =
    koaDenied instanceof core.InsufficientScopeError && koaDenied.status === 403

  // The testing entry in this format: an emulator token, verified by this format's core.
  checks.testingEmulatorTokenVerifies = await attempt(async () => {
    const emulator = await testing.startEntraEmulator({ http: true })
    try {
      const api = emulator.registerApp({ name: 'api', appRoles: ['Read.All'] })
      const entra = core.createValidator(
        core.azureAd({ ...emulator.azureAdOptions(), clientId: api.clientId }),
      )
      const emulated = await entra.verify(emulator.mint({ resource: api, roles: ['Read.All'] }))
      return emulated.appOnly && emulated.roles.includes('Read.All')
    } finally {
      await emulator.close()
    }
  })

  // Fastify, Fetch and Hono in this format: each shares the main entry's validator and answers
  // with the challenge of the main entry's errors.
  checks.fastifyPluginSharesValidator = await attempt(async () => {
    const app = Fastify()
    await app.register(fastify.bearerGuard, { validator })
    app.get('/', { preHandler: fastify.requireScopes('Files.Read') }, async (request) => ({
      subject: request.auth.subject,
    }))
    const allowed = await app.inject({ url: '/', headers: { authorization: `Bearer ${token}` } })
    const denied = await app.inject({ url: '/' })
    await app.close()
    return (
      allowed.statusCode === 200 &&
      allowed.json().subject === 'consumer' &&
      denied.statusCode === 401 &&
      denied.headers['www-authenticate'] === 'Bearer realm="api"'
    )
  })
  checks.fetchAuthenticateSharesValidator = await attempt(async () => {
    const headers = new Headers({ authorization: `Bearer ${token}` })
    const result = await fetchEntry.authenticate(validator)({ headers })
    const denied = fetchEntry.requireScopes('Files.Write')(result)
    return (
      result.subject === 'consumer' &&
      denied instanceof Response &&
      denied.status === 403 &&
      denied.headers.get('www-authenticate').includes('scope="Files.Write"')
    )
  })
  checks.honoMiddlewareSharesValidator = await attempt(async () => {
    const app = new Hono()
      .use(hono.authenticate(validator))
      .get('/', hono.requireScopes('Files.Read'), (c) => c.json({ subject: c.get('auth').subject }))
    const allowed = await app.request('/', { headers: { authorization: `Bearer ${token}` } })
    const denied = await app.request('/')
    return (
      allowed.status === 200 &&
      (await allowed.json()).subject === 'consumer' &&
      denied.status === 401 &&
      denied.headers.get('www-authenticate') === 'Bearer realm="api"'
    )
  })

  // NestJS in this format: the guard shares the main entry's validator and applies a
  // requirement with the main entry's error classes.
  checks.nestGuardSharesValidator = await attempt(async () => {
    const request = { rawHeaders: req.rawHeaders }
    const context = {
      switchToHttp: () => ({ getRequest: () => request }),
      getClass: () => Object,
      getHandler: () => Object,
    }
    const requirement = core.requireScopes('Files.Write')
    const guard = new nestjs.BearerAuthGuard(validator, {}, { getAll: () => [[requirement]] })
    const denied = await rejection(() => guard.canActivate(context))
    return (
      request.auth !== undefined &&
      request.auth.subject === 'consumer' &&
      denied instanceof core.InsufficientScopeError &&
      typeof nestjs.BearerGuardModule.forRoot(validator) === 'object'
    )
  })

  // The MCP verifier of this format: the SDK's AuthInfo for a token issued for the MCP server,
  // and the SDK's own InvalidTokenError (of the same format) for one issued for another resource.
  checks.mcpVerifier = await attempt(async () => {
    const resource = 'https://mcp.example.com/mcp'
    const verifier = mcp.createTokenVerifier(
      core.createValidator({
        issuer,
        audience: resource,
        keys: [publicJwk],
        resourceMetadata: { resource },
      }),
    )
    const info = await verifier.verifyAccessToken(await mint({ aud: resource }))
    const refused = await rejection(async () => verifier.verifyAccessToken(await mint({})))
    return (
      info.clientId === '' &&
      info.scopes.includes('Files.Read') &&
      info.resource.href === resource &&
      mcp.bearerGuardAuth(info).subject === 'consumer' &&
      refused instanceof mcpErrors.InvalidTokenError
    )
  })

  // The instrumentation subscribes to the core's validation channel, by its name, and lets go.
  checks.instrumentationSubscribes = await attempt(async () => {
    const { tracingChannel } = require('node:diagnostics_channel')
    const channel = tracingChannel(core.VALIDATION_CHANNEL)
    const before = channel.hasSubscribers
    const instrumentation = new opentelemetry.BearerGuardInstrumentation()
    const during = channel.hasSubscribers
    instrumentation.disable()
    return !before && during && !channel.hasSubscribers
  })

  return { names, checks }
}

module.exports = { run }
