/**
 * Properties of RFC 9728 metadata: the well-known URL of any resource identifier (§3.1), and the
 * path matcher every adapter relies on, which a client controls (any method, any target).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  answerResourceMetadata,
  createValidator,
  RESOURCE_METADATA_PATH,
  resourceMetadataUrl,
} from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER } from '../helpers/tokens.js'

const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'
const segment = fc
  .array(fc.constantFrom(...UNRESERVED.split('')), { minLength: 1, maxLength: 8 })
  .map((chars) => chars.join(''))
  .filter((s) => s !== '.' && s !== '..')
const path = fc.array(segment, { maxLength: 4 }).map((parts) => parts.join('/'))
const origin = fc
  .tuple(
    fc.constantFrom('api.example', 'a.b.example', 'xn--bcher-kva.example'),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  )
  .map(([host, port]) => `https://${host}${port === undefined || port === 443 ? '' : `:${port}`}`)

const metadataOf = (resource: string) => {
  const metadata = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: toJwks(rsaKey),
    resourceMetadata: { resource },
  }).options.resourceMetadata
  if (metadata === undefined) throw new Error('no metadata')
  return metadata
}

describe('resourceMetadataUrl', () => {
  it('puts the suffix between origin and path, without the terminating slash', () => {
    fc.assert(
      fc.property(origin, path, fc.boolean(), (base, rest, slash) => {
        const resource = `${base}/${rest}${slash && rest !== '' ? '/' : ''}`
        const url = resourceMetadataUrl(resource)
        expect(url).toBe(`${base}${RESOURCE_METADATA_PATH}${rest === '' ? '' : `/${rest}`}`)
        // The URL answers: its path is the first the metadata serves.
        expect(metadataOf(resource).paths[0]).toBe(new URL(url).pathname)
      }),
    )
  })
})

describe('answerResourceMetadata', () => {
  const metadata = metadataOf('https://api.example/mcp')
  const served = new Set(metadata.paths)

  it('never throws, and answers only its own paths, whatever the method and target', () => {
    fc.assert(
      fc.property(
        fc.option(fc.oneof(fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'POST'), fc.string()), {
          nil: undefined,
        }),
        fc.oneof(
          fc.string(),
          fc.constantFrom(...metadata.paths).chain((p) => fc.string().map((tail) => `${p}${tail}`)),
        ),
        (method, target) => {
          const answer = answerResourceMetadata(metadata, method, target)
          const pathOnly = target.split(/[?#]/)[0] as string
          if (answer !== undefined) {
            expect(served.has(pathOnly)).toBe(true)
            expect([200, 204, 405]).toContain(answer.status)
          } else if (target.startsWith('/')) {
            expect(served.has(pathOnly)).toBe(false)
          }
        },
      ),
    )
  })
})
