-- The conversation about a document, kept server-side so it survives reloads and is sent back to the
-- model as history.
CREATE TABLE chat_messages (
    id           TEXT PRIMARY KEY,
    document_id  TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    content      TEXT NOT NULL,
    section_id   TEXT,
    model        TEXT,
    citations    TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX chat_messages_document ON chat_messages (document_id, created_at, id);
