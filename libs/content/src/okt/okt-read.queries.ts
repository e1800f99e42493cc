import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ProblemError } from '#libs/contracts';
import type { ServiceOverviewEntry } from '#libs/domain';
import type { Caller } from '#libs/security';
import { ServiceOverviewReader } from '../overview/service-overview.reader.js';

/** NHN OKT prototype's read shape of one service. */
export interface OktMessage {
  startDate: string;
  endDate: string;
  iplosCode: { iplosCodeValue: string; iplosCodeLevel: string; iplosParentCode: string; iplosCodeDescription: string };
  needsCaption: boolean;
  serviceDescription: string;
  serviceLevel: string;
  stayType: string;
  temporaryCessation: boolean;
  weeklyExtent: string;
}

function toOktMessage(s: ServiceOverviewEntry): OktMessage {
  return {
    startDate: s.period.start,
    endDate: s.period.end ?? '',
    iplosCode: { iplosCodeValue: s.service.code.padStart(2, '0'), iplosCodeLevel: '1', iplosParentCode: '0', iplosCodeDescription: s.service.display },
    needsCaption: false,
    serviceDescription: s.description ?? s.service.display,
    serviceLevel: s.performer?.name ?? '',
    stayType: s.stayType ?? '',
    temporaryCessation: s.status === 'paused',
    weeklyExtent: s.weeklyHours !== undefined ? `${String(s.weeklyHours).replace('.', ',')} timer` : '',
  };
}

/** The person's current services as an OktEvent; `pid` as sent in the path. 404 when none. */
export class OktEventsQuery extends Query<{ personIdentifier: string; oktMessages: OktMessage[] }> {
  constructor(
    readonly caller: Caller,
    readonly pid: string,
  ) {
    super();
  }
}

/** Number of the person's active (not paused) services; 0 when unknown. */
export class OktStatusQuery extends Query<{ activeServices: number }> {
  constructor(
    readonly caller: Caller,
    readonly pid: string,
  ) {
    super();
  }
}

@QueryHandler(OktEventsQuery)
export class OktEventsHandler implements IQueryHandler<OktEventsQuery> {
  constructor(private readonly reader: ServiceOverviewReader) {}

  async execute({ caller, pid }: OktEventsQuery) {
    const personId = (await this.reader.personIdOf(caller, { value: pid, pointer: '/pid' }, 'okt-events.read')).value;
    const overview = await this.reader.readLogged(caller, { personId }, 'okt-events.read');
    if (overview.services.length === 0) throw ProblemError.of(404, 'not-found', 'No services known for this person');
    return { personIdentifier: personId, oktMessages: overview.services.map(toOktMessage) };
  }
}

@QueryHandler(OktStatusQuery)
export class OktStatusHandler implements IQueryHandler<OktStatusQuery> {
  constructor(private readonly reader: ServiceOverviewReader) {}

  async execute({ caller, pid }: OktStatusQuery) {
    const personId = (await this.reader.personIdOf(caller, { value: pid, pointer: '/pid' }, 'okt-status.read')).value;
    const active = (o: { services: { status: string }[] }) => o.services.filter((s) => s.status === 'active').length;
    const overview = await this.reader.readLogged(caller, { personId }, 'okt-status.read', (o) => ({ count: active(o) }));
    return { activeServices: active(overview) };
  }
}
