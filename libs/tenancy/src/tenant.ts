/**
 * A tenant is one municipality (kommune), identified by the organisation number of its
 * main entity: the `orgnr_parent` claim of HelseID. Every read and write names one.
 */
export type TenantId = string & { readonly __tenant: unique symbol };

const ORGNR = /^[0-9]{9}$/;

export function tenantId(value: string): TenantId {
  if (!ORGNR.test(value)) throw new InvalidTenantIdError(value);
  return value as TenantId;
}

export class InvalidTenantIdError extends Error {
  readonly code = 'invalid_tenant_id';
  constructor(readonly value: string) {
    super(`tenant id must be a 9-digit organisation number, got ${JSON.stringify(value)}`);
  }
}
