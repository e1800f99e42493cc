/**
 * What the citizen API says in plain words (Norwegian bokmål, as helsenorge.no speaks to
 * citizens): service statuses, purposes of use, roles and restriction scopes. Pure.
 */
import { lookupServiceCode, type RestrictionScope, type ServiceStatus } from '#libs/domain';

export const STATUS_TEXT: Readonly<Record<ServiceStatus, string>> = Object.freeze({
  active: 'Du får denne tjenesten nå',
  paused: 'Tjenesten har pause',
  planned: 'Tjenesten er vedtatt og starter senere',
  ended: 'Tjenesten er avsluttet',
  cancelled: 'Tjenesten ble avlyst før den startet',
});

/** HL7 v3 PurposeOfUse as the trust framework uses them (ATT-38…41), in plain words. */
export const PURPOSE_TEXT: Readonly<Record<string, string>> = Object.freeze({
  TREAT: 'For å gi deg helsehjelp',
  ETREAT: 'For å gi deg akutt helsehjelp (for eksempel på legevakten)',
  COC: 'For å behandle en sak om kommunale tjenester til deg',
  BTG: 'Nødtilgang: helsepersonell åpnet opplysninger de ellers ikke har tilgang til',
});

export const REPRESENTATION_TEXT: Readonly<Record<string, string>> = Object.freeze({
  'parental-responsibility': 'Forelder med foreldreansvar',
  'power-of-attorney': 'Person med fullmakt fra deg',
  'lack-of-competence': 'Representant fordi du ikke kan samtykke selv',
});

export const RESTRICTION_TEXT: Readonly<Record<RestrictionScope, string>> = Object.freeze({
  all: 'Opplysningene deles ikke. Bare nødtilgang kan åpne dem, og da ser du det i loggen.',
  'all-but-emergency': 'Opplysningene deles bare ved akutt helsehjelp. Nødtilgang ser du i loggen.',
});

/** The purpose of a read in plain words ('Ukjent formål' for none or an unknown code). */
export const purposeText = (purpose: string | null | undefined): string => (purpose && Object.hasOwn(PURPOSE_TEXT, purpose) ? PURPOSE_TEXT[purpose]! : 'Ukjent formål');

/**
 * The reader's role in plain words: the municipal service the user works in (the trust
 * framework's purpose_of_use_details, a 9151 code), else the reading system's name, else
 * 'Helsepersonell'.
 */
export function roleText(purposeDetails: { code: string } | null | undefined, clientName: string | null | undefined): string {
  const service = purposeDetails?.code ? lookupServiceCode(purposeDetails.code) : undefined;
  if (service) return `Helsepersonell i tjenesten «${service.display}»`;
  return clientName ? `Helsepersonell (${clientName})` : 'Helsepersonell';
}
