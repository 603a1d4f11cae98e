-- Projections: the runner's bookkeeping, and the read models (see projections/ and src/projection_runner/).
--
-- Same tables and meaning as migrations/postgres/0100_projections.sql: read-model tables carry a `version`
-- column, readers follow `projection_state.active_version`, and each version's checkpoint (commit, prepare) is
-- committed with its rows. Positions are (0, es_events.position) here. Booleans are 0/1, JSON is text,
-- times are ISO 8601 text.

CREATE TABLE projection_state (
    name           TEXT    PRIMARY KEY,
    active_version INTEGER NOT NULL,
    leader         TEXT,
    leader_since   TEXT,
    updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE projection_builds (
    name           TEXT    NOT NULL REFERENCES projection_state (name),
    version        INTEGER NOT NULL,
    logic_version  INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('building', 'active', 'retired')),
    commit_pos     INTEGER NOT NULL DEFAULT 0,
    prepare_pos    INTEGER NOT NULL DEFAULT 0,
    applied        INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    error_commit   INTEGER,
    error_prepare  INTEGER,
    error_attempts INTEGER NOT NULL DEFAULT 0,
    error_since    TEXT,
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (name, version)
) STRICT;

CREATE UNIQUE INDEX projection_builds_one_active ON projection_builds (name) WHERE status = 'active';
CREATE UNIQUE INDEX projection_builds_one_building ON projection_builds (name) WHERE status = 'building';

-- Read model `kommune` (see the PostgreSQL migration for the meaning of each column).
CREATE TABLE kommuneinfo (
    version                                  INTEGER NOT NULL,
    kommunenummer                            TEXT    NOT NULL,
    fiks_org_id                              TEXT    NOT NULL,
    fagsystem_orgnr                          TEXT    NOT NULL,
    nav_enheter                              TEXT    NOT NULL,
    kan_motta_soknader                       INTEGER NOT NULL,
    kan_oppdatere_status                     INTEGER NOT NULL,
    har_midlertidig_deaktivert_mottak        INTEGER NOT NULL,
    har_midlertidig_deaktivert_oppdateringer INTEGER NOT NULL,
    har_nks_tilgang                          INTEGER NOT NULL,
    kontaktpersoner                          TEXT    NOT NULL,
    behandlingsansvarlig                     TEXT,
    sist_endret                              TEXT    NOT NULL,
    revision                                 INTEGER NOT NULL,
    PRIMARY KEY (version, kommunenummer)
) STRICT;

CREATE INDEX kommuneinfo_fiks_org ON kommuneinfo (version, fiks_org_id);

CREATE TABLE kommuneinfo_enheter (
    version       INTEGER NOT NULL,
    enhetsnummer  TEXT    NOT NULL,
    kommunenummer TEXT    NOT NULL,
    PRIMARY KEY (version, enhetsnummer, kommunenummer)
) STRICT;

CREATE INDEX kommuneinfo_enheter_kommune ON kommuneinfo_enheter (version, kommunenummer);
