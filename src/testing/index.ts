/**
 * An in-process Entra ID emulator for tests and demos: `startEntraEmulator`, `mint` (Bearer,
 * DPoP-bound and certificate-bound tokens), DPoP proofs (`createDpopProof`), and an X.509
 * certificate builder.
 *
 * @module bearer-guard/testing
 */
export {
  type Certificate,
  type CertificateKeyPair,
  type CertificateKeyType,
  type CertificateOptions,
  createCertificate,
  type ExtendedKeyUsage,
} from './certificate.js'
export {
  createDpopProof,
  type DpopProofOptions,
  dpopThumbprint,
  publicJwkOf,
} from './dpop-proof.js'
export type {
  ApplicationPermissionGrant,
  AppReference,
  AppRegistration,
  AppRegistrationOptions,
  ConsentOptions,
  DelegatedPermissionGrant,
  EmulatedTenant,
  EmulatedUser,
  SignInAudience,
  TenantOptions,
  UserOptions,
} from './entra-directory.js'
export {
  type AzureIdentityOptions,
  type EmulatorRequestCounts,
  type EntraEmulator,
  type EntraEmulatorOptions,
  type JwksMode,
  type MintOptions,
  type MsalPythonOptions,
  startEntraEmulator,
  type TokenMode,
} from './entra-emulator.js'
export type { EntraErrorBody } from './entra-errors.js'
export {
  createEmulatorNetworkClient,
  type EmulatorNetworkClient,
  type EmulatorNetworkClientOptions,
  type NetworkRequestOptions,
  type NetworkResponse,
} from './network-client.js'
