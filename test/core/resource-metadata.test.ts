/**
 * RFC 9728 protected-resource metadata in the core: the `resourceMetadata` option (checked once,
 * with messages that name it), the document built from it and from the other options, the
 * well-known URL (§3.1), `resource_metadata` in every challenge (§5.1), and the answers for each
 * method and path that the adapters translate.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { checkGuard } from '../../src/guard.js'
import {
  answerResourceMetadata,
  azureAd,
  createResourceMetadataResponder,
  createValidator,
  type ResolvedResourceMetadata,
  requireScopes,
  resourceMetadataUrl,
  type ValidatorOptions,
} from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { rejectionOf } from './support.js'

const RESOURCE = 'https://api.example.com/orders'
const METADATA_URL = 'https://api.example.com/.well-known/oauth-protected-resource/orders'
const base: ValidatorOptions = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) }

function metadataOf(options: Partial<ValidatorOptions>): ResolvedResourceMetadata {
  const metadata = createValidator({ ...base, ...options }).options.resourceMetadata
  if (metadata === undefined) throw new Error('no metadata')
  return metadata
}

describe('resourceMetadataUrl', () => {
  it.each([
    ['https://api.example.com', 'https://api.example.com/.well-known/oauth-protected-resource'],
    ['https://api.example.com/', 'https://api.example.com/.well-known/oauth-protected-resource'],
    [RESOURCE, METADATA_URL],
    [`${RESOURCE}/`, METADATA_URL],
    [
      'https://api.example.com:8443/a/b',
      'https://api.example.com:8443/.well-known/oauth-protected-resource/a/b',
    ],
    ['http://127.0.0.1:3000/mcp', 'http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp'],
  ])('puts the well-known suffix between the host and the path of %s (§3.1)', (resource, url) => {
    expect(resourceMetadataUrl(resource)).toBe(url)
  })
})

describe('the resourceMetadata option', () => {
  it.each<[unknown, string]>([
    [
      'https://api.example.com',
      '"resourceMetadata" option must be an object with a "resource" URL',
    ],
    [{}, '"resourceMetadata.resource" option is required'],
    [{ resource: 'api://orders' }, '"resourceMetadata.resource" option must be an https URL'],
    [{ resource: 'http://api.example.com' }, '"resourceMetadata.resource" option must be an https'],
    [{ resource: '/orders' }, '"resourceMetadata.resource" option must be an absolute URL'],
    [{ resource: '' }, '"resourceMetadata.resource" option must be a URL string'],
    // new URL() forgives these; the document would then carry what no client's resource matches.
    [
      { resource: ` ${RESOURCE}` },
      '"resourceMetadata.resource" option must be a URL of printable ASCII without spaces',
    ],
    [
      { resource: `${RESOURCE}\t` },
      '"resourceMetadata.resource" option must be a URL of printable ASCII without spaces',
    ],
    [
      { resource: `${RESOURCE}\n` },
      '"resourceMetadata.resource" option must be a URL of printable ASCII without spaces',
    ],
    [
      { resource: `${RESOURCE}#top` },
      '"resourceMetadata.resource" option must not have a fragment',
    ],
    [{ resource: `${RESOURCE}?v=1` }, '"resourceMetadata.resource" option must not have a query'],
    [
      { resource: 'https://user:pw@api.example.com' },
      '"resourceMetadata.resource" option must not carry credentials',
    ],
    [{ resource: RESOURCE, resourse: 'x' }, 'unknown option "resourceMetadata.resourse"'],
    [
      { resource: RESOURCE, authorizationServers: 'https://issuer.example/' },
      '"resourceMetadata.authorizationServers" option must be an array',
    ],
    [
      { resource: RESOURCE, authorizationServers: ['https://issuer.example/?tenant=1'] },
      '"resourceMetadata.authorizationServers" option must not have a query',
    ],
    [
      { resource: RESOURCE, scopesSupported: ['Files Read'] },
      '"resourceMetadata.scopesSupported" option must list scopes without spaces',
    ],
    [
      { resource: RESOURCE, resourceName: 'Orders\n' },
      '"resourceMetadata.resourceName" option must be a non-empty string of printable ASCII',
    ],
    [
      { resource: RESOURCE, resourceDocumentation: 'docs.example.com' },
      '"resourceMetadata.resourceDocumentation" option must be an absolute URL',
    ],
  ])('refuses %j at creation with a TypeError naming the option', (value, message) => {
    expect(() =>
      createValidator({ ...base, resourceMetadata: value as { resource: string } }),
    ).toThrow(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    expect(() =>
      createValidator({ ...base, resourceMetadata: value as { resource: string } }),
    ).toThrow(TypeError)
  })

  it('suggests nothing it does not know, and is known to createValidator', () => {
    expect(() =>
      createValidator({ ...base, resourceMetadata: { resource: RESOURCE } }),
    ).not.toThrow()
    expect(createValidator(base).options.resourceMetadata).toBeUndefined()
  })
})

describe('the document', () => {
  it('names the resource, the issuer as authorization server and the header as the only bearer method', () => {
    const metadata = metadataOf({ resourceMetadata: { resource: RESOURCE } })
    expect(metadata.document).toEqual({
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      bearer_methods_supported: ['header'],
    })
    expect(JSON.parse(metadata.body)).toEqual(metadata.document)
    expect(metadata.url).toBe(METADATA_URL)
    expect(metadata.paths).toEqual([
      '/.well-known/oauth-protected-resource/orders',
      '/.well-known/oauth-protected-resource',
    ])
  })

  it('carries every optional member given, in RFC 9728 names', () => {
    const metadata = metadataOf({
      resourceMetadata: {
        resource: RESOURCE,
        authorizationServers: ['https://as1.example', 'https://as2.example/tenant'],
        scopesSupported: ['Orders.Read', 'Orders.Write'],
        resourceName: 'Orders API',
        resourceDocumentation: 'https://docs.example.com/orders',
        resourcePolicyUri: 'https://example.com/policy?lang=en',
        resourceTosUri: 'https://example.com/tos',
      },
    })
    expect(metadata.document).toEqual({
      resource: RESOURCE,
      authorization_servers: ['https://as1.example', 'https://as2.example/tenant'],
      scopes_supported: ['Orders.Read', 'Orders.Write'],
      bearer_methods_supported: ['header'],
      resource_name: 'Orders API',
      resource_documentation: 'https://docs.example.com/orders',
      resource_policy_uri: 'https://example.com/policy?lang=en',
      resource_tos_uri: 'https://example.com/tos',
    })
  })

  it('states DPoP algorithms and whether DPoP is required, from the dpop option', () => {
    const optional = metadataOf({
      resourceMetadata: { resource: RESOURCE },
      dpop: { publicOrigin: 'https://api.example.com', algorithms: ['ES256', 'EdDSA'] },
    })
    expect(optional.document.dpop_signing_alg_values_supported).toEqual(['ES256', 'EdDSA'])
    expect(optional.document.dpop_bound_access_tokens_required).toBe(false)
    const required = metadataOf({
      resourceMetadata: { resource: RESOURCE },
      dpop: { publicOrigin: 'https://api.example.com', required: true },
    })
    expect(required.document.dpop_bound_access_tokens_required).toBe(true)
    expect(required.document.dpop_signing_alg_values_supported).toContain('ES256')
  })

  it('states certificate-bound tokens from certificateBinding (RFC 8705)', () => {
    const metadata = metadataOf({
      resourceMetadata: { resource: RESOURCE },
      certificateBinding: true,
    })
    expect(metadata.document.tls_client_certificate_bound_access_tokens).toBe(true)
    expect(metadataOf({ resourceMetadata: { resource: RESOURCE } }).document).not.toHaveProperty(
      'tls_client_certificate_bound_access_tokens',
    )
  })

  it('leaves authorization_servers out when the issuer is a predicate, not a URL, or the list is empty', () => {
    for (const issuer of [() => true, 'urn:issuer', [ISSUER, 'not a url']]) {
      const metadata = metadataOf({ issuer, resourceMetadata: { resource: RESOURCE } })
      expect(metadata.document).not.toHaveProperty('authorization_servers')
    }
    const empty = metadataOf({ resourceMetadata: { resource: RESOURCE, authorizationServers: [] } })
    expect(empty.document).not.toHaveProperty('authorization_servers')
  })

  it('is frozen all the way down, and a change to the given option afterwards changes nothing', () => {
    const option = { resource: RESOURCE, scopesSupported: ['Orders.Read'] }
    const metadata = metadataOf({ resourceMetadata: option })
    option.scopesSupported.push('Orders.Write')
    expect(metadata.document.scopes_supported).toEqual(['Orders.Read'])
    expect(Object.isFrozen(metadata.document)).toBe(true)
    expect(Object.isFrozen(metadata.document.scopes_supported)).toBe(true)
    expect(Object.isFrozen(metadata.paths)).toBe(true)
  })
})

describe('azureAd() with resourceMetadata', () => {
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47'
  const clientId = '11111111-2222-3333-4444-555555555555'

  it('names the tenant v2 issuer as the authorization server', () => {
    const validator = createValidator(
      azureAd({ tenant, clientId, resourceMetadata: { resource: RESOURCE } }),
    )
    expect(validator.options.resourceMetadata?.document.authorization_servers).toEqual([
      `https://login.microsoftonline.com/${tenant}/v2.0`,
    ])
  })

  it('names the v1 issuer when only v1 tokens are accepted, and keeps servers given', () => {
    const v1 = createValidator(
      azureAd({
        tenant,
        clientId,
        tokenVersions: ['1.0'],
        resourceMetadata: { resource: RESOURCE },
      }),
    )
    expect(v1.options.resourceMetadata?.document.authorization_servers).toEqual([
      `https://sts.windows.net/${tenant}/`,
    ])
    const given = createValidator(
      azureAd({
        tenant,
        clientId,
        resourceMetadata: { resource: RESOURCE, authorizationServers: ['https://as.example'] },
      }),
    )
    expect(given.options.resourceMetadata?.document.authorization_servers).toEqual([
      'https://as.example',
    ])
  })

  it('names none for a multi-tenant API, whose issuer depends on the token', () => {
    const validator = createValidator(
      azureAd({
        tenant: 'organizations',
        allowedTenants: '*',
        clientId,
        resourceMetadata: { resource: RESOURCE },
      }),
    )
    expect(validator.options.resourceMetadata?.document).not.toHaveProperty('authorization_servers')
  })
})

describe('resource_metadata in challenges (§5.1)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW * 1000)
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  const validator = createValidator({ ...base, resourceMetadata: { resource: RESOURCE } })

  it('is in the 401 for a request without credentials', async () => {
    const error = await rejectionOf(validator.authenticate(undefined))
    expect(error.status).toBe(401)
    expect(error.headers['WWW-Authenticate']).toBe(
      `Bearer realm="api", resource_metadata="${METADATA_URL}"`,
    )
  })

  it('is in the 401 for a token that fails, after the error', async () => {
    const token = await mintToken({ claims: { aud: 'api://other' } })
    const error = await rejectionOf(validator.authenticate(`Bearer ${token}`))
    expect(error.headers['WWW-Authenticate']).toMatch(
      new RegExp(
        `^Bearer realm="api", error="invalid_token", error_description="[^"]+", resource_metadata="${METADATA_URL}"$`,
      ),
    )
  })

  it('is in the 403 of a guard', async () => {
    const auth = await validator.verify(await mintToken())
    const denied = checkGuard(requireScopes('Orders.Admin'), auth)
    expect(denied?.headers['WWW-Authenticate']).toContain(`resource_metadata="${METADATA_URL}"`)
  })

  it('is in both challenges when DPoP is accepted', async () => {
    const dpop = createValidator({
      ...base,
      resourceMetadata: { resource: RESOURCE },
      dpop: { publicOrigin: 'https://api.example.com', algorithms: ['ES256'] },
    })
    const error = await rejectionOf(dpop.authenticate(undefined))
    expect(error.headers['WWW-Authenticate']).toBe(
      `Bearer realm="api", resource_metadata="${METADATA_URL}", DPoP realm="api", algs="ES256", resource_metadata="${METADATA_URL}"`,
    )
  })

  it('is absent without the option', async () => {
    const error = await rejectionOf(createValidator(base).authenticate(undefined))
    expect(error.headers['WWW-Authenticate']).toBe('Bearer realm="api"')
  })
})

describe('answerResourceMetadata', () => {
  const metadata = metadataOf({ resourceMetadata: { resource: RESOURCE } })

  it('answers GET on both paths with the JSON document, cacheable and readable cross-origin', () => {
    for (const target of [
      '/.well-known/oauth-protected-resource/orders',
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/orders?x=1',
      'https://api.example.com/.well-known/oauth-protected-resource/orders',
    ]) {
      const answer = answerResourceMetadata(metadata, 'GET', target)
      expect(answer?.status, target).toBe(200)
      expect(answer?.body).toBe(metadata.body)
      expect(answer?.headers).toEqual({
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(metadata.body)),
        'cache-control': 'public, max-age=3600',
        'access-control-allow-origin': '*',
      })
    }
  })

  it('answers HEAD with the headers and no body, OPTIONS with CORS, anything else with 405', () => {
    const path = '/.well-known/oauth-protected-resource/orders'
    const head = answerResourceMetadata(metadata, 'HEAD', path)
    expect(head?.status).toBe(200)
    expect(head?.body).toBeUndefined()
    expect(head?.headers['content-type']).toBe('application/json')
    const options = answerResourceMetadata(metadata, 'OPTIONS', path)
    expect(options?.status).toBe(204)
    expect(options?.headers).toMatchObject({
      allow: 'GET, HEAD, OPTIONS',
      'access-control-allow-methods': 'GET, HEAD, OPTIONS',
    })
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'get', undefined]) {
      const answer = answerResourceMetadata(metadata, method, path)
      expect(answer?.status, String(method)).toBe(405)
      expect(answer?.headers).toEqual({ allow: 'GET, HEAD, OPTIONS' })
      expect(answer?.body).toBeUndefined()
    }
  })

  it('leaves every other path to the app', () => {
    for (const target of [
      '/',
      '/orders',
      '/.well-known/oauth-protected-resource/',
      '/.well-known/oauth-protected-resource/other',
      '/.well-known/oauth-protected-resource/orders/',
      '/.well-known/OAUTH-protected-resource',
      '/.well-known/openid-configuration',
      '//.well-known/oauth-protected-resource',
      '',
      undefined,
    ]) {
      expect(answerResourceMetadata(metadata, 'GET', target), String(target)).toBeUndefined()
    }
  })

  it('serves one path for a resource without a path', () => {
    const root = metadataOf({ resourceMetadata: { resource: 'https://api.example.com' } })
    expect(root.paths).toEqual(['/.well-known/oauth-protected-resource'])
    expect(root.url).toBe('https://api.example.com/.well-known/oauth-protected-resource')
  })
})

describe('createResourceMetadataResponder', () => {
  it('refuses, once, a validator without the option', () => {
    expect(() => createResourceMetadataResponder(createValidator(base))).toThrow(
      'protectedResourceMetadata() needs a validator created with the "resourceMetadata" option',
    )
  })
})
