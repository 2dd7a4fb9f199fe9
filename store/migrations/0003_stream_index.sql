-- Streams are indexed beside the log, not by an index on it. With one index on
-- (stream, revision), every commit dirtied the last page of every stream it touched: at 256
-- busy streams, a page per event, written to the WAL and again by the checkpoint. The writer
-- now keeps the newest events' places in memory (rebuilt at open from the events after
-- `stream_index_through`) and moves them here in batches, each stream's new entries onto the
-- same few pages (see `store/src/sqlite_streams.rs`).
CREATE TABLE stream_index (
    stream   TEXT    NOT NULL,
    revision INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (stream, revision)
) STRICT, WITHOUT ROWID;

INSERT INTO stream_index (stream, revision, position)
    SELECT stream, revision, position FROM events ORDER BY stream, revision;

DROP INDEX events_by_stream;

-- Every event at or below this position is in `stream_index`: one row.
CREATE TABLE stream_index_through (position INTEGER NOT NULL) STRICT;
INSERT INTO stream_index_through (position) SELECT coalesce(max(position), 0) FROM events;
