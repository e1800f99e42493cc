/**
 * Synthetic municipal service-decision histories for testers: reproducible from a seed,
 * synthetic identities only (+65 SyntPop / +80 Test-Norge month offsets), and every event
 * valid under the receive service's rules.
 */
import type { DecisionEventV1 } from '#libs/contracts';
import { ALL_SERVICE_CODES, organisationNumberCheckDigit, PERSON_ID_SYSTEMS, syntheticFodselsnummer } from '#libs/domain';

export interface PopulationOptions {
  patients: number;
  seed: number;
  /** Histories end before this day (YYYY-MM-DD). */
  today: string;
  sourceSystems?: string[];
}

const { fnr: FNR, dnr: DNR } = PERSON_ID_SYSTEMS;
/** IPLOS: codes whose performing unit must (or must not) carry an organisation number. */
const ORGNR_REQUIRED = new Set(ALL_SERVICE_CODES.filter((c) => c.performerOrgnr === 'required').map((c) => c.code));
const ORGNR_FORBIDDEN = new Set(ALL_SERVICE_CODES.filter((c) => c.performerOrgnr === 'forbidden').map((c) => c.code));

/** mulberry32: a small, well-known seeded PRNG (deterministic across platforms). */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!,
    uuid: () => {
      const hex = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16));
      hex[12] = '4';
      hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
      const h = hex.join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };
}
type Rng = ReturnType<typeof prng>;

const DAY = 86_400_000;
const addDays = (date: string, days: number) => new Date(Date.parse(date) + days * DAY).toISOString().slice(0, 10);
const at = (date: string, rng: Rng) => `${date}T${String(rng.int(7, 15)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}:00Z`;

/** Performing units with synthetic organisation numbers that pass mod 11. */
function units(rng: Rng) {
  const names = [
    'Hjemmesykepleien sone nord',
    'Hjemmesykepleien sone sør',
    'Hjemmesykepleien sone vest',
    'Praktisk bistand øst',
    'Praktisk bistand vest',
    'Korttidsavdelingen Solbakken',
    'Langtidsavdelingen Solbakken',
    'Dagsenteret Furulund',
    'Trygghetsalarmsentralen',
    'Rehabiliteringsavdelingen',
  ];
  return names.map((name, i) => {
    for (;;) {
      const first8 = `9${String(rng.int(1_000_000, 9_999_999))}`;
      const check = organisationNumberCheckDigit(first8);
      if (check !== undefined) return { key: i, orgnr: `${first8}${check}`, name, phone: `+47 9${rng.int(10, 99)} ${rng.int(10, 99)} ${rng.int(100, 999)}` };
    }
  });
}

function pidFor(rng: Rng, used: Set<string>, today: string): { system: string; value: string } {
  const year = Number(today.slice(0, 4));
  for (;;) {
    const age = rng.chance(0.85) ? rng.int(65, 100) : rng.int(20, 64);
    const dNumber = rng.chance(0.05);
    const value = syntheticFodselsnummer({
      birthDate: { year: year - age, month: rng.int(1, 12), day: rng.int(1, 28) },
      offset: rng.chance(0.5) ? 65 : 80,
      individual: rng.int(0, 999),
      dNumber,
      rule: rng.chance(0.05) ? '2032' : 'legacy',
    });
    if (value && !used.has(value)) {
      used.add(value);
      return { system: dNumber ? DNR : FNR, value };
    }
  }
}

/** Which services one patient has: home dwellers get home services, a minority live in an institution. */
function servicesFor(rng: Rng): string[] {
  if (rng.chance(0.12)) return rng.chance(0.3) ? ['21', '6'] : ['21'];
  const codes = new Set<string>();
  if (rng.chance(0.7)) codes.add('15');
  if (rng.chance(0.45)) codes.add('6');
  if (rng.chance(0.35)) codes.add(rng.pick(['1', '1', '2', '3']));
  if (rng.chance(0.15)) codes.add(rng.pick(['18', '19', '20']));
  if (rng.chance(0.08)) codes.add(rng.pick(['4', '5', '9', '26', '27', '28', '29']));
  if (codes.size === 0) codes.add('15');
  return [...codes];
}

