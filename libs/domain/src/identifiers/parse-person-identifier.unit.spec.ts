import fc from 'fast-check';
import { fodselsnummerCheckDigits, parsePersonIdentifier, personIdForAuditLog, PERSON_ID_SYSTEMS, syntheticFodselsnummer } from './person-identifier.js';

// Synthetic identities only (month + 65 / + 80), and FH-numbers built from made-up prefixes.
const FNR_PID = '13717404089';
const DNR_PID = syntheticFodselsnummer({ birthDate: { year: 1999, month: 12, day: 19 }, offset: 65, individual: 123, dNumber: true })!;
const FHN_PID = '812345678' + fodselsnummerCheckDigits('812345678')!;
const { fnr: FNR, dnr: DNR, fhn: FHN } = PERSON_ID_SYSTEMS;

describe('parsePersonIdentifier (the one parser of person ids)', () => {
  it.each([
    [FNR_PID, 'fnr', FNR],
    [DNR_PID, 'dnr', DNR],
    [FHN_PID, 'fhn', FHN],
  ])('given the canonical %s without a system, then it is that kind with its own system', (pid, kind, system) => {
    expect(parsePersonIdentifier(pid)).toEqual({ ok: true, id: expect.objectContaining({ value: pid, kind, system }) });
  });

  it.each([
    [FNR_PID, FNR],
    [DNR_PID, DNR],
    [FHN_PID, FHN],
  ])('given %s with the system of its kind, then it parses', (pid, system) => {
    expect(parsePersonIdentifier(pid, { system })).toMatchObject({ ok: true, id: { value: pid, system } });
  });

  it.each([
    ['a fødselsnummer under the D-number system', FNR_PID, DNR, 'fnr-expected', FNR],
    ['a D-number under the fødselsnummer system', DNR_PID, FNR, 'dnr-expected', DNR],
    ['an FH-number under the fødselsnummer system', FHN_PID, FNR, 'fhn-expected', FHN],
    ['an FH-number under the D-number system', FHN_PID, DNR, 'fhn-expected', FHN],
    ['a fødselsnummer under the FHN system', FNR_PID, FHN, 'fhn-first-digit', FNR],
  ])('given %s, then it is refused with the rule that names the mismatch (never relabelled)', (_, pid, system, rule, meant) => {
    const result = parsePersonIdentifier(pid, { system });
    expect(result).toMatchObject({ ok: false, rule, attemptedFor: { value: pid, system: meant } });
  });

  it('given an unknown system, then unknown-system', () => {
    expect(parsePersonIdentifier(FNR_PID, { system: 'urn:oid:2.16.578.1.12.4.1.4.99' })).toMatchObject({ ok: false, rule: 'unknown-system' });
  });

  it.each([
    ['a leading space', ` ${FNR_PID}`],
    ['a trailing space', `${FNR_PID} `],
    ['a tab', `\t${FNR_PID}`],
    ['a line break', `${FNR_PID}\n`],
    ['a no-break space', `\u00a0${FNR_PID}`],
    ['an ideographic space', `\u3000${FNR_PID}`],
    ['a zero-width space', `\u200b${FNR_PID}`],
    ['a byte-order mark', `\ufeff${FNR_PID}`],
    ['a percent-encoded space', `%20${FNR_PID}`],
    ['a double percent-encoded space', `%2520${FNR_PID}`],
    ['percent-encoded digits', `%31%33717404089`],
  ])('given the pid with %s, then not-canonical, with the patient meant for the patient audit log', (_, input) => {
    const result = parsePersonIdentifier(input);
    expect(result).toMatchObject({ ok: false, rule: 'not-canonical', attemptedFor: { value: FNR_PID } });
    if (!result.ok) expect(result.message).not.toContain(FNR_PID);
    expect(personIdForAuditLog(input)).toBe(FNR_PID);
  });

  it.each([
    ['undefined', undefined],
    ['a number', 13717404089],
    ['an array', [FNR_PID]],
    ['empty text', ''],
    ['only spaces', '   '],
  ])('given %s, then required', (_, input) => {
    expect(parsePersonIdentifier(input)).toMatchObject({ ok: false, rule: 'required' });
    expect(personIdForAuditLog(input)).toBeUndefined();
  });

  it.each([
    ['ten digits', FNR_PID.slice(1)],
    ['twelve digits', `${FNR_PID}0`],
    ['a space inside', `137174 04089`],
    ['full-width digits', '１３７１７４０４０８９'],
    ['a system|value pair', `${FNR}|${FNR_PID}`],
    ['a broken percent escape', `%E0%A4%A${FNR_PID}`],
  ])('given %s, then format, naming nobody', (_, input) => {
    expect(parsePersonIdentifier(input)).toMatchObject({ ok: false, rule: 'format' });
    expect(personIdForAuditLog(input)).toBeUndefined();
  });

  it('given wrong check digits, then check-digits and nobody is named', () => {
    expect(parsePersonIdentifier('13717404088')).toMatchObject({ ok: false, rule: 'check-digits' });
    expect(personIdForAuditLog(' 13717404088')).toBeUndefined();
  });

  it('property: any padding around a valid pid is refused as not-canonical and still names that pid', () => {
    const pad = fc.array(fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2009', '\u3000', '\u200b', '\ufeff', '%20', '%09'), { maxLength: 4 });
    fc.assert(
      fc.property(pad, pad, fc.constantFrom(FNR_PID, DNR_PID, FHN_PID), (before, after, pid) => {
        const input = before.join('') + pid + after.join('');
        const result = parsePersonIdentifier(input);
        if (input === pid) return result.ok && result.id.value === pid;
        return !result.ok && result.rule === 'not-canonical' && result.attemptedFor?.value === pid;
      }),
    );
  });
});
