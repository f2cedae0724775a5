/**
 * The small part of ASN.1 DER (ITU-T X.690 §8, §10) that an X.509 v3 certificate needs:
 * encoders for the universal types RFC 5280 uses, and a reader that finds the elements of an
 * encoded structure (to copy an issuer's subject name, or a public key's bits).
 */

/** A DER element found by {@link readElement}: its tag, and where its contents lie. */
export interface DerElement {
  readonly tag: number
  /** The whole element, tag and length included. */
  readonly bytes: Buffer
  /** The contents octets. */
  readonly contents: Buffer
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length])
  const octets: number[] = []
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256)
  return Buffer.from([0x80 | octets.length, ...octets])
}

/** An element from its tag and contents (X.690 §8.1: identifier, definite length, contents). */
export function encodeElement(tag: number, ...contents: readonly Buffer[]): Buffer {
  const body = Buffer.concat(contents)
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body])
}

/** SEQUENCE of the given elements, in order. */
export function encodeSequence(...items: readonly Buffer[]): Buffer {
  return encodeElement(0x30, ...items)
}

/** SET OF the given elements, sorted as DER requires (X.690 §11.6). */
export function encodeSet(...items: readonly Buffer[]): Buffer {
  return encodeElement(0x31, ...[...items].sort(Buffer.compare))
}

/** A non-negative INTEGER from its big-endian magnitude, or from a small whole number. */
export function encodeInteger(value: Buffer | number): Buffer {
  let bytes: Buffer
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError('a non-negative safe integer is needed')
    const octets: number[] = []
    for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256)
    bytes = Buffer.from(octets)
  } else {
    bytes = value
  }
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  const magnitude = bytes.length === 0 ? Buffer.from([0]) : bytes.subarray(start)
  // A set high bit would read as negative: two's complement needs a leading zero (§8.3).
  const first = magnitude[0] ?? 0
  return encodeElement(
    0x02,
    first & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude,
  )
}

/** An OBJECT IDENTIFIER from its dotted form, such as `2.5.4.3` (X.690 §8.19). */
export function encodeObjectIdentifier(oid: string): Buffer {
  const arcs = oid.split('.').map(Number)
  const [first, second, ...rest] = arcs
  if (
    first === undefined ||
    second === undefined ||
    arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0) ||
    first > 2 ||
    (first < 2 && second > 39)
  ) {
    throw new RangeError(`not an object identifier: ${oid}`)
  }
  const octets: number[] = []
  for (const arc of [first * 40 + second, ...rest]) {
    const group = [arc % 128]
    for (let high = Math.floor(arc / 128); high > 0; high = Math.floor(high / 128)) {
      group.unshift(0x80 | (high % 128))
    }
    octets.push(...group)
  }
  return encodeElement(0x06, Buffer.from(octets))
}

/** UTF8String. */
export function encodeUtf8String(value: string): Buffer {
  return encodeElement(0x0c, Buffer.from(value, 'utf8'))
}

/** IA5String (ASCII), with a context-specific implicit tag when one is given. */
export function encodeIa5String(value: string, tag = 0x16): Buffer {
  if ([...value].some((char) => (char.codePointAt(0) ?? 0) > 0x7f))
    throw new RangeError('IA5String takes ASCII only')
  return encodeElement(tag, Buffer.from(value, 'ascii'))
}

/** OCTET STRING. */
export function encodeOctetString(value: Buffer): Buffer {
  return encodeElement(0x04, value)
}

/** BIT STRING of whole octets, or with `unusedBits` trailing bits unused (§8.6). */
export function encodeBitString(value: Buffer, unusedBits = 0): Buffer {
  return encodeElement(0x03, Buffer.from([unusedBits]), value)
}

/** BIT STRING of named bits (bit 0 is the most significant of the first octet), minimal (§11.2.2). */
export function encodeNamedBits(bits: readonly number[]): Buffer {
  const highest = Math.max(...bits)
  const octets = Buffer.alloc(Math.floor(highest / 8) + 1)
  for (const bit of bits) octets[bit >> 3] = (octets[bit >> 3] ?? 0) | (0x80 >> (bit & 7))
  return encodeBitString(octets, 7 - (highest & 7))
}

/** BOOLEAN (§11.1: TRUE is 0xff). */
export function encodeBoolean(value: boolean): Buffer {
  return encodeElement(0x01, Buffer.from([value ? 0xff : 0x00]))
}

/** NULL. */
export const DER_NULL: Buffer = Buffer.from([0x05, 0x00])

function twoDigits(value: number): string {
  return String(value).padStart(2, '0')
}

/**
 * A certificate time (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050,
 * in UTC to the second.
 */
export function encodeTime(date: Date): Buffer {
  const year = date.getUTCFullYear()
  if (year < 1950 || year > 9999) throw new RangeError('certificate times run from 1950 to 9999')
  const rest = [
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ]
    .map(twoDigits)
    .join('')
  return year < 2050
    ? encodeElement(0x17, Buffer.from(`${twoDigits(year % 100)}${rest}Z`, 'ascii'))
    : encodeElement(0x18, Buffer.from(`${year}${rest}Z`, 'ascii'))
}

/** `[number] EXPLICIT`: a constructed context-specific wrapper around one element. */
export function encodeExplicit(number: number, inner: Buffer): Buffer {
  return encodeElement(0xa0 | number, inner)
}

/** Reads the element that starts at `offset` (definite lengths only, as DER has). */
export function readElement(buffer: Buffer, offset = 0): DerElement {
  const tag = buffer[offset]
  const first = buffer[offset + 1]
  if (tag === undefined || first === undefined || (tag & 0x1f) === 0x1f) {
    throw new RangeError('truncated or unsupported DER element')
  }
  let length = first
  let header = 2
  if (first & 0x80) {
    const count = first & 0x7f
    if (count === 0 || count > 4) throw new RangeError('unsupported DER length')
    length = 0
    for (let index = 0; index < count; index++) {
      const octet = buffer[offset + 2 + index]
      if (octet === undefined) throw new RangeError('truncated DER length')
      length = length * 256 + octet
    }
    header += count
  }
  const end = offset + header + length
  if (end > buffer.length) throw new RangeError('truncated DER element')
  return {
    tag,
    bytes: buffer.subarray(offset, end),
    contents: buffer.subarray(offset + header, end),
  }
}

/** The elements inside a constructed element, in order. */
export function readChildren(element: DerElement): DerElement[] {
  const children: DerElement[] = []
  for (let offset = 0; offset < element.contents.length; ) {
    const child = readElement(element.contents, offset)
    children.push(child)
    offset += child.bytes.length
  }
  return children
}
