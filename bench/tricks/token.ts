/**
 * The scratch buffer's plain alternative: src/token.ts's `parseAccessToken` (its header memo
 * included, as in the product) and src/crypto-node.ts's `checkSignature` with a fresh buffer per
 * call (`Buffer.allocUnsafe`, which Node serves from its 8 KB pool for a token this size) in
 * place of the one shared 16 KB scratch buffer. The rest is copied unchanged, because the helpers
 * of crypto-node.ts work on the shared buffer.
 */
import { InvalidTokenError } from '../../src/errors.js'
import { deepFreeze } from '../../src/immutable.js'
import type { ResolvedOptions } from '../../src/options.js'
import type { ParsedToken } from '../../src/token.js'
import type { TokenClaims, TokenHeader } from '../../src/types.js'
import type { SignatureVerifier } from '../../src/verify.js'

const BASE64URL_VALUES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const utf8 = new TextDecoder('utf-8', { fatal: true })

function malformed(description: string, cause?: unknown): never {
  throw new InvalidTokenError(description, { reason: 'malformed_token', cause })
}

function hasZeroPadBits(segment: string): boolean {
  const rest = segment.length % 4
  if (rest === 0) return true
  const last = BASE64URL_VALUES.indexOf(segment.charAt(segment.length - 1))
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
}

function decodeSegmentInto(
  token: string,
  start: number,
  end: number,
  into: Buffer,
  at: number,
): number {
  const length = end - start
  if (length === 0 || length % 4 === 1) return -1
  const segment = token.slice(start, end)
  const written = into.write(segment, at, 'base64url')
  return written === (length * 3) >> 2 && hasZeroPadBits(segment) ? written : -1
}

function isPlainAscii(token: string): boolean {
  return (
    Buffer.byteLength(token, 'utf8') === token.length &&
    token.indexOf('+') === -1 &&
    token.indexOf('/') === -1 &&
    token.indexOf('=') === -1
  )
}

function decodeJsonObject(bytes: Buffer, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(bytes))
  } catch (cause) {
    malformed(`the token ${what} is not valid JSON`, cause)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    malformed(`the token ${what} is not a JSON object`)
  }
  return value as Record<string, unknown>
}

/** src/token.ts's `parseToken`, its bytes in a buffer of their own. */
function parseTokenAllocatingOnce(
  token: unknown,
  options: ResolvedOptions,
  knownHeader?: TokenHeader,
): ParsedToken {
  if (typeof token !== 'string' || token.length === 0) {
    malformed('the token must be a non-empty string')
  }
  if (token.length > options.maxTokenLength) malformed('the token is too long')
  const first = token.indexOf('.')
  const second = first === -1 ? -1 : token.indexOf('.', first + 1)
  if (second === -1 || token.indexOf('.', second + 1) !== -1) malformed('not three segments')
  if (!isPlainAscii(token)) malformed('not base64url')
  const buffer = Buffer.allocUnsafe(token.length)
  if (decodeSegmentInto(token, second + 1, token.length, buffer, 0) === -1)
    malformed('not base64url')
  const headerLength = knownHeader === undefined ? decodeSegmentInto(token, 0, first, buffer, 0) : 0
  const payloadLength =
    headerLength === -1 ? -1 : decodeSegmentInto(token, first + 1, second, buffer, headerLength)
  if (payloadLength === -1) malformed('not base64url')
  const header = knownHeader ?? decodeJsonObject(buffer.subarray(0, headerLength), 'header')
  const claims = decodeJsonObject(
    buffer.subarray(headerLength, headerLength + payloadLength),
    'payload',
  )
  return {
    header: header as unknown as TokenHeader,
    claims: claims as unknown as TokenClaims,
    signingInputEnd: second,
  }
}

/** src/crypto-node.ts's `checkSignature`, its bytes in a buffer of their own. */
export function checkSignatureAllocating(
  token: string,
  parsed: ParsedToken,
  verifier: SignatureVerifier,
): boolean | Promise<boolean> {
  const end = parsed.signingInputEnd
  const buffer = Buffer.allocUnsafe(token.length)
  buffer.write(token, 0, end, 'latin1')
  const signatureLength = buffer.write(token.slice(end + 1), end, 'base64url')
  return verifier(buffer.subarray(0, end), buffer.subarray(end, end + signatureLength))
}

const headersByText = new Map<string, TokenHeader>()

/** src/token.ts's `parseAccessToken` over {@link parseTokenAllocatingOnce}: the same header memo. */
export function parseTokenAllocating(token: unknown, options: ResolvedOptions): ParsedToken {
  if (typeof token !== 'string' || token.length > options.maxTokenLength) {
    return parseTokenAllocatingOnce(token, options)
  }
  const end = token.indexOf('.')
  if (end <= 0 || end > 512) return parseTokenAllocatingOnce(token, options)
  const text = token.slice(0, end)
  const known = headersByText.get(text)
  const parsed = parseTokenAllocatingOnce(token, options, known)
  if (known === undefined) {
    deepFreeze(parsed.header)
    if (headersByText.size >= 256) headersByText.delete(headersByText.keys().next().value as string)
    headersByText.set(text, parsed.header)
  }
  return parsed
}
