/**
 * The MCP profile in the core: the SDK's AuthInfo of a verified token, the audience rule (the
 * token must name the MCP server's canonical URI), and how each rejection maps to the SDK's kinds.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createValidator,
  InsufficientScopeError,
  InvalidTokenError,
  KeysUnavailableError,
  mcpRejectionOf,
  mcpSettingsOf,
  toMcpAuthInfo,
} from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const MCP = 'https://mcp.example.com/mcp'
const validator = createValidator({
  issuer: ISSUER,
  audience: [MCP, AUDIENCE],
  keys: toJwks(rsaKey),
  resourceMetadata: { resource: MCP },
})

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('toMcpAuthInfo', () => {
  it('gives the SDK the token, client, scopes, expiry in seconds, resource and our AuthInfo', async () => {
    const token = await mintToken({ claims: { aud: [MCP, 'other'] } })
    const auth = await validator.verify(token)
    expect(toMcpAuthInfo(auth, MCP)).toEqual({
      token,
      clientId: 'client-abc',
      scopes: ['Files.Read', 'Files.Write'],
      expiresAt: NOW + 3600,
      resource: new URL(MCP),
      extra: { bearerGuard: auth },
    })
  })

  it('refuses a token the validator accepted for another of its audiences', async () => {
    const auth = await validator.verify(await mintToken())
    expect(toMcpAuthInfo(auth, MCP)).toEqual({
      kind: 'invalid_token',
      message: `the token audience (aud) is not this MCP server: request a token for the resource ${MCP}`,
    })
  })

  it('gives an empty client id when the token names no client', async () => {
    const auth = await validator.verify(await mintToken({ claims: { aud: MCP, azp: undefined } }))
    expect(toMcpAuthInfo(auth, MCP)).toMatchObject({ clientId: '' })
  })
})

describe('mcpRejectionOf', () => {
  it('maps 401 to invalid_token, 403 to insufficient_scope, the rest to server_error', () => {
    expect(
      mcpRejectionOf(new InvalidTokenError('the token has "expired"', { reason: 'expired' })),
    ).toEqual({
      kind: 'invalid_token',
      message: "the token has 'expired'",
    })
    expect(
      mcpRejectionOf(
        new InsufficientScopeError('missing scope', { reason: 'missing_scope', scopes: ['a'] }),
      ),
    ).toMatchObject({
      kind: 'insufficient_scope',
    })
    for (const error of [
      new KeysUnavailableError(30, { reason: 'keys_unavailable' }),
      new Error('boom'),
      'text',
    ]) {
      expect(mcpRejectionOf(error)).toEqual({
        kind: 'server_error',
        message: 'the token cannot be verified now',
      })
    }
  })
})

describe('mcpSettingsOf', () => {
  it('names the resource, the metadata URL and the scopes', () => {
    expect(mcpSettingsOf(validator, ['mcp:tools'])).toEqual({
      resource: MCP,
      resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
      requiredScopes: ['mcp:tools'],
    })
    expect(mcpSettingsOf(validator).requiredScopes).toEqual([])
  })

  it('refuses a validator that requires DPoP: the SDK hands over Bearer tokens only', () => {
    const required = createValidator({
      issuer: ISSUER,
      audience: MCP,
      keys: toJwks(rsaKey),
      resourceMetadata: { resource: MCP },
      dpop: { publicOrigin: 'https://mcp.example.com', required: true },
    })
    expect(() => mcpSettingsOf(required)).toThrow(/cannot require DPoP/)
  })

  it('refuses metadata without an authorization server, which MCP clients need', () => {
    const unnamed = createValidator({
      issuer: (iss: string) => iss === ISSUER,
      audience: MCP,
      keys: toJwks(rsaKey),
      resourceMetadata: { resource: MCP },
    })
    expect(unnamed.options.resourceMetadata?.document.authorization_servers).toBeUndefined()
    expect(() => mcpSettingsOf(unnamed)).toThrow(/resourceMetadata.authorizationServers/)
    const named = createValidator({
      issuer: (iss: string) => iss === ISSUER,
      audience: MCP,
      keys: toJwks(rsaKey),
      resourceMetadata: { resource: MCP, authorizationServers: [ISSUER] },
    })
    expect(mcpSettingsOf(named).resource).toBe(MCP)
  })
})
