/**
 * What repeated texts of a token decode to, made once and shared. An issuer's access tokens
 * repeat a few texts: the header (one per signing key) and, per calling client, the `aud` and
 * `scp` claims. The decoded header (token.ts) and the frozen lists (caller-rules.ts) of a text
 * seen lately are taken from a table instead of being decoded, parsed, split and frozen again for
 * every token; being frozen all the way down, a shared value cannot carry one request's change
 * to another.
 *
 * An entry is what its text says, whoever sent it (every check still runs on it for every token),
 * so a token whose signature fails may put one in: a table holds at most MAX_REMEMBERED texts of
 * at most MAX_REMEMBERED_TEXT characters, the oldest going first. bench/tricks.ts measures the
 * tables on and off ("repeated-texts").
 */

export const MAX_REMEMBERED = 256
export const MAX_REMEMBERED_TEXT = 512

/** How many texts a table holds, and the longest text it takes. */
export interface TableBounds {
  readonly texts: number
  readonly textLength: number
}

const DEFAULT_BOUNDS: TableBounds = { texts: MAX_REMEMBERED, textLength: MAX_REMEMBERED_TEXT }

/**
 * Puts `value` in `table` as the value of `text` (unless the text is too long), the oldest text
 * going when the table is full; hands the value back. `bounds` for a table of its own measure
 * (dpop.ts keeps proof headers, longer than 512 characters for RSA keys).
 */
export function remember<V>(
  table: Map<string, V>,
  text: string,
  value: V,
  bounds: TableBounds = DEFAULT_BOUNDS,
): V {
  if (text.length <= bounds.textLength) {
    if (table.size >= bounds.texts) table.delete(table.keys().next().value as string)
    table.set(text, value)
  }
  return value
}

/**
 * The value of `text` in `table`, made by `make` (and frozen by it) when the text is not there;
 * a text longer than MAX_REMEMBERED_TEXT is made every time.
 *
 * @example
 * ```ts
 * const lists = new Map<string, readonly string[]>()
 * remembered(lists, 'a b', (text) => Object.freeze(text.split(' '))) // made once, then shared
 * ```
 */
export function remembered<V>(table: Map<string, V>, text: string, make: (text: string) => V): V {
  const value = table.get(text)
  return value === undefined ? remember(table, text, make(text)) : value
}
