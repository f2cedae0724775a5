/**
 * The rules azureAd() builds, called directly: the issuer predicate, the signing-key issuer
 * check, the explanations of the usual Entra ID mistakes, and the option checks. azure.test.ts
 * runs the same rules end to end; here each branch is pinned with a crafted claim set.
 */
import { describe, expect, it } from 'vitest'
import type { RejectionReason, TokenClaims, ValidatorOptions } from '../../src/index.js'
import { type AzureAdOptions, azureAd, isGuid } from '../../src/index.js'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const OTHER = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a'
const CLIENT = '6e74172b-be56-4843-9ff4-e66a39bb12e3'
const V1 = (tid: string) => `https://sts.windows.net/${tid}/`
const V2 = (tid: string) => `https://login.microsoftonline.com/${tid}/v2.0`

type Rules = ValidatorOptions & {
  issuer: (iss: string, claims: TokenClaims) => boolean | Promise<boolean>
  describeRejection: (reason: RejectionReason, claims: TokenClaims) => string | undefined
  signingKeyIssuer: (keyIssuer: string, claims: TokenClaims) => boolean
}

function rules(extra: Partial<AzureAdOptions> = {}): Rules {
  return azureAd({ tenant: TENANT, clientId: CLIENT, ...extra } as AzureAdOptions) as Rules
}

const claims = (c: Record<string, unknown>) => c as unknown as TokenClaims

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return (error as Error).message
  }
  throw new Error('expected a TypeError')
}

describe('azureAd: options', () => {
  it.each([
    [null, 'azureAd options must be an object'],
    ['tenant', 'azureAd options must be an object'],
    [{ clientId: CLIENT }, '"tenant" option is required'],
    [{ tenant: '', clientId: CLIENT }, '"tenant" option is required'],
    [{ tenant: 42, clientId: CLIENT }, '"tenant" option is required'],
    [
      { tenant: TENANT, clientId: CLIENT, allowedTenants: [OTHER] },
      '"allowedTenants" option applies only to a multi-tenant "tenant" ("organizations" or "common")',
    ],
    [
      { tenant: 'organizations', clientId: CLIENT, allowedTenants: [] },
      '"allowedTenants" option must be "*" or a non-empty array of tenant ids (GUIDs)',
    ],
    [
      { tenant: 'common', clientId: CLIENT, allowedTenants: 'all' },
      '"allowedTenants" option must be "*" or a non-empty array of tenant ids (GUIDs)',
    ],
    [
      { tenant: 'organizations', clientId: CLIENT, allowedTenants: [OTHER, 'contoso.com'] },
      '"allowedTenants" option must be "*" or a non-empty array of tenant ids (GUIDs)',
    ],
    [
      { tenant: TENANT, audience: [] },
      '"audience" option must be a non-empty string or an array of them',
    ],
    [
      { tenant: TENANT, audience: ['api://x', ''] },
      '"audience" option must be a non-empty string or an array of them',
    ],
    [
      { tenant: TENANT, audience: ['api://x', 7] },
      '"audience" option must be a non-empty string or an array of them',
    ],
    [
      { tenant: TENANT, audience: '' },
      '"audience" option must be a non-empty string or an array of them',
    ],
    [
      { tenant: TENANT, audience: 7 },
      '"audience" option must be a non-empty string or an array of them',
    ],
    [{ tenant: TENANT }, '"clientId" or "audience" option is required'],
    [{ tenant: TENANT, clientId: 'orders' }, '"clientId" option must be a GUID'],
    [
      { tenant: TENANT, clientId: CLIENT, cloud: 'mars' },
      '"cloud" option must be one of public, usgovernment, china',
    ],
    [
      { tenant: TENANT, clientId: CLIENT, tokenVersions: [] },
      '"tokenVersions" option must be a non-empty array of "1.0" and "2.0"',
    ],
    [
      { tenant: TENANT, clientId: CLIENT, tokenVersions: '2.0' },
      '"tokenVersions" option must be a non-empty array of "1.0" and "2.0"',
    ],
    [
      { tenant: TENANT, clientId: CLIENT, tokenVersions: ['2.0', '3.0'] },
      '"tokenVersions" option must be a non-empty array of "1.0" and "2.0"',
    ],
    [
      { tenant: TENANT, clientId: CLIENT, instance: 'http://login.example' },
      '"instance" option must be an https URL (plain http is allowed only on a loopback host)',
    ],
  ])('%j: %s', (options, message) => {
    expect(messageOf(() => azureAd(options as unknown as AzureAdOptions))).toBe(message)
  })

  it('takes an audience list as it is, and widens a single client id or App ID URI to both forms', () => {
    expect(rules({ clientId: undefined, audience: ['api://orders'] }).audience).toEqual([
      'api://orders',
    ])
    expect(rules({ clientId: undefined, audience: CLIENT }).audience).toEqual([
      CLIENT,
      `api://${CLIENT}`,
    ])
    expect(rules({ clientId: undefined, audience: `api://${CLIENT}` }).audience).toEqual([
      `api://${CLIENT}`,
      CLIENT,
    ])
    expect(rules({ clientId: undefined, audience: 'api://orders' }).audience).toEqual([
      'api://orders',
    ])
    expect(rules({ audience: 'https://orders.example' }).audience).toEqual([
      'https://orders.example',
      CLIENT,
      `api://${CLIENT}`,
    ])
  })

  it('builds the keys URL from the instance, without trailing slashes, and keeps a realm', () => {
    const options = rules({ instance: 'http://127.0.0.1:9999/login///', realm: 'orders' })
    expect(options.jwksUri).toBe(`http://127.0.0.1:9999/login/${TENANT}/discovery/v2.0/keys`)
    expect(options.realm).toBe('orders')
    expect('realm' in rules()).toBe(false)
    expect(rules().requirePermissions).toBe(true)
    expect(rules({ requirePermissions: false }).requirePermissions).toBe(false)
  })

  it('isGuid accepts GUIDs in any case, and nothing else', () => {
    expect(isGuid(TENANT.toUpperCase())).toBe(true)
    expect(isGuid(`${TENANT}x`)).toBe(false)
    expect(isGuid(42)).toBe(false)
    expect(isGuid(undefined)).toBe(false)
  })
})

