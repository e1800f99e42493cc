/** Production: HelseID's JWKS (FPI_AUTH_JWKS_URL + FPI_AUTH_ISSUER); otherwise the dev issuer. */
export function authMode(env: { FPI_AUTH_JWKS_URL?: string }): 'helseid' | 'dev' {
  return env.FPI_AUTH_JWKS_URL ? 'helseid' : 'dev';
}
