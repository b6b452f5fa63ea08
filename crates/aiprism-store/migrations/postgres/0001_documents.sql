-- Users own documents. Until accounts exist, one local user owns everything.
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE documents (
    id                   TEXT PRIMARY KEY,
    owner_id             TEXT NOT NULL REFERENCES users (id),
    filename             TEXT NOT NULL,
    format               TEXT NOT NULL,
    size_bytes           BIGINT NOT NULL,
    sha256               TEXT NOT NULL,
    object_key           TEXT NOT NULL,
    framework            TEXT NOT NULL,
    document_type        TEXT,
    guidelines_filename  TEXT,
    guidelines_key       TEXT,
    guidelines_text      TEXT,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX documents_owner_created ON documents (owner_id, created_at DESC);

CREATE TABLE sections (
    id                 TEXT PRIMARY KEY,
    document_id        TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    idx                INTEGER NOT NULL,
    title              TEXT NOT NULL,
    level              INTEGER NOT NULL,
    body               TEXT NOT NULL,
    paragraph_start    INTEGER NOT NULL,
    paragraph_end      INTEGER NOT NULL,
    heading_paragraph  INTEGER,
    excluded_reason    TEXT,
    paragraphs         TEXT NOT NULL,
    UNIQUE (document_id, idx)
);
