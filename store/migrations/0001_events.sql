-- The log. `position` is the rowid: the writer assigns it gaplessly in commit order, so it is
-- both the global order and the cheapest possible key. Timestamps are microseconds since the
-- Unix epoch (UTC); ids are 16-byte big-endian UUIDs.
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    event_id        BLOB    NOT NULL,
    stream          TEXT    NOT NULL,
    revision        INTEGER NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    occurred_at     INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    actor_id        BLOB    NOT NULL,
    actor_role      TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    correlation_id  BLOB    NOT NULL,
    causation_id    BLOB,
    organisation_id BLOB    NOT NULL,
    property_id     BLOB,
    idempotency_key TEXT,
    payload         TEXT    NOT NULL
) STRICT;

-- Idempotent appends look events up by id.
CREATE UNIQUE INDEX events_by_id ON events (event_id);

-- Reading a stream, and the writer's "where is this stream now" (max(revision)).
CREATE UNIQUE INDEX events_by_stream ON events (stream, revision);

-- An organisation's slice of the global log, in order.
CREATE INDEX events_by_organisation ON events (organisation_id, position);
