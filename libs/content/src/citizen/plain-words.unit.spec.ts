import { PURPOSE_TEXT, purposeText, roleText, STATUS_TEXT } from './plain-words.js';

describe('plain words for citizens', () => {
  it('has a text for every service status and every purpose of use', () => {
    expect(Object.keys(STATUS_TEXT).sort()).toEqual(['active', 'cancelled', 'ended', 'paused', 'planned']);
    expect(Object.keys(PURPOSE_TEXT).sort()).toEqual(['BTG', 'COC', 'ETREAT', 'TREAT']);
  });
  it('names emergency access as such, and an unknown purpose as unknown (own keys only)', () => {
    expect(purposeText('BTG')).toMatch(/^Nødtilgang/);
    expect(purposeText('toString')).toBe('Ukjent formål');
    expect(purposeText(null)).toBe('Ukjent formål');
  });
  it('gives the role from the 9151 code of the user’s service, else the system’s name', () => {
    expect(roleText({ code: '15' }, 'EPJ')).toBe('Helsepersonell i tjenesten «Helsetjenester i hjemmet»');
    expect(roleText({ code: '99' }, 'Legevaktsystem')).toBe('Helsepersonell (Legevaktsystem)');
    expect(roleText(null, null)).toBe('Helsepersonell');
  });
});
