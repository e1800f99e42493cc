import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { tenantId, type TenantEnvironment, type TenantRegistry } from '#libs/tenancy';
import { parsePersonIdentifier } from '#libs/domain';
import { CITIZEN_SCOPE, DEV_CITIZEN_ISSUER, REPRESENTATION_TYPE, type RepresentationBasis } from './citizen/citizen.js';
import { API_AUDIENCE, CLAIMS, PURPOSE_OF_USE_SYSTEM, SCOPES, TRUST_FRAMEWORK_TYPE, type PurposeOfUse, type ScopeName } from './claims.js';

/** Issuer of development tokens: never a production issuer. */
export const DEV_ISSUER = 'urn:fpi:dev-issuer';

/** Why a development token is not made: `unknown-tenant` (not registered), `production-tenant`, or `not-synthetic` (a citizen token for a real person). */
export class DevTokenRefusedError extends Error {
  constructor(
    readonly reason: 'unknown-tenant' | 'production-tenant' | 'not-synthetic',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The one rule for minting development tokens (CLI and `POST /dev-issuer/token`): only for a
 * registered municipality whose environment is `test`, never for a production one (a dev
 * token of a production municipality would open real patients' data to anyone holding the
 * dev key). Returns the refusal, or undefined when the token may be made.
 */
export function devTokenRefusal(orgnr: string, tenant: { environment: TenantEnvironment } | undefined): DevTokenRefusedError | undefined {
  if (!tenant) return new DevTokenRefusedError('unknown-tenant', `organisation ${orgnr} is not a registered municipality (npx fpi tenant add --orgnr ${orgnr} --name …)`);
  if (tenant.environment !== 'test') {
    return new DevTokenRefusedError('production-tenant', `${orgnr} is a production municipality: development tokens are never made for it (use its HelseID client)`);
  }
  return undefined;
}

export interface DevTokenOptions {
  /** The test municipality the token is for: its orgnr_parent, unless `org` names a partner. */
  tenant: string;
  /**
   * A partner's token (a GP practice, a hospital trust): its legal entity as orgnr_parent. It
   * reads `tenant`'s data only under an agreement, naming the municipality in fpi-municipality.
   */
  org?: string;
  scopes: ScopeName[];
  purpose?: PurposeOfUse;
  /** purpose_of_use_details, a 9151 code (the municipal service the user works in). */
  purposeDetails?: string;
  hpr?: string;
  orgChild?: string;
  clientId?: string;
  clientName?: string;
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  /** Binds the token to a DPoP key (`cnf.jkt`). */
  dpopJkt?: string;
  /** For tests: another issuer or audience, an expiry in the past, an `iat` other than now (seconds since the epoch). */
  issuer?: string;
  audience?: string;
  expiresAt?: number;
  issuedAt?: number;
}

export interface DevCitizenTokenOptions {
  /** The citizen (a synthetic person). */
  pid: string;
  /** Acting for another (synthetic) person, on this basis. */
  onBehalfOf?: { pid: string; basis: RepresentationBasis };
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  dpopJkt?: string;
  /** For tests: another acr, issuer, audience, scope, or a raw authorization_details. */
  acr?: string;
  issuer?: string;
  audience?: string;
  scope?: string;
  authorizationDetails?: unknown;
  clientId?: string;
}

/**
 * The one rule for minting development citizen tokens (CLI and `POST /dev-issuer/citizen-token`):
 * synthetic people only (+65/+80 month ranges), never a real person's number. Returns the
 * refusal, or undefined when the token may be made.
 */
export function devCitizenTokenRefusal(o: Pick<DevCitizenTokenOptions, 'pid' | 'onBehalfOf'>): string | undefined {
  for (const [name, value] of [
    ['pid', o.pid],
    ['on-behalf-of', o.onBehalfOf?.pid],
  ] as const) {
    if (value === undefined) continue;
    const parsed = parsePersonIdentifier(value);
    if (!parsed.ok) return `${name} is not a person identifier (${parsed.rule})`;
    if (!parsed.id.synthetic) return `${name} is not a synthetic person: development citizen tokens are for synthetic people only`;
  }
  if (o.onBehalfOf && o.onBehalfOf.pid === o.pid) return 'on-behalf-of is the citizen: one does not represent oneself';
  return undefined;
}

/**
 * The embedded default's token issuer: a key pair made on first start under the data
 * directory, whose public half the platform serves as a JWKS. `npx fpi token` signs with it.
 */
export class DevIssuer {
  private constructor(
    private readonly privateJwk: JWK,
    readonly publicJwk: JWK,
  ) {}

  static async open(dataDir: string): Promise<DevIssuer> {
    const dir = join(dataDir, 'dev-issuer');
    const file = join(dir, 'signing-key.json');
    if (existsSync(file)) {
      const { privateJwk, publicJwk } = JSON.parse(await readFile(file, 'utf8')) as { privateJwk: JWK; publicJwk: JWK };
      return new DevIssuer(privateJwk, publicJwk);
    }
    await mkdir(dir, { recursive: true });
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    // A second process may be creating it at the same moment: exclusive create, then re-read.
    await writeFile(file, JSON.stringify({ privateJwk, publicJwk }, null, 2), { mode: 0o600, flag: 'wx' }).catch(() => undefined);
    return DevIssuer.open(dataDir);
  }

  /**
   * A token for a test municipality only: looks the tenant up in `tenants` and throws
   * DevTokenRefusedError for an unknown or production one (see devTokenRefusal).
   */
  async issueForTenant(tenants: Pick<TenantRegistry, 'get'>, o: DevTokenOptions): Promise<string> {
    const tenant = /^[0-9]{9}$/.test(o.tenant) ? await tenants.get(tenantId(o.tenant)) : undefined;
    const refusal = devTokenRefusal(o.tenant, tenant);
    if (refusal) throw refusal;
    if (o.org !== undefined && o.org !== o.tenant) {
      // A partner's own number must not be a production municipality's: that token would be its way in.
      const own = /^[0-9]{9}$/.test(o.org) ? await tenants.get(tenantId(o.org)) : undefined;
      if (!/^[0-9]{9}$/.test(o.org)) throw new TypeError(`org must be a 9-digit organisation number, got ${JSON.stringify(o.org)}`);
      if (own && own.environment !== 'test') throw new DevTokenRefusedError('production-tenant', `${o.org} is a production municipality: development tokens are never made for it`);
    }
    return this.issue(o);
  }

  /**
   * A citizen token (issuer `urn:fpi:dev-issuer:citizen`, acr `idporten-loa-high`, scope
   * `nhn:fpi/citizen`) for a synthetic person, optionally acting for another one: throws
   * DevTokenRefusedError for anyone else (see devCitizenTokenRefusal).
   */
  async issueCitizenForTestPeople(o: DevCitizenTokenOptions): Promise<string> {
    const refusal = devCitizenTokenRefusal(o);
    if (refusal) throw new DevTokenRefusedError('not-synthetic', refusal);
    return this.issueCitizen(o);
  }

  /** Signs a citizen token with exactly the given claims (tests forge wrong ones with it). */
  async issueCitizen(o: DevCitizenTokenOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const key = await importJWK(this.privateJwk, 'ES256');
    const details = o.authorizationDetails ?? (o.onBehalfOf ? [{ type: REPRESENTATION_TYPE, represented: { pid: o.onBehalfOf.pid }, basis: o.onBehalfOf.basis }] : undefined);
    return (
      new SignJWT({
        client_id: o.clientId ?? 'dev-citizen-portal',
        scope: o.scope ?? CITIZEN_SCOPE,
        acr: o.acr ?? 'idporten-loa-high',
        pid: o.pid,
        ...(details !== undefined ? { authorization_details: details } : {}),
        ...(o.dpopJkt ? { cnf: { jkt: o.dpopJkt } } : {}),
      })
        .setProtectedHeader({ alg: 'ES256', kid: this.publicJwk.kid, typ: 'at+jwt' })
        .setIssuer(o.issuer ?? DEV_CITIZEN_ISSUER)
        // A pairwise pseudonym as ID-porten's sub: stable per person, not the number.
        .setSubject(createHash('sha256').update(`${this.publicJwk.kid}:${o.pid}`).digest('base64url'))
        .setAudience(o.audience ?? API_AUDIENCE)
        .setIssuedAt(now)
        .setJti(randomUUID())
        .setExpirationTime(now + (o.ttlSeconds ?? 3600))
        .sign(key)
    );
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /**
   * Signs a token with exactly the given claims, for any organisation: tests use it to forge
   * tokens the platform must refuse. Tools mint through issueForTenant. Throws a TypeError
   * for a scope that is not one of SCOPES (own keys only: `toString` is no scope).
   */
  async issue(o: DevTokenOptions): Promise<string> {
    const unknownScope = o.scopes.find((s) => !Object.hasOwn(SCOPES, s));
    if (unknownScope !== undefined) throw new TypeError(`unknown scope ${JSON.stringify(unknownScope)}; one of ${Object.keys(SCOPES).join(', ')}`);
    const now = Math.floor(Date.now() / 1000);
    const key = await importJWK(this.privateJwk, 'ES256');
    const legalEntity = o.org ?? o.tenant;
    const attestation = o.purpose
      ? [
          {
            type: TRUST_FRAMEWORK_TYPE,
            practitioner: {
              legal_entity: { id: legalEntity, system: 'urn:oid:2.16.578.1.12.4.1.4.101' },
              ...(o.orgChild ? { point_of_care: { id: o.orgChild, system: 'urn:oid:2.16.578.1.12.4.1.4.101' } } : {}),
            },
            care_relationship: {
              purpose_of_use: { code: o.purpose, system: PURPOSE_OF_USE_SYSTEM },
              ...(o.purposeDetails ? { purpose_of_use_details: { code: o.purposeDetails, system: 'urn:oid:2.16.578.1.12.4.1.1.9151' } } : {}),
            },
          },
        ]
      : undefined;
    return new SignJWT({
      client_id: o.clientId ?? 'dev-client',
      scope: o.scopes.map((s) => SCOPES[s]).join(' '),
      [CLAIMS.orgnrParent]: legalEntity,
      ...(o.orgChild ? { [CLAIMS.orgnrChild]: o.orgChild } : {}),
      [CLAIMS.clientName]: o.clientName ?? o.clientId ?? 'Development client',
      ...(o.hpr ? { [CLAIMS.hprNumber]: o.hpr } : {}),
      ...(attestation ? { authorization_details: attestation } : {}),
      ...(o.dpopJkt ? { cnf: { jkt: o.dpopJkt } } : {}),
    })
      .setProtectedHeader({ alg: 'ES256', kid: this.publicJwk.kid, typ: 'at+jwt' })
      .setIssuer(o.issuer ?? DEV_ISSUER)
      .setAudience(o.audience ?? API_AUDIENCE)
      .setIssuedAt(o.issuedAt ?? now)
      .setJti(randomUUID())
      .setExpirationTime(o.expiresAt ?? now + (o.ttlSeconds ?? 3600))
      .sign(key);
  }
}
