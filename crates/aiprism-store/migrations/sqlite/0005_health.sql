-- The latest result of each periodic health probe (database, object store, queues, model endpoints),
-- written by the monitoring job and read by /ready and metrics.
CREATE TABLE health_checks (
    name        TEXT PRIMARY KEY,
    ok          INTEGER NOT NULL,
    detail      TEXT NOT NULL,
    latency_ms  BIGINT NOT NULL,
    checked_at  TEXT NOT NULL
);
