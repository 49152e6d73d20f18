-- When the session's current visit started (its last visit-started); the collector learns from
-- it, in the same statement that updates the session, whether this payload reopened the visit.
ALTER TABLE cdp_sessions ADD COLUMN visit_started_at timestamptz;
