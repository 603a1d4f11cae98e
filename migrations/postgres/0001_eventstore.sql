-- The event store (see shared/docs/EVENTSTORE.md).
--
-- The all-events feed is ordered by (tx, seq): the id of the writing transaction, then a sequence. Readers only
-- read rows whose transaction is older than the oldest transaction still running, so a transaction that took a
-- smaller sequence number but commits later can never be skipped.

CREATE TABLE es_streams (
    stream_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_name text   NOT NULL UNIQUE,
    revision    bigint NOT NULL DEFAULT -1
);

CREATE TABLE es_events (
    tx          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    stream_id   bigint      NOT NULL REFERENCES es_streams,
    revision    bigint      NOT NULL,
    event_id    uuid        NOT NULL,
    event_type  text        NOT NULL,
    data        jsonb       NOT NULL,
    metadata    jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, revision),
    UNIQUE (stream_id, event_id)
);

CREATE INDEX es_events_all ON es_events (tx, seq);

-- One append, in one round trip.
--
-- The stream lock is an advisory transaction lock in the two-key space (class 1163084866, 'ESLB', object: a hash
-- of the stream name), so it never meets the one-key (bigint) locks that other code uses, such as projection
-- leader election. It is taken before the transaction writes anything, i.e. before it has a transaction id: the
-- next writer of the same stream gets its id only after this one has committed, so a stream's events appear in
-- the (tx, seq) feed in revision order. Two names with the same hash merely share a lock.
--
-- p_expected_kind: 'any', 'no_stream', 'stream_exists' or 'exact' (then p_expected_revision is the revision).
-- outcome: 'appended', 'duplicate' (every id already written, in order: the original result is returned),
-- 'wrong_expected_revision' (current_revision says what it is), 'idempotency_conflict' (conflict_event_id).
CREATE FUNCTION es_append(
    p_stream text,
    p_expected_kind text,
    p_expected_revision bigint,
    p_event_ids uuid[],
    p_event_types text[],
    p_data jsonb[],
    p_metadata jsonb[]
) RETURNS TABLE (
    outcome text,
    current_revision bigint,
    last_revision bigint,
    last_tx bigint,
    last_seq bigint,
    conflict_event_id uuid
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_stream_id bigint;
    v_current bigint;
    v_count int := cardinality(p_event_ids);
    v_found_ids uuid[];
    v_first bigint;
    v_last bigint;
    v_accepted boolean;
BEGIN
    -- Taken after the transaction got an id, the lock would no longer order the stream's events in the feed.
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction (stream %)', p_stream
            USING ERRCODE = 'ES001';
    END IF;
    PERFORM pg_advisory_xact_lock(1163084866, hashtext(p_stream));

    SELECT s.stream_id, s.revision INTO v_stream_id, v_current FROM es_streams s WHERE s.stream_name = p_stream;
    IF v_current IS NOT NULL AND v_current < 0 THEN
        v_current := NULL;
    END IF;

    -- Idempotency: are any of these ids already in the stream?
    IF v_stream_id IS NOT NULL THEN
        SELECT array_agg(e.event_id ORDER BY e.revision), min(e.revision), max(e.revision)
          INTO v_found_ids, v_first, v_last
          FROM es_events e
         WHERE e.stream_id = v_stream_id AND e.event_id = ANY (p_event_ids);
        IF v_found_ids IS NOT NULL THEN
            IF v_found_ids = p_event_ids AND v_last - v_first + 1 = v_count THEN
                RETURN QUERY
                    SELECT 'duplicate'::text, v_current, e.revision, e.tx::text::bigint, e.seq, NULL::uuid
                      FROM es_events e WHERE e.stream_id = v_stream_id AND e.revision = v_last;
                RETURN;
            END IF;
            -- The first id of the batch that is not where a retry would have put it.
            RETURN QUERY
                SELECT 'idempotency_conflict'::text, v_current, NULL::bigint, NULL::bigint, NULL::bigint, u.id
                  FROM unnest(p_event_ids) WITH ORDINALITY AS u(id, ord)
                  LEFT JOIN es_events e ON e.stream_id = v_stream_id AND e.event_id = u.id
                 WHERE e.revision IS DISTINCT FROM v_first + u.ord - 1
                 ORDER BY u.ord
                 LIMIT 1;
            RETURN;
        END IF;
    END IF;

    v_accepted := CASE p_expected_kind
        WHEN 'any' THEN true
        WHEN 'no_stream' THEN v_current IS NULL
        WHEN 'stream_exists' THEN v_current IS NOT NULL
        WHEN 'exact' THEN v_current IS NOT DISTINCT FROM p_expected_revision
        ELSE false
    END;
    IF NOT v_accepted THEN
        RETURN QUERY SELECT 'wrong_expected_revision'::text, v_current, NULL::bigint, NULL::bigint, NULL::bigint,
                            NULL::uuid;
        RETURN;
    END IF;

    IF v_stream_id IS NULL THEN
        INSERT INTO es_streams (stream_name, revision) VALUES (p_stream, v_count - 1)
        RETURNING es_streams.stream_id INTO v_stream_id;
    ELSE
        UPDATE es_streams SET revision = coalesce(v_current, -1) + v_count WHERE stream_id = v_stream_id;
    END IF;

    RETURN QUERY
        WITH inserted AS (
            INSERT INTO es_events (stream_id, revision, event_id, event_type, data, metadata)
            SELECT v_stream_id, coalesce(v_current, -1) + u.ord, u.id, u.typ, u.dat, u.meta
              FROM unnest(p_event_ids, p_event_types, p_data, p_metadata) WITH ORDINALITY AS u(id, typ, dat, meta, ord)
             ORDER BY u.ord
            RETURNING es_events.revision, es_events.tx, es_events.seq
        )
        SELECT 'appended'::text, v_current, i.revision, i.tx::text::bigint, i.seq, NULL::uuid
          FROM inserted i ORDER BY i.revision DESC LIMIT 1;
END;
$$;
