-- Projections: the runner's bookkeeping, and the read models (see projections/ and src/projection_runner/).
--
-- A projection's read model exists in one or more *versions* (builds): `version` 1 is built when the projection
-- first runs, a rebuild builds version N+1 beside version N, and readers follow `projection_state.active_version`.
-- Every read-model table therefore carries a `version` column instead of having a table per version: the SQL
-- stays static (sqlx refuses dynamic strings), the schema stays in migrations, and a retired version is deleted
-- in chunks after the switch.

-- One row per projection: the version readers use, and which instance leads it (informational: the lock is a
-- session advisory lock, see src/projection_runner/leader.rs).
CREATE TABLE projection_state (
    name           text        PRIMARY KEY,
    active_version integer     NOT NULL,
    leader         text,
    leader_since   timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per version of a projection's read model, with its checkpoint: the feed position (commit, prepare)
-- of the last event applied, committed in the same transaction as the rows it covers and advanced only by
-- compare-and-set. `logic_version` is the projection code's version that built it. A failure to apply an event
-- is recorded here (position, message, attempts) so every instance's lag report shows it.
CREATE TABLE projection_builds (
    name           text        NOT NULL REFERENCES projection_state (name),
    version        integer     NOT NULL,
    logic_version  integer     NOT NULL,
    status         text        NOT NULL CHECK (status IN ('building', 'active', 'retired')),
    commit_pos     bigint      NOT NULL DEFAULT 0,
    prepare_pos    bigint      NOT NULL DEFAULT 0,
    applied        bigint      NOT NULL DEFAULT 0,
    error          text,
    error_commit   bigint,
    error_prepare  bigint,
    error_attempts integer     NOT NULL DEFAULT 0,
    error_since    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

CREATE UNIQUE INDEX projection_builds_one_active ON projection_builds (name) WHERE status = 'active';
CREATE UNIQUE INDEX projection_builds_one_building ON projection_builds (name) WHERE status = 'building';

-- Read model `kommune`: one row per configured kommune (DOMAIN.md A.6 `KommuneInfo` and the routing the write
-- side needs), from `KommuneKonfigurert` events. `revision` is the stream revision the row reflects; an upsert
-- never replaces a row with an older revision. `sist_endret` is the event's tidspunkt exactly as written.
CREATE TABLE kommuneinfo (
    version                                  integer NOT NULL,
    kommunenummer                            text    NOT NULL,
    fiks_org_id                              uuid    NOT NULL,
    fagsystem_orgnr                          jsonb   NOT NULL,
    nav_enheter                              jsonb   NOT NULL,
    kan_motta_soknader                       boolean NOT NULL,
    kan_oppdatere_status                     boolean NOT NULL,
    har_midlertidig_deaktivert_mottak        boolean NOT NULL,
    har_midlertidig_deaktivert_oppdateringer boolean NOT NULL,
    har_nks_tilgang                          boolean NOT NULL,
    kontaktpersoner                          jsonb   NOT NULL,
    behandlingsansvarlig                     text,
    sist_endret                              text    NOT NULL,
    revision                                 bigint  NOT NULL,
    PRIMARY KEY (version, kommunenummer)
);

CREATE INDEX kommuneinfo_fiks_org ON kommuneinfo (version, fiks_org_id);

-- Which kommune a NAV office routes to. The write side allows one kommune per office; more than one row for an
-- office means conflicting configurations, which the lookup reports rather than hides.
CREATE TABLE kommuneinfo_enheter (
    version       integer NOT NULL,
    enhetsnummer  text    NOT NULL,
    kommunenummer text    NOT NULL,
    PRIMARY KEY (version, enhetsnummer, kommunenummer)
);

CREATE INDEX kommuneinfo_enheter_kommune ON kommuneinfo_enheter (version, kommunenummer);
