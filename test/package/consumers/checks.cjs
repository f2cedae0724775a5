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

async function run({ core, express, koa, jose, createError }) {
  const names = {
    'bearer-guard': Object.keys(core).sort(),
    'bearer-guard/express': Object.keys(express).sort(),
    'bearer-guard/koa': Object.keys(koa).sort(),
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
    missing instanceof createError.HttpError && createError.isHttpError(missing)

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

  return { names, checks }
}

module.exports = { run }
