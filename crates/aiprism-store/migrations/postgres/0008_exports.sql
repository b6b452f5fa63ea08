-- Exports a reviewer produced; files live in the object store, downloads go by export id.
CREATE TABLE exports (
    id                TEXT PRIMARY KEY,
    document_id       TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    owner_id          TEXT NOT NULL,
    kind              TEXT NOT NULL,
    destination       TEXT NOT NULL,
    status            TEXT NOT NULL,
    filename          TEXT NOT NULL,
    object_key        TEXT NOT NULL,
    media_type        TEXT NOT NULL,
    size_bytes        BIGINT NOT NULL,
    sha256            TEXT NOT NULL,
    location          TEXT,
    comments_written  INTEGER,
    include_pending   BOOLEAN NOT NULL,
    error             TEXT,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX exports_document ON exports (document_id, created_at DESC);
