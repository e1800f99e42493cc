/**
 * Schema-evolution drill (v1 → v2): the weekly extent as a structured quantity instead of a
 * bare number of hours. Registered on a store (`new PostgresEventStore(pool, { upcasters })`),
 * v1 events stored years ago are read as v2; nothing stored is rewritten.
 */
export interface WeeklyExtentQuantity {
  value: number;
  /** UCUM, as the OKT-on-FHIR WeeklyExtentRatio: hours per week. */
  unit: 'h/wk';
}

const extentAsQuantity = (data: Record<string, unknown>): Record<string, unknown> => {
  const { weeklyHours, ...rest } = data;
  return typeof weeklyHours === 'number' ? { ...rest, weeklyExtent: { value: weeklyHours, unit: 'h/wk' } satisfies WeeklyExtentQuantity } : rest;
};

export const WEEKLY_EXTENT_V2_UPCASTERS = [
  { type: 'ServiceDecisionGranted', fromVersion: 1, upcast: extentAsQuantity },
  { type: 'ServiceDecisionChanged', fromVersion: 1, upcast: extentAsQuantity },
];
