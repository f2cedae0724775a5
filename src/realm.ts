import { DEFAULT_REALM } from './errors.js'
import type { AuthInfo } from './types.js'

// The realm of the validator that produced each AuthInfo, so a guard's 403 names the same realm.
const realms = new WeakMap<AuthInfo, string>()

/** Records the realm of the validator that produced `auth`. */
export function setRealm(auth: AuthInfo, realm: string): void {
  if (realm !== DEFAULT_REALM) realms.set(auth, realm)
}

/** The realm of the validator that produced `auth` (the default realm when unknown). */
export function realmOf(auth: AuthInfo): string {
  return realms.get(auth) ?? DEFAULT_REALM
}
