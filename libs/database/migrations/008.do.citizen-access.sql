-- The patient's side (issue 20): citizens read their own overview and access log, possibly
-- acting for another person (representation), and a patient may restrict sharing.
--
-- access_log records a citizen's reads too: reader_kind 'citizen', the reading citizen's person
-- id (the representative's, when they act for the patient: who read on whose behalf) and the
-- basis of the representation. A citizen has no organisation: orgnr_parent is null for them.
-- restriction_overridden flags a break-the-glass read that opened a patient's restriction.
ALTER TABLE access_log ALTER COLUMN orgnr_parent DROP NOT NULL;
ALTER TABLE access_log
  ADD COLUMN reader_kind            text    NOT NULL DEFAULT 'system' CHECK (reader_kind IN ('system', 'citizen')),
  ADD COLUMN reader_pid             text,
  ADD COLUMN representation_basis   text,
  ADD COLUMN restriction_overridden boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT access_log_reader CHECK ((reader_kind = 'citizen') = (reader_pid IS NOT NULL) AND (reader_kind = 'citizen' OR orgnr_parent IS NOT NULL));
