import { PERSON_ID_SYSTEMS, syntheticFodselsnummer } from '#libs/domain';

let counter = 0;
/**
 * A fresh synthetic fødselsnummer (+65 month, SyntPop range) per call, so tests never share
 * a patient. Never a real number: the month offset marks it synthetic.
 */
export function syntheticPid(options: { offset?: 65 | 80; dNumber?: boolean; rule?: 'legacy' | '2032' } = {}): string {
  for (;;) {
    counter += 1;
    const n = counter + (process.pid % 97) * 1000;
    const pid = syntheticFodselsnummer({
      birthDate: { year: 1930 + (n % 70), month: 1 + (n % 12), day: 1 + (n % 28) },
      offset: options.offset ?? 65,
      individual: Math.floor(n / 7) % 1000,
      dNumber: options.dNumber,
      rule: options.rule,
    });
    if (pid) return pid;
  }
}

export const { fnr: FNR, dnr: DNR } = PERSON_ID_SYSTEMS;
