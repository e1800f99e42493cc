import { createParamDecorator, type ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import type { JWTPayload } from 'jose';
import { TENANT_REGISTRY, type TenantEnvironment, type TenantId, type TenantRegistry } from '#libs/tenancy';
import { ProblemError, problemType } from '#libs/contracts';
import { osloToday, validateOrganisationNumber } from '#libs/domain';
import { agreementDecision, type AgreementDecision } from './agreements/agreement.js';
import { AgreementRegister } from './agreements/agreement-register.js';
import { CLAIMS, PURPOSES_OF_USE, SCOPES, TRUST_FRAMEWORK_TYPE, type PurposeOfUse, type ScopeName, type TrustFrameworkAttestation } from './claims.js';
import { verifyDpopProof, DpopError, type DpopReplayCache } from './dpop.js';
import { DEV_ISSUER } from './dev-issuer.js';
import { publicRequestUrl } from './public-url.js';
import { KEYS_RETRY_AFTER_SECONDS, TokenKeysUnavailableError, TokenVerifier, verifyByIssuer } from './token-verifier.js';
import { citizenOf, CitizenTokenRefusal, type CitizenCaller } from './citizen/citizen.js';

/** Who is calling, from a verified access token: the tenant they act for and on what basis. */
export interface Caller {
  tenant: TenantId;
  tenantEnvironment: TenantEnvironment;
  /** The calling system (HelseID client id); the source system of what it posts unless the body names one. */
  clientId: string;
  clientName?: string;
  orgnrParent: string;
  orgnrChild?: string;
  hprNumber?: string;
  scopes: ScopeName[];
  purpose?: PurposeOfUse;
  purposeDetails?: { code: string; system?: string };
  tokenId?: string;
  /** When the attestation was made (the token's iat): it lives only as long as the token. */
  attestedAt?: string;
  scheme: 'DPoP' | 'Bearer';
  /**
   * Set when the caller is an organisation outside the municipality (a GP practice, a
   * hospital trust) naming the municipality in the `fpi-municipality` header: its legal
   * entity (the token's orgnr_parent) and what the agreement rule decided for this request.
   * CallerGuard serves it only when `decision.allowed`.
   */
  partner?: { orgnr: string; decision: AgreementDecision };
}

/**
 * The header in which an organisation reading under an agreement names the municipality it
 * asks (its 9-digit organisation number). A municipality's own units need not send it: their
 * token's orgnr_parent is the municipality.
 */
export const MUNICIPALITY_HEADER = 'fpi-municipality';

export interface IncomingRequest {
  method: string;
  url: string;
  protocol?: string;
  /** Host with port from the Host header (X-Forwarded-Host only from FPI_TRUSTED_PROXIES). */
  host?: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Resolves the caller of a request: the single seam where authentication happens. */
export interface CallerResolver {
  resolve(request: IncomingRequest): Promise<Caller>;
}

export const CALLER_RESOLVER = Symbol('CALLER_RESOLVER');

/**
 * The second trusted issuer, of citizens' tokens: ID-porten / helsenorge in production
 * (FPI_CITIZEN_AUTH_ISSUER, FPI_CITIZEN_AUTH_JWKS_URL), the dev issuer's citizen issuer in the
 * embedded default (`development`: synthetic people only). Undefined: no citizen is let in.
 */
export interface CitizenIssuer {
  issuer: string;
  verifier: TokenVerifier;
  development: boolean;
}
export const CITIZEN_ISSUER = Symbol('CITIZEN_ISSUER');
export const DPOP_REPLAY_CACHE = Symbol('DPOP_REPLAY_CACHE');

export interface AuthSettings {
  /** Bearer (no DPoP) is accepted only where this is true: the embedded default's dev tokens. */
  allowBearer: boolean;
  /** FPI_PUBLIC_BASE_URL, parsed: the DPoP `htu` is checked against it (unset: the request's Host). */
  publicBaseUrl?: string;
}
export const AUTH_SETTINGS = Symbol('AUTH_SETTINGS');

const unauthorized = (code: string, detail: string, error = 'invalid_token') =>
  new ProblemError({ type: problemType(code), title: 'Not authenticated', status: 401, detail }, { 'www-authenticate': `DPoP error="${error}", Bearer error="${error}"` });
const forbidden = (code: string, title: string, detail: string) => new ProblemError({ type: problemType(code), title, status: 403, detail });

/**
 * Verifies the access token (signature, issuer, audience, lifetime, iat), its DPoP proof, and
 * takes the tenant from the token's `orgnr_parent`. The one other way in is the
 * `fpi-municipality` header of an organisation with an agreement: the tenant is then the
 * municipality it names, and the caller carries the agreement rule's decision for the token's
 * organisation, purpose and today's Norwegian date (read from the register on every request).
 * The tenant must be registered, and a production one never takes a token of the
 * development issuer.
 */
@Injectable()
export class TokenCallerResolver implements CallerResolver {
  private readonly environments = new Map<string, { environment: TenantEnvironment; at: number }>();
  /** Per request (the rate limiter and the guard see the same object): its token checked once. */
  private readonly checked = new WeakMap<IncomingRequest, Promise<CheckedToken>>();
  /** Per verified token (its payload object, kept by the TokenVerifier's cache): the caller's claims. */
  private readonly claims = new WeakMap<JWTPayload, TokenClaims>();

  constructor(
    private readonly verifier: TokenVerifier,
    @Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry,
    @Inject(DPOP_REPLAY_CACHE) private readonly replay: DpopReplayCache,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
    private readonly agreements: AgreementRegister,
    @Optional() @Inject(CITIZEN_ISSUER) private readonly citizenIssuer?: CitizenIssuer,
  ) {}

  /**
   * The checks of a request's token that spend nothing: signature, issuer, audience, lifetime
   * and the DPoP proof (against the configured public URL), with the proof's jti and how long
   * it must be remembered. Done once per request: the rate limiter (`verifiedClient`) and the
   * route's guard (`resolve`) share the result. Rejects with a 401 problem for a missing or bad
   * token or proof, 503 when the issuer's keys are out of reach.
   */
  private checkedToken(request: IncomingRequest): Promise<CheckedToken> {
    let checked = this.checked.get(request);
    if (!checked) this.checked.set(request, (checked = this.checkToken(request)));
    return checked;
  }

  private async checkToken(request: IncomingRequest): Promise<CheckedToken> {
    const header = single(request.headers.authorization);
    if (!header) throw unauthorized('unauthenticated', 'send an access token: Authorization: DPoP <token> with a DPoP proof', 'invalid_request');
    const [scheme, token, ...rest] = header.trim().split(/\s+/);
    if (!token || rest.length > 0 || !/^(DPoP|Bearer)$/i.test(scheme ?? ''))
      throw unauthorized('unauthenticated', 'the Authorization header must be "DPoP <token>" or "Bearer <token>"', 'invalid_request');
    const dpop = scheme!.toLowerCase() === 'dpop';
    let payload: JWTPayload;
    let kind: CheckedToken['kind'];
    try {
      const verified = await verifyByIssuer(token, this.verifier, this.citizenIssuer);
      payload = verified.payload;
      kind = verified.bySecond ? 'citizen' : 'helseid';
    } catch (error) {
      if (error instanceof TokenKeysUnavailableError) {
        throw new ProblemError(
          {
            type: problemType('token-keys-unavailable'),
            title: 'Token keys unavailable',
            status: 503,
            detail: "the token issuer's keys (JWKS) cannot be fetched right now; this is our outage, not your token: retry later",
          },
          { 'retry-after': String(KEYS_RETRY_AFTER_SECONDS) },
        );
      }
      throw unauthorized('invalid-token', `the access token is not valid: ${(error as Error).message}`);
    }
    const jkt = (payload.cnf as { jkt?: string } | undefined)?.jkt;
    if (dpop) {
      // Every check of the proof but the replay check, which runs last in verifyDpopProof:
      // what it would remember is recorded here and spent by verifiedToken.
      let proof: CheckedToken['proof'];
      try {
        await verifyDpopProof({
          proof: single(request.headers.dpop),
          method: request.method,
          url: publicRequestUrl(request, this.settings.publicBaseUrl),
          accessToken: token,
          expectedJkt: jkt,
          replay: { remember: async (jti, expiresAt) => ((proof = { jti, expiresAt }), true) },
        });
      } catch (error) {
        if (error instanceof DpopError) throw dpopRefused(error);
        throw error;
      }
      return { payload, dpop, proof, kind };
    }
    if (jkt || !this.settings.allowBearer) {
      throw unauthorized('dpop-required', jkt ? 'this token is DPoP-bound: send it as "Authorization: DPoP" with a proof' : 'this platform requires DPoP (RFC 9449)', 'invalid_request');
    }
    return { payload, dpop, kind };
  }

  /** The checked token of a request, its DPoP proof's jti spent in the replay cache (401 when seen before). */
  private async verifiedToken(request: IncomingRequest): Promise<CheckedToken> {
    const checked = await this.checkedToken(request);
    if (checked.proof && !(await this.replay.remember(checked.proof.jti, checked.proof.expiresAt))) {
      throw dpopRefused(new DpopError('dpop-replay', 'DPoP proof jti has been used before'));
    }
    return checked;
  }

  /**
   * The rate-limit bucket of a request whose token (and DPoP proof) verify: issuer and
   * client_id. Undefined for anything else, which is then limited by its peer address. The
   * proof's jti is not consumed here (the resolver does that when the route runs).
   */
  async verifiedClient(request: IncomingRequest): Promise<string | undefined> {
    try {
      const { payload, kind } = await this.checkedToken(request);
      // The same client as Caller.clientId: client_id, else sub. A citizen is limited per person:
      // by the token's sub (ID-porten's pairwise pseudonym, never the pid), not by the app they use.
      const client =
        kind === 'citizen' && typeof payload.sub === 'string'
          ? `citizen ${payload.sub}`
          : typeof payload.client_id === 'string'
            ? payload.client_id
            : typeof payload.sub === 'string'
              ? payload.sub
              : undefined;
      return client === undefined ? undefined : `${payload.iss ?? ''} ${client}`;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether the request's caller, resolved by the same rules as every route (registered
   * organisation, no dev token for a production one), has the operator scope (health details).
   */
  async isOperator(request: IncomingRequest): Promise<boolean> {
    if (!request.headers.authorization) return false;
    try {
      const caller = await this.resolve(request);
      // An agreement lets a partner read patients' overviews, never see the platform's operations.
      return !caller.partner && caller.scopes.includes('operator');
    } catch {
      return false;
    }
  }

  /**
   * The citizen calling a citizen route (/api/v1/me/...): a token of the citizen issuer only
   * (401 `wrong-issuer` for a HelseID token or none configured), then `citizenOf`'s checks
   * (level of assurance, scope, pid, representation) as 401/403 problems.
   */
  async resolveCitizen(request: IncomingRequest): Promise<CitizenCaller> {
    const { payload, kind } = await this.verifiedToken(request);
    if (kind !== 'citizen' || !this.citizenIssuer) {
      // A valid token of another trusted issuer (HelseID): authenticated, but not as a citizen.
      throw forbidden(
        'not-a-citizen-token',
        'Forbidden',
        this.citizenIssuer
          ? `citizen routes take tokens of the citizen issuer (${this.citizenIssuer.issuer}), not of ${String(payload.iss)}`
          : 'this platform trusts no citizen issuer (FPI_CITIZEN_AUTH_ISSUER)',
      );
    }
    try {
      return citizenOf(payload, { development: this.citizenIssuer.development });
    } catch (error) {
      if (!(error instanceof CitizenTokenRefusal)) throw error;
      if (error.status === 403) throw forbidden(error.code, 'Forbidden', error.message);
      throw unauthorized(error.code, error.message, error.error);
    }
  }

  async resolve(request: IncomingRequest): Promise<Caller> {
    const { payload, dpop, kind } = await this.verifiedToken(request);
    // A citizen's token opens the citizen's routes only, never a municipality's API.
    if (kind === 'citizen') {
      throw forbidden('citizen-token-not-accepted', 'Forbidden', "this route is for health personnel's systems (HelseID tokens); a citizen reads their own services at /api/v1/me");
    }

    const orgnrParent = stringClaim(payload, CLAIMS.orgnrParent);
    if (!orgnrParent || !/^[0-9]{9}$/.test(orgnrParent)) throw forbidden('unknown-tenant', 'No tenant', 'the token carries no orgnr_parent (the municipality)');
    const named = municipalityHeader(request);
    const partner = named !== undefined && named !== orgnrParent;
    const tenant = (partner ? named : orgnrParent) as TenantId;
    const environment = await this.environment(tenant);
    if (!environment) {
      throw forbidden(
        'unknown-tenant',
        'Unknown tenant',
        partner
          ? `municipality ${tenant} (the ${MUNICIPALITY_HEADER} header) is not a tenant of this platform`
          : `organisation ${orgnrParent} is not a tenant of this platform; an organisation reading under an agreement with a municipality names it in the ${MUNICIPALITY_HEADER} header`,
      );
    }
    // Whatever minted it (the CLI, /dev-issuer/token, a copied key, a platform whose HelseID
    // settings name the dev issuer): a development token never reaches a production municipality.
    if (environment === 'production' && payload.iss === DEV_ISSUER) {
      throw forbidden('dev-token-for-production-tenant', 'Development token refused', `organisation ${tenant} is a production municipality: tokens of the development issuer are not accepted for it`);
    }

    const claims = this.claimsOf(payload);
    // No cache: an agreement ended a moment ago allows nothing from the next request on.
    const decision = partner ? agreementDecision(await this.agreements.ofPartner(tenant, orgnrParent), { tenant, partner: orgnrParent, purpose: claims.purpose, today: osloToday() }) : undefined;
    return {
      tenant,
      tenantEnvironment: environment,
      ...claims,
      orgnrParent,
      scheme: dpop ? 'DPoP' : 'Bearer',
      ...(decision ? { partner: { orgnr: orgnrParent, decision } } : {}),
    };
  }

  /**
   * What a verified token says about its caller, worked out once per token: the verifier
   * hands back the same payload object for the same token while it is cached, so this is
   * remembered with it (and forgotten with it). Only the token's own claims: the tenant, its
   * environment, the scheme and an agreement's decision are the request's, decided every time.
   */
  private claimsOf(payload: JWTPayload): TokenClaims {
    let claims = this.claims.get(payload);
    if (claims) return claims;
    const granted = String(payload.scope ?? '').split(' ');
    const attestation = (Array.isArray(payload.authorization_details) ? payload.authorization_details : []).find((d: TrustFrameworkAttestation) => d?.type === TRUST_FRAMEWORK_TYPE) as
      TrustFrameworkAttestation | undefined;
    const purposeCode = attestation?.care_relationship?.purpose_of_use?.code;
    const details = attestation?.care_relationship?.purpose_of_use_details;
    claims = Object.freeze({
      clientId: typeof payload.client_id === 'string' ? payload.client_id : String(payload.sub ?? 'unknown'),
      clientName: stringClaim(payload, CLAIMS.clientName),
      orgnrChild: stringClaim(payload, CLAIMS.orgnrChild),
      hprNumber: stringClaim(payload, CLAIMS.hprNumber),
      scopes: Object.freeze((Object.keys(SCOPES) as ScopeName[]).filter((s) => granted.includes(SCOPES[s]))) as ScopeName[],
      purpose: (PURPOSES_OF_USE as readonly string[]).includes(purposeCode ?? '') ? (purposeCode as PurposeOfUse) : undefined,
      purposeDetails: details?.code ? Object.freeze({ code: details.code, system: details.system }) : undefined,
      tokenId: payload.jti,
      attestedAt: payload.iat ? new Date(payload.iat * 1000).toISOString() : undefined,
    });
    this.claims.set(payload, claims);
    return claims;
  }

  private async environment(tenant: TenantId): Promise<TenantEnvironment | undefined> {
    const cached = this.environments.get(tenant);
    if (cached && Date.now() - cached.at < 10_000) return cached.environment;
    const found = await this.tenants.get(tenant);
    if (found) this.environments.set(tenant, { environment: found.environment, at: Date.now() });
    return found?.environment;
  }
}

/**
 * The municipality a request names in the fpi-municipality header: undefined when absent;
 * a 400 problem naming the header and the rule when it is not one valid organisation number.
 */
function municipalityHeader(request: IncomingRequest): string | undefined {
  const raw = request.headers[MUNICIPALITY_HEADER];
  if (raw === undefined) return undefined;
  const value = single(raw);
  const check = value === undefined ? ({ ok: false, rule: 'single-value', message: 'send the header once' } as const) : validateOrganisationNumber(value);
  if (!check.ok) {
    throw ProblemError.of(400, 'invalid-municipality', 'Invalid municipality', `the ${MUNICIPALITY_HEADER} header must be the municipality's organisation number`, [
      { pointer: `/${MUNICIPALITY_HEADER}`, rule: check.rule, detail: check.message },
    ]);
  }
  return value;
}

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v);
const stringClaim = (p: JWTPayload, name: string) => (typeof p[name] === 'string' ? (p[name] as string) : undefined);

/** The caller's fields that come from its token alone (`TokenCallerResolver.claimsOf`). */
type TokenClaims = Readonly<Pick<Caller, 'clientId' | 'clientName' | 'orgnrChild' | 'hprNumber' | 'scopes' | 'purpose' | 'purposeDetails' | 'tokenId' | 'attestedAt'>>;

/** A request's token after the checks that spend nothing; `proof`: the DPoP proof's jti to spend. */
interface CheckedToken {
  payload: JWTPayload;
  dpop: boolean;
  /** Which trusted issuer verified it: HelseID (or the dev issuer) or the citizen issuer. */
  kind: 'helseid' | 'citizen';
  proof?: { jti: string; expiresAt: Date };
}

const dpopRefused = (error: DpopError) => unauthorized('invalid-dpop-proof', `${error.rule}: ${error.message}`, 'invalid_dpop_proof');

/** Handler parameter: the resolved caller (set on the request by CallerGuard). */
export const CurrentCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): Caller => {
  const caller = ctx.switchToHttp().getRequest<{ caller?: Caller }>().caller;
  if (!caller) throw new Error('CallerGuard did not run for this route');
  return caller;
});
