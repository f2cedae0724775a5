/**
 * The shared case table as a Fetch-API adapter answers it. The Fetch API hands over repeated
 * header lines as one value joined by ", " (`Headers.get`, and @hono/node-server builds its
 * Request the same way), so the rows that send two Authorization headers reach the core as one
 * value: `Bearer t, Bearer t` is not a b64token (400, as the table, with the syntax description),
 * and `Basic ..., Bearer t` is credentials sent twice (400, with its own description). Every other
 * row is answered exactly as by Express and Koa.
 */
import { type AdapterCase, CASES } from '../helpers/cases.js'

const JOINED: Readonly<Record<string, Partial<AdapterCase>>> = {
  'answers 400 invalid_request when two Authorization headers are sent': {
    wwwAuthenticate:
      'Bearer realm="api", error="invalid_request", error_description="the Bearer credentials must be a single token of base64url characters"',
  },
  'answers 400 invalid_request when a Basic header comes with a Bearer one': {
    name: 'answers 400 invalid_request when a Basic header comes first, joined with a Bearer one',
    wwwAuthenticate:
      'Bearer realm="api", error="invalid_request", error_description="more than one set of credentials was sent"',
  },
}

/** `CASES`, with the two repeated-header rows as a Fetch runtime answers them. */
export const FETCH_CASES: readonly AdapterCase[] = CASES.map((testCase) => ({
  ...testCase,
  ...JOINED[testCase.name],
}))

/** How many rows of `CASES` differ for a Fetch runtime. */
export const FETCH_CASE_OVERRIDES = Object.keys(JOINED).length
