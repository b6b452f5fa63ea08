-- Frameworks uploaded by users (the built-in ones ship inside the binary). The TOML source is kept as
-- written, so a framework can be shown and downloaded exactly as it was uploaded.
CREATE TABLE frameworks (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users (id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
