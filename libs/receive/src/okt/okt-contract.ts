/**
 * NHN's OKT prototype model (v0.3.0), accepted as is at POST /okt-events. Fields follow
 * the HL7 Norway OKT IG logical model; `decisionId` per message is our optional extension.
 */
import { Type, type Static } from '@sinclair/typebox';

const emptyOrDate = Type.Union([Type.Literal(''), Type.String({ format: 'date' })]);

export const OktMessageSchema = Type.Object(
  {
    startDate: Type.String({ format: 'date', description: 'Startdato for levering av tjenesten' }),
    endDate: Type.Optional(emptyOrDate),
    iplosCode: Type.Object(
      {
        iplosCodeValue: Type.String({ pattern: '^[0-9]{1,3}$', description: 'Volven 9151 code, "01" or "1"' }),
        iplosCodeLevel: Type.Optional(Type.String({ maxLength: 10 })),
        iplosParentCode: Type.Optional(Type.String({ maxLength: 10 })),
        iplosCodeDescription: Type.Optional(Type.String({ maxLength: 200 })),
      },
      { additionalProperties: false, description: 'Required here: the service type is what the overview shows' },
    ),
    needsCaption: Type.Optional(Type.Boolean()),
    serviceDescription: Type.Optional(Type.String({ maxLength: 2000 })),
    serviceLevel: Type.Optional(Type.String({ maxLength: 200, description: 'Organisational path of the performing unit' })),
    stayType: Type.Optional(Type.String({ maxLength: 50 })),
    temporaryCessation: Type.Optional(Type.Boolean({ description: 'Midlertidig opphør: the service is paused' })),
    weeklyExtent: Type.Optional(Type.String({ maxLength: 50, description: 'Free text: "5 timer", "15 minutter", "7.5"' })),
    decisionId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$', description: "Extension: the sender's decision id, when it has one" })),
  },
  { additionalProperties: false, title: 'OktMessage' },
);

export const OktEventSchema = Type.Object(
  {
    personIdentifier: Type.String({ pattern: '^[0-9]{11}$', description: 'Fødselsnummer, D-nummer or felles hjelpenummer' }),
    oktMessages: Type.Array(OktMessageSchema, { minItems: 1, maxItems: 200 }),
  },
  { additionalProperties: false, title: 'OktEvent', description: "A full snapshot of the person's current services from one sender" },
);
export type OktEvent = Static<typeof OktEventSchema>;

export const OktResultMessageSchema = Type.Object(
  {
    result: Type.Literal('accepted'),
    eventsAppended: Type.Integer(),
    events: Type.Array(Type.Object({ type: Type.String(), decisionId: Type.String(), eventId: Type.String(), outcome: Type.String() })),
    checkpoint: Type.Optional(Type.String()),
  },
  { title: 'OktResultMessage' },
);
export type OktResultMessage = Static<typeof OktResultMessageSchema>;
