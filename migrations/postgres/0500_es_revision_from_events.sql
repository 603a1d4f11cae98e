-- A stream's revision is no longer kept in `es_streams`: it is the highest `revision` of the stream's rows in
-- `es_events`, found with one backward probe of the primary key `(stream_id, revision)`.
--
-- Why: the benchmark (BENCHMARKS.md, append) showed our append at 0.66–0.69 of a raw INSERT of the same row, and
-- the revision bump was the one write beyond the event itself: a second heap tuple and WAL record per append (a HOT
-- update at best) and a dead `es_streams` version for vacuum to clean for every event. The stream's advisory lock
-- (taken first, as before) is what makes reading the revision and writing the next one safe; the stored copy added
-- nothing to that. `es_streams` keeps the name → id map.
--
-- Semantics are exactly those of 0001 (`es_append`) and 0300 (`es_append_one`); the conformance suite checks them.

CREATE OR REPLACE FUNCTION es_append_one(
    p_stream text,
    p_expected_kind text,
    p_expected_revision bigint,
    p_event_id uuid,
    p_event_type text,
    p_data jsonb,
    p_metadata jsonb,
    OUT outcome text,
    OUT current_revision bigint,
    OUT last_revision bigint,
    OUT last_tx bigint,
    OUT last_seq bigint,
    OUT conflict_event_id uuid
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_stream_id bigint;
    v_tx xid8;
    v_accepted boolean;
BEGIN
    -- The stream lock must be taken before the transaction has an id (see 0001).
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction (stream %)', p_stream
            USING ERRCODE = 'ES001';
    END IF;
    PERFORM pg_advisory_xact_lock(1163084866, hashtext(p_stream));

    -- The stream, its revision, and, if it holds this id already, the event: one statement.
    SELECT s.stream_id,
           (SELECT r.revision FROM es_events r WHERE r.stream_id = s.stream_id ORDER BY r.revision DESC LIMIT 1),
           e.revision, e.tx, e.seq
      INTO v_stream_id, current_revision, last_revision, v_tx, last_seq
      FROM es_streams s
      LEFT JOIN es_events e ON e.stream_id = s.stream_id AND e.event_id = p_event_id
     WHERE s.stream_name = p_stream;
    IF v_tx IS NOT NULL THEN
        outcome := 'duplicate';
        last_tx := v_tx::text::bigint;
        RETURN;
    END IF;

    v_accepted := CASE p_expected_kind
        WHEN 'any' THEN true
        WHEN 'no_stream' THEN current_revision IS NULL
        WHEN 'stream_exists' THEN current_revision IS NOT NULL
        WHEN 'exact' THEN current_revision IS NOT DISTINCT FROM p_expected_revision
        ELSE false
    END;
    IF NOT v_accepted THEN
        outcome := 'wrong_expected_revision';
        RETURN;
    END IF;

    last_revision := coalesce(current_revision, -1) + 1;
    IF v_stream_id IS NULL THEN
        INSERT INTO es_streams (stream_name) VALUES (p_stream) RETURNING es_streams.stream_id INTO v_stream_id;
    END IF;

    INSERT INTO es_events (stream_id, revision, event_id, event_type, data, metadata)
    VALUES (v_stream_id, last_revision, p_event_id, p_event_type, p_data, p_metadata)
    RETURNING es_events.tx, es_events.seq INTO v_tx, last_seq;
    outcome := 'appended';
    last_tx := v_tx::text::bigint;
END;
$$;

CREATE OR REPLACE FUNCTION es_append(
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
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction (stream %)', p_stream
            USING ERRCODE = 'ES001';
    END IF;
    PERFORM pg_advisory_xact_lock(1163084866, hashtext(p_stream));

    SELECT s.stream_id,
           (SELECT r.revision FROM es_events r WHERE r.stream_id = s.stream_id ORDER BY r.revision DESC LIMIT 1)
      INTO v_stream_id, v_current
      FROM es_streams s WHERE s.stream_name = p_stream;

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
        INSERT INTO es_streams (stream_name) VALUES (p_stream) RETURNING es_streams.stream_id INTO v_stream_id;
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

-- Group commit: several single-event appends (to any streams, the same one more than once too) in one
-- transaction, each decided alone with exactly the rules of `es_append_one`: a refused or duplicate append writes
-- nothing and does not affect the others. The store sends the appends that wait together (src/eventstore/postgres/
-- group.rs), so under concurrent load one commit and one round trip serve many appends.
--
-- Every stream lock is taken before the first write (the rule of 0001, for each stream of the group), in the order
-- of the lock keys, so two groups wanting the same streams cannot deadlock; a single append holds one lock only.
-- Rows come back in the order of the arguments, `idx` counting from 1.
CREATE FUNCTION es_append_group(
    p_streams text[],
    p_expected_kinds text[],
    p_expected_revisions bigint[],
    p_event_ids uuid[],
    p_event_types text[],
    p_data jsonb[],
    p_metadata jsonb[]
) RETURNS TABLE (
    idx int,
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
    v_key int;
    v_stream_id bigint;
    v_tx xid8;
    v_accepted boolean;
BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction (group of %)', cardinality(p_streams)
            USING ERRCODE = 'ES001';
    END IF;
    FOR v_key IN SELECT DISTINCT hashtext(s) FROM unnest(p_streams) AS s ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(1163084866, v_key);
    END LOOP;

    FOR i IN 1 .. coalesce(cardinality(p_streams), 0) LOOP
        idx := i;
        outcome := NULL; current_revision := NULL; last_revision := NULL; last_tx := NULL; last_seq := NULL;
        conflict_event_id := NULL; v_stream_id := NULL; v_tx := NULL;
        -- From here on as es_append_one (0500 above), for the i-th append.
        SELECT s.stream_id,
               (SELECT r.revision FROM es_events r WHERE r.stream_id = s.stream_id ORDER BY r.revision DESC LIMIT 1),
               e.revision, e.tx, e.seq
          INTO v_stream_id, current_revision, last_revision, v_tx, last_seq
          FROM es_streams s
          LEFT JOIN es_events e ON e.stream_id = s.stream_id AND e.event_id = p_event_ids[i]
         WHERE s.stream_name = p_streams[i];
        IF v_tx IS NOT NULL THEN
            outcome := 'duplicate';
            last_tx := v_tx::text::bigint;
            RETURN NEXT;
            CONTINUE;
        END IF;
        v_accepted := CASE p_expected_kinds[i]
            WHEN 'any' THEN true
            WHEN 'no_stream' THEN current_revision IS NULL
            WHEN 'stream_exists' THEN current_revision IS NOT NULL
            WHEN 'exact' THEN current_revision IS NOT DISTINCT FROM p_expected_revisions[i]
            ELSE false
        END;
        IF NOT v_accepted THEN
            outcome := 'wrong_expected_revision';
            last_revision := NULL;
            last_seq := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        last_revision := coalesce(current_revision, -1) + 1;
        IF v_stream_id IS NULL THEN
            INSERT INTO es_streams (stream_name) VALUES (p_streams[i])
            RETURNING es_streams.stream_id INTO v_stream_id;
        END IF;
        INSERT INTO es_events (stream_id, revision, event_id, event_type, data, metadata)
        VALUES (v_stream_id, last_revision, p_event_ids[i], p_event_types[i], p_data[i], p_metadata[i])
        RETURNING es_events.tx, es_events.seq INTO v_tx, last_seq;
        outcome := 'appended';
        last_tx := v_tx::text::bigint;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- The column is no longer kept up to date; dropping it keeps anyone from reading a stale value. The fillfactor of
-- 0300 left room for its updates, which no longer happen.
ALTER TABLE es_streams DROP COLUMN revision;
ALTER TABLE es_streams SET (fillfactor = 100);
