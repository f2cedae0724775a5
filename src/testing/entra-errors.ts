/**
 * Token endpoint errors in Entra ID's JSON shape: `error` (RFC 6749 §5.2), `error_description`
 * starting with `AADSTS<code>: `, `error_codes`, `timestamp`, `trace_id`, `correlation_id` and
 * `error_uri`, with the AADSTS codes Entra ID gives for the same mistakes
 * (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
 */
import { randomUUID } from 'node:crypto'

/** An error the emulator answers with, before it is given its trace and correlation ids. */
export class EntraError extends Error {
  override readonly name = 'EntraError'
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** The OAuth error code (`invalid_client`, `invalid_grant`...). */
    readonly error: string,
    /** The AADSTS number. */
    readonly code: number,
    /** The description after `AADSTS<code>: `. */
    readonly description: string,
    /** Entra ID's `suberror`, such as `consent_required`. */
    readonly suberror?: string,
    /** The claims request a client must come back with (JSON text), for `interaction_required`. */
    readonly claims?: string,
  ) {
    super(`AADSTS${code}: ${description}`)
  }
}

/** The JSON body of an Entra ID error response. */
export interface EntraErrorBody {
  error: string
  error_description: string
  error_codes: number[]
  timestamp: string
  trace_id: string
  correlation_id: string
  error_uri: string
  suberror?: string
  /** The claims request to satisfy (JSON text), with `interaction_required`. */
  claims?: string
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Entra ID's timestamp form: `2024-05-04 11:20:13Z`. */
function entraTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`
}

/**
 * The response body for an error; `correlationId` is the client's `client-request-id` when it
 * is a GUID (MSAL sends one), as Entra ID echoes it.
 */
export function formatEntraError(
  error: EntraError,
  instance: string,
  correlationId: unknown,
): EntraErrorBody {
  const timestamp = entraTimestamp(new Date())
  const traceId = randomUUID()
  const correlation =
    typeof correlationId === 'string' && GUID.test(correlationId) ? correlationId : randomUUID()
  return {
    error: error.error,
    error_description: `${error.message} Trace ID: ${traceId} Correlation ID: ${correlation} Timestamp: ${timestamp}`,
    error_codes: [error.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlation,
    error_uri: `${instance}/error?code=${error.code}`,
    ...(error.suberror === undefined ? {} : { suberror: error.suberror }),
    ...(error.claims === undefined ? {} : { claims: error.claims }),
  }
}

/** The AADSTS errors the emulator gives, by situation. */
export const entraErrors = {
  missingParameter: (name: string) =>
    new EntraError(
      400,
      'invalid_request',
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    ),
  postOnly: (method: string) =>
    new EntraError(
      405,
      'invalid_request',
      900561,
      `The endpoint only accepts POST requests. Received a ${method} request.`,
    ),
  bodyTooLarge: (limit: number) =>
    new EntraError(
      413,
      'invalid_request',
      90023,
      `The request body is larger than the ${limit} bytes this endpoint accepts.`,
    ),
  tenantNotFound: (tenant: string) =>
    new EntraError(
      400,
      'invalid_tenant',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    ),
  // Client credentials at /common or /organizations (AzureAD/microsoft-identity-web#462).
  tenantUnidentified: () =>
    new EntraError(
      400,
      'invalid_request',
      50059,
      'No tenant-identifying information found in either the request or implied by any provided credentials.',
    ),
  // Instance discovery for an authority on a host Entra ID does not serve
  // (AzureAD/microsoft-authentication-library-for-go#438).
  unknownInstance: () =>
    new EntraError(400, 'invalid_instance', 50049, 'Unknown or invalid instance.'),
  unsupportedGrantType: (grantType: string) =>
    new EntraError(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    ),
  clientNotFound: (clientId: string, tenant: string) =>
    new EntraError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  credentialMissing: () =>
    new EntraError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ),
  invalidSecret: (clientId: string) =>
    new EntraError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  invalidClientAssertion: (reason: string) =>
    new EntraError(
      401,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature. [Reason - ${reason}]`,
    ),
  clientAssertionTime: () =>
    new EntraError(
      401,
      'invalid_client',
      700024,
      'Client assertion is not within its valid time range.',
    ),
  resourceNotFound: (resource: string, tenant: string) =>
    new EntraError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    ),
  defaultScopeRequired: (scope: string) =>
    new EntraError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  multipleResources: (scope: string) =>
    new EntraError(
      400,
      'invalid_scope',
      28000,
      `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`,
    ),
  invalidScope: (scope: string) =>
    new EntraError(
      400,
      'invalid_scope',
      70011,
      `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
    ),
  notAssignedToRole: (client: string, clientName: string, resource: string, resourceName: string) =>
    new EntraError(
      400,
      'invalid_grant',
      501051,
      `Application '${client}'(${clientName}) is not assigned to a role for the application '${resource}'(${resourceName}).`,
    ),
  consentRequired: (clientId: string, clientName: string) =>
    new EntraError(
      400,
      'invalid_grant',
      65001,
      `The user or administrator has not consented to use the application with ID '${clientId}' named '${clientName}'. Send an interactive authorization request for this user and resource.`,
      'consent_required',
    ),
  redirectMismatch: (uri: string, clientId: string) =>
    new EntraError(
      400,
      'invalid_request',
      50011,
      `The redirect URI '${uri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'.`,
    ),
  unsupportedResponseType: (type: string) =>
    new EntraError(
      400,
      'unsupported_response_type',
      700054,
      `response_type '${type}' is not enabled for the application; the emulator issues codes only.`,
    ),
  userNotFound: (hint: string) =>
    new EntraError(
      400,
      'invalid_request',
      50034,
      `The user account ${hint} does not exist in the directory. (The emulator signs in the user named by login_hint.)`,
    ),
  invalidRequest: (reason: string) => new EntraError(400, 'invalid_request', 90014, reason),
  invalidCode: () =>
    new EntraError(
      400,
      'invalid_grant',
      70008,
      'The provided authorization code or refresh token has expired, was already redeemed or was issued to another client.',
    ),
  pkceMismatch: () =>
    new EntraError(
      400,
      'invalid_grant',
      501481,
      'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
    ),
  temporarilyUnavailable: () =>
    new EntraError(
      503,
      'temporarily_unavailable',
      90033,
      'A transient error has occurred. Please try again.',
    ),
  throttled: () =>
    new EntraError(
      429,
      'temporarily_unavailable',
      90055,
      'The request is throttled: too many requests. Retry after the time given in Retry-After.',
    ),
  // A Conditional Access policy (MFA, an authentication context) the user has not satisfied yet.
  mfaRequired: (resource: string, claims: string) =>
    new EntraError(
      400,
      'interaction_required',
      50076,
      `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${resource}'.`,
      'basic_action',
      claims,
    ),
  // The emulator's choice of code: Entra ID documents none for a claims parameter it cannot read.
  invalidClaims: () =>
    new EntraError(
      400,
      'invalid_request',
      90100,
      'The claims parameter is not a valid JSON claims request.',
    ),
  malformedAssertion: () =>
    new EntraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.'),
  invalidAssertion: (reason: string) =>
    new EntraError(
      400,
      'invalid_grant',
      50013,
      `Assertion failed signature validation. [Reason - ${reason}]`,
    ),
  assertionAudience: (audience: string, clientId: string) =>
    new EntraError(
      400,
      'invalid_grant',
      50013,
      `Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '${audience}' and the expected audience is '${clientId}' or one of the Application Id URIs of this web API registration.`,
    ),
  assertionExpired: (now: Date, expiry: Date) =>
    new EntraError(
      400,
      'invalid_grant',
      500133,
      `Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: ${now.toISOString()}, expiry time of assertion ${expiry.toISOString()}.`,
    ),
} as const
