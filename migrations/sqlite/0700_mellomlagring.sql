-- Read model `mellomlagring`: each mellomlagring that holds files, with when it last changed, for the job that
-- sweeps those left behind (src/mellomlagring/opprydding.rs). The files themselves are on the mellomlagring
-- streams; an emptied mellomlagring has no row. Same shape on both backends; every table carries `version`
-- (see 0100_projections.sql).
CREATE TABLE mellomlagring (
    version        INTEGER NOT NULL,
    stream         TEXT    NOT NULL,
    antall_filer   INTEGER NOT NULL,
    sist_endret_ms INTEGER  NOT NULL,
    PRIMARY KEY (version, stream)
) STRICT;

CREATE INDEX mellomlagring_sist_endret ON mellomlagring (version, sist_endret_ms);
