import { Option, type Command } from 'commander';
import { osloToday } from '#libs/domain';
import { AGREEMENT_KINDS, AgreementRegister, PURPOSES_OF_USE, type Agreement, type AgreementKind, type PurposeOfUse } from '#libs/security';
import { type CliContext, orgnr } from '../context.js';
import { userInfo } from 'node:os';

const line = (a: Agreement) => [a.id, a.partnerOrgnr, a.kind, a.purposes.join(','), `${a.validFrom}..${a.validTo ?? ''}`, a.ended ? `ended ${a.ended.at}` : 'not ended', a.partnerName].join('\t');

/** The operator at the keyboard, unless --by names someone: who registered or ended an agreement. */
const operator = (by: string | undefined) => by ?? `${userInfo().username} (fpi CLI)`;

/** `fpi agreement add|list|end`: a municipality's agreement register (who outside it may read, and why). */
export function agreementCommands(program: Command, ctx: CliContext): void {
  const agreement = program.command('agreement').description("a municipality's agreements with GP practices (driftsavtale) and others (samarbeidsavtale)");

  agreement
    .command('add')
    .description("register an agreement: the partner may read the municipality's service overviews for the purposes listed, from --from to --to")
    .requiredOption('--tenant <orgnr>', 'the municipality', orgnr)
    .requiredOption('--partner <orgnr>', "the partner's legal entity (its tokens' orgnr_parent)", orgnr)
    .requiredOption('--name <name>', "the partner's name, shown in patients' audit logs")
    .addOption(new Option('--kind <kind>', 'kind of agreement').choices([...AGREEMENT_KINDS]).makeOptionMandatory())
    .addOption(new Option('--purpose <purpose...>', 'purposes of use it allows').choices([...PURPOSES_OF_USE]).makeOptionMandatory())
    .option('--from <date>', 'first valid day, YYYY-MM-DD (default: today in Norway)')
    .option('--to <date>', 'last valid day, YYYY-MM-DD (default: until ended)')
    .requiredOption('--reason <text>', "why (e.g. the agreement's reference)")
    .option('--by <who>', 'who registers it (default: the operating-system user)')
    .option('--json', 'print JSON')
    .action(async (o: { tenant: string; partner: string; name: string; kind: AgreementKind; purpose: PurposeOfUse[]; from?: string; to?: string; reason: string; by?: string; json?: boolean }) => {
      const a = await ctx.withDatabase((db) =>
        new AgreementRegister(db.pool).add({
          tenant: o.tenant,
          partnerOrgnr: o.partner,
          partnerName: o.name,
          kind: o.kind,
          purposes: o.purpose,
          validFrom: o.from ?? osloToday(),
          validTo: o.to,
          registeredBy: operator(o.by),
          reason: o.reason,
        }),
      );
      console.log(o.json ? JSON.stringify(a) : line(a));
    });

  agreement
    .command('list')
    .description("the municipality's agreements (ended ones too); --history: every change, who and when")
    .requiredOption('--tenant <orgnr>', 'the municipality', orgnr)
    .option('--history', 'list the changes of the register instead')
    .option('--json', 'print JSON')
    .action(async (o: { tenant: string; history?: boolean; json?: boolean }) => {
      await ctx.withDatabase(async (db) => {
        const register = new AgreementRegister(db.pool);
        if (o.history) {
          const changes = await register.changes(o.tenant);
          console.log(o.json ? JSON.stringify(changes, null, 2) : changes.map((c) => [c.at, c.change, `#${c.agreementId}`, c.changedBy, c.reason].join('\t')).join('\n'));
          return;
        }
        const all = await register.list(o.tenant);
        console.log(o.json ? JSON.stringify(all, null, 2) : all.map(line).join('\n'));
      });
    });

  agreement
    .command('end <id>')
    .description('end an agreement now: from this instant the partner reads nothing under it')
    .requiredOption('--tenant <orgnr>', 'the municipality', orgnr)
    .requiredOption('--reason <text>', 'why it ends')
    .option('--by <who>', 'who ends it (default: the operating-system user)')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { tenant: string; reason: string; by?: string; json?: boolean }) => {
      const a = await ctx.withDatabase((db) => new AgreementRegister(db.pool).end(o.tenant, id, { endedBy: operator(o.by), reason: o.reason }));
      console.log(o.json ? JSON.stringify(a) : line(a));
    });
}
