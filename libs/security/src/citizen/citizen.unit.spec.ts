import { syntheticFodselsnummer } from '#libs/domain';
import { citizenOf, CitizenTokenRefusal, parseRepresentation, REPRESENTATION_TYPE } from './citizen.js';

/** A synthetic fødselsnummer (+80 month, Test-Norge range) born on `day` of March 1980 (2015 for a child). */
function synthetic(year: number, day: number): string {
  for (let individual = 100; ; individual++) {
    const pid = syntheticFodselsnummer({ birthDate: { year, month: 3, day }, offset: 80, individual });
    if (pid) return pid;
  }
}
const PARENT = synthetic(1980, 14);
const CHILD = synthetic(2015, 2);

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(CitizenTokenRefusal);
    const r = error as CitizenTokenRefusal;
    return { status: r.status, code: r.code };
  }
  throw new Error('not refused');
};
const token = (claims: Record<string, unknown> = {}) => ({ iss: 'https://idporten.example', pid: PARENT, acr: 'idporten-loa-high', scope: 'openid nhn:fpi/citizen', ...claims });

describe('citizenOf: the citizen of a verified token', () => {
  it('takes the high level (idporten-loa-high, or the former Level4) with the citizen scope', () => {
    expect(citizenOf(token(), { development: false })).toMatchObject({ pid: PARENT, subject: PARENT, acr: 'idporten-loa-high' });
    expect(citizenOf(token({ acr: 'Level4' }), { development: false }).acr).toBe('Level4');
  });
  it.each(['idporten-loa-substantial', 'Level3', 'high', undefined, 4])('refuses acr %p with 401 (step-up)', (acr) =>
    expect(refusal(() => citizenOf(token({ acr }), { development: false }))).toEqual({ status: 401, code: 'insufficient-authentication-level' }),
  );
  it('refuses a token without the citizen scope (403)', () =>
    expect(refusal(() => citizenOf(token({ scope: 'openid' }), { development: false }))).toEqual({ status: 403, code: 'insufficient-scope' }));
  it('refuses a pid that is no person identifier (401)', () => expect(refusal(() => citizenOf(token({ pid: '123' }), { development: false }))).toEqual({ status: 401, code: 'invalid-token' }));
  it('makes the represented person the subject', () => {
    const c = citizenOf(token({ authorization_details: [{ type: REPRESENTATION_TYPE, represented: { pid: CHILD }, basis: 'parental-responsibility' }] }), { development: true });
    expect(c).toMatchObject({ pid: PARENT, subject: CHILD, representation: { basis: 'parental-responsibility' } });
  });
});

describe('parseRepresentation: strict', () => {
  const entry = (over: Record<string, unknown> = {}) => ({ type: REPRESENTATION_TYPE, represented: { pid: CHILD }, basis: 'power-of-attorney', ...over });
  it('is absent without authorization_details or without an entry of its type', () => {
    expect(parseRepresentation(undefined, PARENT)).toBeUndefined();
    expect(parseRepresentation([{ type: 'nhn:tillitsrammeverk:parameters' }], PARENT)).toBeUndefined();
  });
  it('reads one entry', () => expect(parseRepresentation([entry()], PARENT)).toEqual(entry()));
  it.each([
    ['not an array', entry()],
    ['an array of non-objects', ['x']],
    ['two entries', [entry(), entry()]],
    ['an unknown member', [entry({ scope: 'all' })]],
    ['an unknown basis', [entry({ basis: 'neighbour' })]],
    ['represented with more than pid', [entry({ represented: { pid: CHILD, name: 'x' } })]],
    ['represented not an object', [entry({ represented: CHILD })]],
    ['a padded pid', [entry({ represented: { pid: ` ${CHILD}` } })]],
    ['the caller themselves', [entry({ represented: { pid: PARENT } })]],
  ])('refuses %s (401 invalid-representation)', (_name, details) => expect(refusal(() => parseRepresentation(details, PARENT))).toEqual({ status: 401, code: 'invalid-representation' }));
});
