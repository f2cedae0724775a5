/** The servers bench/http.ts measures, each against its bare framework. */
export const TARGETS = [
  'express-bare',
  'express-noop',
  'express-sync-noop',
  'express-bearer-guard',
  'express-oauth2-jwt-bearer',
  'express-jwt',
  'express-fast-jwt',
  'express-floor',
  'koa-bare',
  'koa-noop',
  'koa-bearer-guard',
  'koa-jwt',
] as const

export type Target = (typeof TARGETS)[number]

export const TARGET_LABELS: Readonly<Record<Target, string>> = {
  'express-bare': 'bare Express 5',
  'express-noop': 'Express + an async middleware that only reads the header (reference)',
  'express-sync-noop': 'Express + a synchronous middleware that only reads the header (reference)',
  'express-bearer-guard': 'Express + bearer-guard',
  'express-oauth2-jwt-bearer': 'Express + express-oauth2-jwt-bearer',
  'express-jwt': 'Express + express-jwt + jwks-rsa',
  'express-fast-jwt': 'Express + fast-jwt (prepared verifier per key, its cache on)',
  'express-floor':
    'Express + a hand-written floor middleware (crypto.verify with a prepared key, base64url decode, JSON.parse, iss/aud/exp; reference)',
  'koa-bare': 'bare Koa 3',
  'koa-noop': 'Koa + an async middleware that only reads the header (reference)',
  'koa-bearer-guard': 'Koa + bearer-guard',
  'koa-jwt': 'Koa + koa-jwt + jwks-rsa',
}

/** Targets that verify tokens with another library. */
export function isPeer(target: Target): boolean {
  return (
    !target.endsWith('-bare') &&
    !target.endsWith('-noop') &&
    !target.endsWith('-floor') &&
    !target.endsWith('-bearer-guard')
  )
}

export function bareOf(target: Target): Target {
  return target.startsWith('koa') ? 'koa-bare' : 'express-bare'
}
