-- The hash chain (see `store/src/chain.rs` for the exact bytes hashed). Each event's `hash`
-- covers all of its columns and `previous_hash`, the hash of the event one position before it
-- (32 zero bytes for the first). Both are 32-byte SHA-256 digests. They are nullable only
-- because rows stored before this migration get them from the backfill that runs when the
-- store opens; the writer fills them in the same transaction as the insert.
ALTER TABLE events ADD COLUMN previous_hash BLOB;
ALTER TABLE events ADD COLUMN hash BLOB;

-- The chain head at the end of each local day (Europe/Helsinki, by `recorded_at`): the last
-- event recorded that day. Written by the writer with the first event of a later day, so an
-- auditor can copy it out of the system. `day` is `YYYY-MM-DD`.
CREATE TABLE anchors (
    day      TEXT    PRIMARY KEY,
    position INTEGER NOT NULL,
    hash     BLOB    NOT NULL
) STRICT;
