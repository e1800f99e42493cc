/**
 * The citizen's side of the content services: their own services in every municipality that
 * holds data about them, and who looked (innsyn i logg, pasientjournalloven § 22, Normen
 * faktaark 15), in plain words. A citizen acting for another person (representation) reads
 * that person's; the patient audit log records who read on whose behalf.
 */
import { Inject, Injectable } from '@nestjs/common';
import { lookupServiceCode, type RestrictionScope, type RestrictionState, type ServiceStatus } from '#libs/domain';
import { PatientAuditLog, type CitizenCaller, type PatientAuditLogRecord } from '#libs/security';
import { TENANT_REGISTRY, type Tenant, type TenantRegistry } from '#libs/tenancy';
import { ServiceOverviewReader } from '../overview/service-overview.reader.js';
import { purposeText, REPRESENTATION_TEXT, RESTRICTION_TEXT, roleText, STATUS_TEXT } from './plain-words.js';

export interface CitizenService {
  service: { code: string; display: string };
  status: ServiceStatus;
  statusText: string;
  period: { start: string; end?: string };
  weeklyHours?: number;
  /** The performing unit and how to reach it. */
  contact: { name: string; orgnr?: string; phone?: string } | null;
  description?: string;
}

export interface CitizenMunicipality {
  /** The municipality responsible for the data (dataansvarlig). */
  dataController: { orgnr: string; name: string };
  restriction: { scope: RestrictionScope; text: string; since: string } | null;
  services: CitizenService[];
}

export interface CitizenServiceOverview {
  /** Set when the caller reads on behalf of another person. */
  onBehalfOf: { basis: string; text: string } | null;
  municipalities: CitizenMunicipality[];
  generatedAt: string;
}

export interface CitizenAccessLogEntry {
  at: string;
  dataController: { orgnr: string; name: string };
  /** Who looked: the organisation (name and orgnr), or null for a citizen's own read. */
  organisation: { name: string; orgnr: string } | null;
  role: string;
  purpose: string | null;
  purposeText: string;
  /** Emergency access (break the glass): highlighted for the patient. */
  breakTheGlass: boolean;
  /** The emergency access opened the patient's restriction. */
  restrictionOverridden: boolean;
  outcome: 'success' | 'denied' | 'error';
  outcomeText: string;
}

export interface CitizenAccessLog {
  onBehalfOf: { basis: string; text: string } | null;
  entries: CitizenAccessLogEntry[];
}

const OUTCOME_TEXT = { success: 'Så opplysningene', denied: 'Fikk ikke se opplysningene', error: 'Oppslaget feilet' } as const;

@Injectable()
export class CitizenOverviewReader {
  constructor(
    private readonly reader: ServiceOverviewReader,
    private readonly auditLog: PatientAuditLog,
    @Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry,
  ) {}

  /** The municipalities a citizen's token may look into: every one; a development token only test ones. */
  private async municipalities(citizen: CitizenCaller): Promise<Tenant[]> {
    const all = await this.tenants.list();
    return all.filter((t) => !citizen.development || t.environment === 'test');
  }