export function* generateDecisionEvents(options: PopulationOptions): Generator<DecisionEventV1> {
  const rng = prng(options.seed);
  const sources = options.sourceSystems ?? ['epj-gerica', 'epj-profil'];
  const performers = units(rng);
  const used = new Set<string>();
  let decisions = 0;
  for (let p = 0; p < options.patients; p++) {
    const patient = pidFor(rng, used, options.today);
    const sourceSystem = rng.pick(sources);
    for (const code of servicesFor(rng)) {
      decisions += 1;
      const decisionId = `${sourceSystem === 'epj-gerica' ? 'GER' : 'PRO'}-${String(decisions).padStart(6, '0')}`;
      const shortStay = ['18', '19', '20'].includes(code);
      let day = addDays(options.today, -rng.int(shortStay ? 20 : 60, 900));
      const start = day;
      const end = shortStay ? addDays(start, rng.int(7, 21)) : undefined;
      const unit = rng.pick(performers.filter((u) => (code === '21' || shortStay ? u.name.includes('avdelingen') : !u.name.includes('avdelingen'))));
      const performer = ORGNR_FORBIDDEN.has(code)
        ? { name: unit.name, phone: unit.phone }
        : ORGNR_REQUIRED.has(code) || rng.chance(0.5)
          ? { orgnr: unit.orgnr, name: unit.name, phone: unit.phone }
          : { name: unit.name, phone: unit.phone };
      const hours = ['15', '1', '2', '3'].includes(code) ? rng.int(1, 20) + (rng.chance(0.3) ? 0.5 : 0) : undefined;
      const envelope = () => ({ decisionId, sourceSystem, patient, occurredAt: at(day, rng) });
      yield {
        type: 'ServiceDecisionGranted',
        eventId: rng.uuid(),
        ...envelope(),
        service: { code: rng.chance(0.2) ? code.padStart(2, '0') : code },
        period: end ? { start, end } : { start },
        ...(hours !== undefined ? { extent: rng.chance(0.2) ? { value: hours * 4, unit: 'hours-per-month' } : { value: hours, unit: 'hours-per-week' } } : {}),
        ...(shortStay ? { stayType: 'korttidsopphold' } : code === '21' ? { stayType: 'langtidsopphold' } : {}),
        performer,
      } as DecisionEventV1;
      const horizon = end ?? addDays(options.today, -1);
      const later = (max: number) => {
        const next = addDays(day, rng.int(1, max));
        if (next > horizon) return false;
        day = next;
        return true;
      };
      if (rng.chance(0.01)) {
        if (later(10)) yield { type: 'DecisionEnteredInError', eventId: rng.uuid(), ...envelope(), reason: 'Registrert på feil pasient' } as DecisionEventV1;
        continue;
      }
      if (hours !== undefined && rng.chance(0.3) && later(120)) {
        yield { type: 'ServiceDecisionChanged', eventId: rng.uuid(), ...envelope(), extent: { value: Math.min(168, hours + rng.int(1, 6)), unit: 'hours-per-week' } } as DecisionEventV1;
      }
      if (!shortStay && code !== '21' && rng.chance(0.25) && later(120)) {
        const pausedFrom = day;
        yield { type: 'ServicePaused', eventId: rng.uuid(), ...envelope(), pausedFrom, reason: 'Innlagt på sykehus' } as DecisionEventV1;
        if (rng.chance(0.85) && later(21)) yield { type: 'ServiceResumed', eventId: rng.uuid(), ...envelope(), resumedFrom: day } as DecisionEventV1;
      }
      if (!shortStay && rng.chance(0.2) && later(200)) {
        yield { type: 'ServiceEnded', eventId: rng.uuid(), ...envelope(), endDate: day, reason: rng.pick(['Behov opphørt', 'Flyttet', 'Overført til institusjon']) } as DecisionEventV1;
      }
    }
  }
}

export const generatePopulation = (options: PopulationOptions): DecisionEventV1[] => Array.from(generateDecisionEvents(options));
