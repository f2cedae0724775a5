/**
 * Client registrations for panva's oidc-provider in interop tests: a confidential client of the
 * client-credentials grant, authenticating with client_secret_basic.
 */
import type { ClientMetadata } from 'oidc-provider'

/** A client-credentials client of oidc-provider; `extra` adds or overrides metadata (`scope`...). */
export function clientCredentialsClient(
  clientId: string,
  clientSecret: string,
  extra: Partial<ClientMetadata> = {},
): ClientMetadata {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    // oidc-provider's default signing algorithm for ID tokens is RS256; the tests' key is ES256.
    id_token_signed_response_alg: 'ES256',
    ...extra,
  }
}
