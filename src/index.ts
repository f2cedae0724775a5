/**
 * The framework-free core: `createValidator`, the Entra ID profile `azureAd`, the guards,
 * the RFC 6750 errors and the token inspector.
 *
 * @module bearer-guard
 */

export {
  authContextClaims,
  hasClientCapability,
  requireAuthContext,
} from './auth-contexts.js'
export {
  type AcceptedSchemes,
  type AuthorizationInput,
  type Credentials,
  extractBearerToken,
  extractCredentials,
  parseAuthorization,
  parseCredentials,
  readAuthorization,
  type Scheme,
} from './authorization.js'
export {
  AZURE_CLOUDS,
  type AzureAdOptions,
  type AzureTokenVersion,
  azureAd,
  isGuid,
} from './azure.js'
export { certificateThumbprint, parseCertificateHeader } from './certificate-binding.js'
export {
  type ChallengeContext,
  type ChallengeData,
  type ChallengeParams,
  type ChallengeScheme,
  DEFAULT_CHALLENGE_CONTEXT,
  formatChallenge,
  renderChallenges,
} from './challenge.js'
export { requireClaims } from './claims.js'
export {
  type Accepted,
  type Decision,
  type ErrorAnswer,
  errorAnswer,
  type Rejected,
  whenDecided,
} from './decision.js'
export {
  KEY_FETCH_CHANNEL,
  type KeyFetchMessage,
  VALIDATION_CHANNEL,
  type ValidationMessage,
} from './diagnostics.js'
export { accessTokenHash, computeJwkThumbprint } from './dpop.js'
export type { NonceSource } from './dpop-nonce.js'
export {
  BearerGuardError,
  type BearerGuardErrorOptions,
  DEFAULT_REALM,
  encodeClaims,
  InsufficientClaimsError,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InvalidDpopProofError,
  InvalidRequestError,
  InvalidTokenError,
  KeysUnavailableError,
  type RejectionReason,
  ServiceUnavailableError,
  TokenExchangeError,
  UnauthorizedError,
  UseDpopNonceError,
} from './errors.js'
export type { BearerGuardEvent } from './events.js'
export { checkGuard, createGuards, type GuardFactories } from './guard.js'
export { normalizeHtu } from './htu.js'
export {
  type AuthenticationSummary,
  type CheckName,
  type CheckStatus,
  describeTime,
  type InspectionCheck,
  type InspectSettings,
  inspectToken,
  type RouteAnswer,
  type TokenInspection,
} from './inspect.js'
export {
  createMultiIssuerValidator,
  type IssuerOwnership,
  type MultiIssuerOptions,
  type MultiIssuerValidator,
  withIssuerOwnership,
} from './issuers.js'
export {
  type McpAuthInfo,
  type McpRejection,
  type McpSettings,
  mcpRejectionOf,
  mcpResourceOf,
  mcpSettingsOf,
  toMcpAuthInfo,
} from './mcp-auth.js'
export {
  type Algorithm,
  type ClaimsProblem,
  type DpopOptions,
  type IssuerOption,
  type JSONWebKeySet,
  type JWK,
  type ResolvedDpopOptions,
  type ResolvedOptions,
  SUPPORTED_ALGORITHMS,
  type TrustedProxyHeaders,
  type ValidatorOptions,
} from './options.js'
export {
  createMemoryReplayStore,
  type MemoryReplayStoreOptions,
  type ReplayStore,
} from './replay-store.js'
export {
  type FetchRequestLike,
  type NodeRequestLike,
  type RequestLike,
  readHeader,
} from './request.js'
export {
  answerResourceMetadata,
  createResourceMetadataResponder,
  type ProtectedResourceMetadata,
  RESOURCE_METADATA_PATH,
  type ResolvedResourceMetadata,
  type ResourceMetadataAnswer,
  type ResourceMetadataOptions,
  type ResourceMetadataResponder,
  resourceMetadataUrl,
} from './resource-metadata.js'
export { requireAnyRole, requireRoles, requireScopesOrRoles } from './roles.js'
export {
  type GuardArgs,
  type GuardOptions,
  parseScopes,
  requireAnyScope,
  requireScopes,
} from './scopes.js'
export { requireStepUp, type StepUpOptions } from './step-up.js'
export type { AuthInfo, Guard, TokenBinding, TokenClaims, TokenHeader } from './types.js'
export {
  type AuthenticateOptions,
  createValidator,
  isValidator,
  toValidator,
  type Validator,
} from './validator.js'