describe('azureAd: issuer rule', () => {
  it('accepts the v1 and v2 issuers of the tenant, and nothing else', () => {
    const { issuer } = rules()
    expect(issuer(V2(TENANT), claims({ tid: TENANT }))).toBe(true)
    expect(issuer(V1(TENANT), claims({ tid: TENANT }))).toBe(true)
    expect(issuer(V2(TENANT), claims({ tid: TENANT, ver: '2.0' }))).toBe(true)
    expect(issuer(V2(TENANT), claims({ tid: TENANT, ver: '1.0' }))).toBe(false)
    expect(issuer(V1(TENANT), claims({ tid: TENANT, ver: '2.0' }))).toBe(false)
    expect(issuer(V2(OTHER), claims({ tid: OTHER }))).toBe(false)
    expect(issuer(V2(TENANT), claims({ tid: 'not-a-guid' }))).toBe(false)
    expect(issuer(V2(TENANT), claims({}))).toBe(false)
    expect(issuer(`${V2(TENANT)}/`, claims({ tid: TENANT }))).toBe(false)
  })

  it('accepts only the configured versions', () => {
    const { issuer } = rules({ tokenVersions: ['2.0'] })
    expect(issuer(V2(TENANT), claims({ tid: TENANT }))).toBe(true)
    expect(issuer(V1(TENANT), claims({ tid: TENANT }))).toBe(false)
    const v1Only = rules({ tokenVersions: ['1.0'] }).issuer
    expect(v1Only(V1(TENANT), claims({ tid: TENANT }))).toBe(true)
    expect(v1Only(V2(TENANT), claims({ tid: TENANT }))).toBe(false)
  })

  it('multi-tenant with "*": any tenant whose own issuer it is, never a non-GUID tid or a foreign host', () => {
    const { issuer } = rules({ tenant: 'organizations', allowedTenants: '*' })
    expect(issuer(V2(OTHER), claims({ tid: OTHER }))).toBe(true)
    expect(issuer(V1(OTHER), claims({ tid: OTHER }))).toBe(true)
    expect(issuer(V2('contoso'), claims({ tid: 'contoso' }))).toBe(false)
    expect(issuer(`https://evil.example/${OTHER}/v2.0`, claims({ tid: OTHER }))).toBe(false)
    expect(issuer(V2(TENANT), claims({ tid: OTHER }))).toBe(false)
  })
})

describe('azureAd: signing-key issuer rule', () => {
  it('accepts a key issuer naming the token tenant, in its template or literal form', () => {
    const { signingKeyIssuer } = rules()
    const v2 = claims({ tid: TENANT, iss: V2(TENANT) })
    expect(signingKeyIssuer('https://login.microsoftonline.com/{tenantid}/v2.0', v2)).toBe(true)
    expect(signingKeyIssuer(V2(TENANT), v2)).toBe(true)
    expect(signingKeyIssuer(V2(OTHER), v2)).toBe(false)
    // A v1 token is accepted when the key names the v2 form of the same tenant.
    const v1 = claims({ tid: TENANT, iss: V1(TENANT) })
    expect(signingKeyIssuer(V2(TENANT), v1)).toBe(true)
    expect(signingKeyIssuer('https://login.microsoftonline.com/{tenantid}/v2.0', v1)).toBe(true)
    expect(signingKeyIssuer(V1(OTHER), v1)).toBe(false)
    // A key that names the token's own (v1) issuer.
    expect(signingKeyIssuer(V1(TENANT), v1)).toBe(true)
    expect(signingKeyIssuer('https://sts.windows.net/{tenantid}/', v1)).toBe(true)
    expect(signingKeyIssuer(V2(TENANT), claims({ tid: 'x', iss: V2(TENANT) }))).toBe(false)
  })
})

