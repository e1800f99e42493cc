-- Streams by patient: events that concern a patient carry data.patient.value. Used to find
-- a patient's decisions (OKT snapshot diffing, export of one patient's history).
CREATE INDEX events_patient ON events (tenant_id, (data #>> '{patient,value}'), stream_id)
  WHERE data ? 'patient';
