-- Review runs, the per-section work they fan out into, their findings, model calls and progress events.
CREATE TABLE reviews (
    id             TEXT PRIMARY KEY,
    document_id    TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    owner_id       TEXT NOT NULL REFERENCES users (id),
    framework      TEXT NOT NULL,
    status         TEXT NOT NULL,
    notice         TEXT,
    error          TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ
);
CREATE INDEX reviews_document ON reviews (document_id, created_at DESC);

-- One row per section a review covers: the unit of idempotency (a redelivered job finds its section
-- done and does nothing) and of progress (sections_done is counted from here, never kept as a counter).
CREATE TABLE review_sections (
    review_id      TEXT NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    section_id     TEXT NOT NULL REFERENCES sections (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    status         TEXT NOT NULL,
    model          TEXT,
    error          TEXT,
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    PRIMARY KEY (review_id, section_id)
);

CREATE TABLE findings (
    id                TEXT PRIMARY KEY,
    document_id       TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    review_id         TEXT REFERENCES reviews (id) ON DELETE SET NULL,
    section_id        TEXT NOT NULL REFERENCES sections (id) ON DELETE CASCADE,
    source            TEXT NOT NULL,
    rule_id           TEXT,
    model             TEXT,
    finding_type      TEXT NOT NULL,
    category          TEXT NOT NULL,
    description       TEXT NOT NULL,
    suggestion        TEXT NOT NULL,
    example           TEXT NOT NULL,
    questions         TEXT NOT NULL,
    checkpoints       TEXT NOT NULL,
    risk              TEXT NOT NULL,
    confidence        DOUBLE PRECISION NOT NULL,
    quote             TEXT NOT NULL,
    anchor_paragraph  INTEGER,
    anchor_start      INTEGER,
    anchor_end        INTEGER,
    replacement       TEXT,
    highlight_color   TEXT,
    parent_id         TEXT,
    status            TEXT NOT NULL,
    note              TEXT,
    edited            BOOLEAN NOT NULL,
    position          INTEGER NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    decided_at        TIMESTAMPTZ
);
CREATE INDEX findings_document ON findings (document_id, section_id, position);
CREATE INDEX findings_review_section ON findings (review_id, section_id);

-- Every model call, for cost accounting per review and per document.
CREATE TABLE model_calls (
    id             TEXT PRIMARY KEY,
    review_id      TEXT REFERENCES reviews (id) ON DELETE CASCADE,
    document_id    TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    section_id     TEXT,
    purpose        TEXT NOT NULL,
    endpoint       TEXT NOT NULL,
    model          TEXT NOT NULL,
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    cached_tokens  BIGINT NOT NULL,
    cost_usd       DOUBLE PRECISION NOT NULL,
    latency_ms     BIGINT NOT NULL,
    outcome        TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX model_calls_review ON model_calls (review_id);
CREATE INDEX model_calls_document ON model_calls (document_id);

-- Progress events, streamed over SSE; the id is the SSE event id a reconnecting browser resumes from.
CREATE TABLE review_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    review_id   TEXT NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX review_events_review ON review_events (review_id, id);