describe('azureAd: explanations', () => {
  const explain = (reason: RejectionReason, c: Record<string, unknown>, extra = {}) =>
    rules(extra).describeRejection(reason, claims(c))

  it.each([
    [
      { aud: '00000003-0000-0000-c000-000000000000' },
      `the token is for Microsoft Graph, not this API: request a token for ${CLIENT}/.default or a scope of this API`,
    ],
    [
      { aud: ['x', 'https://graph.microsoft.com'] },
      `the token is for Microsoft Graph, not this API: request a token for ${CLIENT}/.default or a scope of this API`,
    ],
    [
      { aud: CLIENT, nonce: 'n' },
      'the token looks like an ID token: send an access token issued for this API',
    ],
    [
      { aud: 'x', at_hash: 'h' },
      'the token looks like an ID token: send an access token issued for this API',
    ],
    [
      { aud: 'x', c_hash: 'h' },
      'the token looks like an ID token: send an access token issued for this API',
    ],
    [
      { aud: 'https://other.example' },
      `the token audience (aud) is not this API: request a token for ${CLIENT}`,
    ],
    [{ aud: 42 }, `the token audience (aud) is not this API: request a token for ${CLIENT}`],
  ])('wrong_audience %j: %s', (c, text) => {
    expect(explain('wrong_audience', c)).toBe(text)
  })

  it('explains an App ID URI sent to an API that accepts only its client id, and the reverse', () => {
    const clientIdOnly = { clientId: undefined, audience: [CLIENT] }
    expect(explain('wrong_audience', { aud: 'api://other' }, clientIdOnly)).toBe(
      'the token audience is an App ID URI (usual in v1 tokens), but this API accepts only its client id',
    )
    expect(explain('wrong_audience', { aud: ['x', 'api://other'] }, clientIdOnly)).toBe(
      'the token audience is an App ID URI (usual in v1 tokens), but this API accepts only its client id',
    )
    const uriOnly = { clientId: undefined, audience: ['api://orders'] }
    expect(explain('wrong_audience', { aud: OTHER }, uriOnly)).toBe(
      'the token audience is a client id (usual in v2 tokens), but this API accepts only its App ID URI',
    )
    expect(explain('wrong_audience', { aud: ['x', OTHER] }, uriOnly)).toBe(
      'the token audience is a client id (usual in v2 tokens), but this API accepts only its App ID URI',
    )
    expect(explain('wrong_audience', { aud: 'https://other.example' }, clientIdOnly)).toBe(
      `the token audience (aud) is not this API: request a token for ${CLIENT}`,
    )
    // Both forms accepted: no mix-up to explain, but perhaps a custom App ID URI to name (#13).
    expect(explain('wrong_audience', { aud: 'api://other' })).toBe(
      'the token audience is an App ID URI this API does not know: if it is this API, name it in the appIdUri option of azureAd()',
    )
    expect(explain('wrong_audience', { aud: OTHER })).toBe(
      `the token audience (aud) is not this API: request a token for ${CLIENT}`,
    )
    expect(explain('wrong_audience', { aud: 'https://x' }, uriOnly)).toBe(
      'the token audience (aud) is not this API: request a token for api://orders',
    )
  })

  it.each([
    [{ iss: V2(TENANT), tid: 'x' }, 'the token has no valid tenant id (tid)'],
    [{ iss: V2(TENANT) }, 'the token has no valid tenant id (tid)'],
    [
      { iss: V2(OTHER), tid: TENANT },
      'the token issuer (iss) names a different tenant than its tid',
    ],
    [
      { iss: `https://evil.example/${TENANT}/v2.0`, tid: TENANT },
      'the token issuer (iss) is not an Entra ID issuer of this cloud',
    ],
    [
      { iss: V2(TENANT), tid: TENANT, ver: '1.0' },
      'the token is a v2.0 token, and this API accepts v1.0 and v2.0 tokens only (see accessTokenAcceptedVersion in the app manifest)',
    ],
    [{ iss: V2(OTHER), tid: OTHER }, 'the token comes from another tenant than this API accepts'],
  ])('wrong_issuer %j: %s', (c, text) => {
    expect(explain('wrong_issuer', c)).toBe(text)
  })

  it('names the accepted versions when a token has another one', () => {
    expect(
      explain('wrong_issuer', { iss: V1(TENANT), tid: TENANT }, { tokenVersions: ['2.0'] }),
    ).toBe(
      'the token is a v1.0 token, and this API accepts v2.0 tokens only (see accessTokenAcceptedVersion in the app manifest)',
    )
    expect(
      explain(
        'wrong_issuer',
        { iss: V2(TENANT), tid: TENANT, ver: '2.0' },
        { tokenVersions: ['2.0'] },
      ),
    ).toBe('the token comes from another tenant than this API accepts')
  })

  it('explains no_permissions, leaves other reasons to the caller hook', () => {
    expect(explain('no_permissions', {})).toBe(
      'the token carries neither scp nor roles: grant the caller a delegated scope or an application permission of this API',
    )
    expect(explain('wrong_issuer', { iss: 42, tid: TENANT })).toBeUndefined()
    expect(explain('expired', {})).toBeUndefined()
    const withHook = rules({ describeRejection: (reason) => `hook: ${reason}` })
    expect(withHook.describeRejection('expired', claims({}))).toBe('hook: expired')
    expect(withHook.describeRejection('no_permissions', claims({}))).toMatch(/^the token carries/)
  })
})

