-- The event store (see shared/docs/EVENTSTORE.md).
--
-- SQLite has one writer at a time, so the order of `position` is the order of commits: the feed is read by
-- position alone. AUTOINCREMENT makes sure a position is never handed out twice, even after a deletion.

CREATE TABLE es_streams (
    stream_id   INTEGER PRIMARY KEY,
    stream_name TEXT    NOT NULL UNIQUE,
    revision    INTEGER NOT NULL
) STRICT;

CREATE TABLE es_events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id   INTEGER NOT NULL REFERENCES es_streams (stream_id),
    revision    INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT,
    recorded_at TEXT    NOT NULL,
    UNIQUE (stream_id, revision),
    UNIQUE (stream_id, event_id)
) STRICT;
