import { Controller, Get, Header, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiCallerProblems, ApiProblem, ApiUnavailable, refuseUnknownParameters } from '#libs/contracts';
import { RESTRICTION_SCOPES } from '#libs/domain';
import { CitizenGuard, CurrentCitizen, type CitizenCaller } from '#libs/security';
import { CitizenOverviewReader, type CitizenAccessLog, type CitizenServiceOverview } from './citizen-overview.js';

const text = { type: 'string' };
const ON_BEHALF_OF = {
  type: 'object',
  nullable: true,
  required: ['basis', 'text'],
  properties: { basis: { type: 'string', enum: ['parental-responsibility', 'power-of-attorney', 'lack-of-competence'] }, text },
};
const DATA_CONTROLLER = { type: 'object', required: ['orgnr', 'name'], properties: { orgnr: text, name: text } };
const OVERVIEW_SCHEMA = {
  type: 'object',
  required: ['onBehalfOf', 'municipalities', 'generatedAt'],
  properties: {
    onBehalfOf: ON_BEHALF_OF,
    generatedAt: { type: 'string', format: 'date-time' },
    municipalities: {
      type: 'array',
      items: {
        type: 'object',
        required: ['dataController', 'restriction', 'services'],
        properties: {
          dataController: DATA_CONTROLLER,
          restriction: { type: 'object', nullable: true, properties: { scope: { type: 'string', enum: [...RESTRICTION_SCOPES] }, text, since: { type: 'string', format: 'date-time' } } },
          services: {
            type: 'array',
            items: {
              type: 'object',
              required: ['service', 'status', 'statusText', 'period', 'contact'],
              properties: {
                service: { type: 'object', properties: { code: text, display: text } },
                status: { type: 'string', enum: ['planned', 'active', 'paused', 'ended', 'cancelled'] },
                statusText: text,
                period: { type: 'object', properties: { start: { type: 'string', format: 'date' }, end: { type: 'string', format: 'date' } } },
                weeklyHours: { type: 'number' },
                contact: { type: 'object', nullable: true, properties: { name: text, orgnr: text, phone: text } },
                description: text,
              },
            },
          },
        },
      },
    },
  },
};
const ACCESS_LOG_SCHEMA = {
  type: 'object',
  required: ['onBehalfOf', 'entries'],
  properties: {
    onBehalfOf: ON_BEHALF_OF,
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'dataController', 'organisation', 'role', 'purposeText', 'breakTheGlass', 'outcome'],
        properties: {
          at: { type: 'string', format: 'date-time' },
          dataController: DATA_CONTROLLER,
          organisation: { type: 'object', nullable: true, properties: { name: text, orgnr: text } },
          role: text,
          purpose: { type: 'string', nullable: true },
          purposeText: text,
          breakTheGlass: { type: 'boolean' },
          restrictionOverridden: { type: 'boolean' },
          outcome: { type: 'string', enum: ['success', 'denied', 'error'] },
          outcomeText: text,
        },
      },
    },
  },
};

/** Unknown query parameters are refused (these operations take none: no person id in the request). */
const noParameters = (query: Record<string, unknown>): void => refuseUnknownParameters(query, [], 'this operation takes no parameters: the person is the token’s');

/**
 * The citizen API (innbyggertjenester): the caller's own services and who looked at them. A
 * token of the citizen issuer (ID-porten / helsenorge, acr high, scope `nhn:fpi/citizen`);
 * no person id anywhere in the request, so nobody can ask for someone else's.
 */
@ApiTags('citizen (innbygger)')
@Controller('api/v1/me')
@UseGuards(CitizenGuard)
@ApiCallerProblems()
@ApiUnavailable()
export class CitizenController {
  constructor(private readonly citizens: CitizenOverviewReader) {}

  @Get('service-overview')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'My municipal services (or those of the person I represent), in every municipality that holds data about me, in plain words' })
  @ApiResponse({ status: 200, description: 'Per municipality (the data controller): its services and my restriction, if any', schema: OVERVIEW_SCHEMA })
  @ApiProblem(400, 'A query parameter (this operation takes none)')
  serviceOverview(@CurrentCitizen() citizen: CitizenCaller, @Query() query: Record<string, unknown>): Promise<CitizenServiceOverview> {
    noParameters(query);
    return this.citizens.overview(citizen);
  }

  @Get('access-log')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Who looked at my services (or those of the person I represent): when, which organisation, role and purpose; emergency access flagged' })
  @ApiResponse({ status: 200, description: 'Newest first, across municipalities', schema: ACCESS_LOG_SCHEMA })
  @ApiProblem(400, 'A query parameter (this operation takes none)')
  accessLog(@CurrentCitizen() citizen: CitizenCaller, @Query() query: Record<string, unknown>): Promise<CitizenAccessLog> {
    noParameters(query);
    return this.citizens.accessLog(citizen);
  }
}
