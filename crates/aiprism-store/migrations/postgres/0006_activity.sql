-- The audit trail: append-only, one row per thing a person (or the system) did to a document. Rows
-- outlive their document on purpose (a deletion is itself recorded), so there is no foreign key.
CREATE TABLE activity (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id  TEXT,
    owner_id     TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    actor_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    details      TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX activity_document ON activity (document_id, id);
CREATE INDEX activity_owner ON activity (owner_id, id);
