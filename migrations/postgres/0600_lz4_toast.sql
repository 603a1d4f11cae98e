-- The large values (event data, the fold state and view of each case) compressed with lz4 instead of pglz where
-- the server has lz4 (PostgreSQL 14+ built with it; Debian's is). A profile of a read-model rebuild on PostgreSQL
-- put pglz_compress at a quarter of the server's CPU: each case's state and view are several KB of JSON,
-- rewritten on every batch that touches the case, and the søknad event is compressed once when appended.
-- Only the compression of values written from now on changes (no table rewrite); old values stay readable.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE es_events ALTER COLUMN data SET COMPRESSION lz4;
        ALTER TABLE innsyn_sak ALTER COLUMN state SET COMPRESSION lz4, ALTER COLUMN view SET COMPRESSION lz4;
        ALTER TABLE navsupport_sak ALTER COLUMN state SET COMPRESSION lz4, ALTER COLUMN view SET COMPRESSION lz4;
    END IF;
END
$$;