  /**
   * The caller's (or the represented person's) services in every municipality that holds any
   * or has a restriction of theirs in force: each named as the data controller, with its
   * restriction, statuses in plain words and the performing unit's contact. Every municipality
   * that answered with services records the read in its patient audit log (a citizen's read,
   * naming the representative when there is one).
   */
  async overview(citizen: CitizenCaller): Promise<CitizenServiceOverview> {
    const municipalities: CitizenMunicipality[] = [];
    for (const tenant of await this.municipalities(citizen)) {
      // The citizen's own restriction is shown, not applied: read with the overview (one statement on the primary).
      let restriction: RestrictionState = {};
      const overview = await this.reader.read(
        tenant.id,
        { personId: citizen.subject, includeEnded: true },
        {
          personId: citizen.subject,
          check: async (state) => void (restriction = state),
        },
      );
      if (overview.services.length === 0 && !restriction.active) continue;
      await this.auditLog.recordCitizen(tenant.id, citizen, {
        action: 'citizen.service-overview.read',
        outcome: 'success',
        returned: { decisionIds: overview.services.map((s) => `${s.sourceSystem}/${s.decisionId}`) },
      });
      municipalities.push({
        dataController: { orgnr: tenant.id, name: tenant.name },
        restriction: restriction.active ? { scope: restriction.active.scope, text: RESTRICTION_TEXT[restriction.active.scope], since: restriction.active.since } : null,
        services: overview.services.map((s) => ({
          service: { code: s.service.code, display: lookupServiceCode(s.service.code)?.display ?? s.service.display },
          status: s.status,
          statusText: STATUS_TEXT[s.status],
          period: s.period,
          ...(s.weeklyHours !== undefined ? { weeklyHours: s.weeklyHours } : {}),
          contact: s.performer ? { name: s.performer.name, ...(s.performer.orgnr ? { orgnr: s.performer.orgnr } : {}), ...(s.performer.phone ? { phone: s.performer.phone } : {}) } : null,
          ...(s.description ? { description: s.description } : {}),
        })),
      });
    }
    return { onBehalfOf: this.onBehalfOf(citizen), municipalities, generatedAt: new Date().toISOString() };
  }

  /**
   * Who looked at the caller's (or the represented person's) services, newest first, across
   * municipalities: when, which organisation (name and orgnr), role and purpose in plain
   * words, emergency reads flagged. Only the patient's own records, and of them nothing that
   * identifies another person (no HPR number, no representative's number). A representative's
   * read of the log is itself recorded.
   */
  async accessLog(citizen: CitizenCaller): Promise<CitizenAccessLog> {
    const entries: CitizenAccessLogEntry[] = [];
    for (const tenant of await this.municipalities(citizen)) {
      const records = await this.auditLog.forPatient(tenant.id, citizen.subject);
      if (records.length === 0) continue;
      if (citizen.representation) await this.auditLog.recordCitizen(tenant.id, citizen, { action: 'citizen.access-log.read', outcome: 'success', returned: { count: records.length } });
      for (const r of records) entries.push(this.entry(tenant, citizen, r));
    }
    entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    return { onBehalfOf: this.onBehalfOf(citizen), entries };
  }

  private entry(tenant: Tenant, citizen: CitizenCaller, r: PatientAuditLogRecord): CitizenAccessLogEntry {
    const dataController = { orgnr: tenant.id, name: tenant.name };
    const base = { at: r.at, dataController, outcome: r.outcome, outcomeText: OUTCOME_TEXT[r.outcome] };
    if (r.citizen) {
      const own = r.citizen.readerPid === citizen.subject;
      const role = own ? 'Du selv' : (REPRESENTATION_TEXT[r.citizen.representationBasis ?? ''] ?? 'Din representant');
      return {
        ...base,
        organisation: null,
        role,
        purpose: null,
        purposeText: own ? 'Du så på dine egne opplysninger' : 'Så på opplysningene på dine vegne',
        breakTheGlass: false,
        restrictionOverridden: false,
      };
    }
    const organisation = r.partner ? { name: r.partner.name ?? r.clientName ?? 'Ukjent virksomhet', orgnr: r.partner.orgnr } : { name: tenant.name, orgnr: r.orgnrChild ?? r.orgnrParent ?? tenant.id };
    return {
      ...base,
      organisation,
      role: roleText(r.purposeDetails, r.clientName),
      purpose: r.purposeOfUse,
      purposeText: purposeText(r.purposeOfUse),
      breakTheGlass: r.breakTheGlass,
      restrictionOverridden: r.restrictionOverridden,
    };
  }

  private onBehalfOf(citizen: CitizenCaller): CitizenServiceOverview['onBehalfOf'] {
    return citizen.representation ? { basis: citizen.representation.basis, text: REPRESENTATION_TEXT[citizen.representation.basis]! } : null;
  }
}