describe('azureAd: explanations name the right problem (issue #13, point 7)', () => {
  const explain = (c: Record<string, unknown>) =>
    rules().describeRejection('wrong_issuer', claims(c))

  it.each([
    ['another provider', 'https://accounts.google.com'],
    [
      'a lookalike host that carries the tid',
      `https://login.microsoftonline.com.evil.example/${TENANT}/v2.0`,
    ],
    ['another cloud', `https://login.microsoftonline.us/${TENANT}/v2.0`],
  ])(
    'says an issuer of %s is not an Entra ID issuer of this cloud, not a tenant mismatch',
    (_, iss) => {
      expect(explain({ iss, tid: TENANT })).toBe(
        'the token issuer (iss) is not an Entra ID issuer of this cloud',
      )
    },
  )

  it('still names a tenant mismatch for an Entra issuer of another tenant than tid', () => {
    expect(explain({ iss: V2(OTHER), tid: TENANT })).toBe(
      'the token issuer (iss) names a different tenant than its tid',
    )
  })
})

describe('azureAd: a newcomer first hour (issue #13)', () => {
  it('accepts a custom App ID URI by name, beside the client id', () => {
    const options = rules({ appIdUri: 'api://orders' })
    expect(options.audience).toEqual([CLIENT, `api://${CLIENT}`, 'api://orders'])
    expect(rules({ appIdUri: ['https://contoso.com/orders'] }).audience).toContain(
      'https://contoso.com/orders',
    )
  })

  it.each([[''], ['orders'], [[]], [[5]], [42]])('refuses appIdUri %j', (appIdUri) => {
    expect(messageOf(() => rules({ appIdUri } as never))).toBe(
      '"appIdUri" option must be a URI (api://... or https://...) or an array of them',
    )
  })

  it('says what to add when the audience is an App ID URI the API does not know', () => {
    expect(rules().describeRejection('wrong_audience', claims({ aud: 'api://orders' }))).toBe(
      'the token audience is an App ID URI this API does not know: if it is this API, name it in the appIdUri option of azureAd()',
    )
  })

  it.each([
    ['clientID', 'clientId'],
    ['tenantId', 'tenant'],
    ['allowedTenant', 'allowedTenants'],
    ['audiance', 'audience'],
    ['appIdURI', 'appIdUri'],
  ])('suggests %s -> %s for a typo', (typo, meant) => {
    expect(
      messageOf(() => azureAd({ tenant: TENANT, clientId: CLIENT, [typo]: 'x' } as never)),
    ).toBe(`unknown option "${typo}" (did you mean "${meant}"?)`)
  })

  it('takes static keys instead of the tenant JWKS, and not both', () => {
    const keys = { keys: [{ kty: 'RSA', kid: 'k', n: 'AQAB', e: 'AQAB' }] }
    const options = rules({ keys } as never)
    expect(options.jwksUri).toBeUndefined()
    expect(options.keys).toBe(keys)
    expect(messageOf(() => rules({ keys, jwksUri: 'https://x.example/keys' } as never))).toBe(
      '"jwksUri" and "keys" options are exclusive: give one key source',
    )
  })

  it('uses the China cloud endpoints of Microsoft national-cloud documentation', () => {
    const china = rules({ cloud: 'china' })
    const v2 = `https://login.partner.microsoftonline.cn/${TENANT}/v2.0`
    const v1 = `https://sts.chinacloudapi.cn/${TENANT}/`
    expect(china.issuer(v2, claims({ tid: TENANT }))).toBe(true)
    expect(china.issuer(v1, claims({ tid: TENANT }))).toBe(true)
    expect(china.issuer(V2(TENANT), claims({ tid: TENANT }))).toBe(false)
  })
})
