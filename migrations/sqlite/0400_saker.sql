-- Read models `innsyn` (the citizen's view of each case, DOMAIN.md B.5), `navsupport` (Nav support staff's reduced
-- view, DOMAIN.md D) and `innsynslogg` (each citizen's record of staff lookups). Same shape as
-- migrations/postgres/0400_saker.sql; every table carries `version` (see 0100_projections.sql).
--
-- `innsyn_sak` and `navsupport_sak` have the same columns: the fold's state (`state`, JSON, what the next batch
-- continues from) and the finished view (`view`, JSON, NULL while the case is hidden), plus the columns queries
-- filter and sort on. `pos_*` is the feed position of the last event applied (the live-update feed reads changed
-- cases by it); `opprettet_*` the position of the case's first event (a stable order for paging).

CREATE TABLE innsyn_sak (
    version           INTEGER NOT NULL,
    fiks_digisos_id   TEXT    NOT NULL,
    soker_fnr         TEXT,
    kommunenummer     TEXT,
    fiks_org_id       TEXT,
    sist_endret_ms    INTEGER NOT NULL DEFAULT 0,
    revision          INTEGER NOT NULL,
    opprettet_commit  INTEGER NOT NULL,
    opprettet_prepare INTEGER NOT NULL,
    pos_commit        INTEGER NOT NULL,
    pos_prepare       INTEGER NOT NULL,
    state             TEXT    NOT NULL,
    view              TEXT,
    PRIMARY KEY (version, fiks_digisos_id)
) STRICT;

CREATE INDEX innsyn_sak_fnr ON innsyn_sak (version, soker_fnr, sist_endret_ms DESC);
CREATE INDEX innsyn_sak_kommune ON innsyn_sak (version, kommunenummer, opprettet_commit DESC, opprettet_prepare DESC);
CREATE INDEX innsyn_sak_pos ON innsyn_sak (version, pos_commit, pos_prepare);

CREATE TABLE navsupport_sak (
    version           INTEGER NOT NULL,
    fiks_digisos_id   TEXT    NOT NULL,
    soker_fnr         TEXT,
    kommunenummer     TEXT,
    fiks_org_id       TEXT,
    sist_endret_ms    INTEGER NOT NULL DEFAULT 0,
    revision          INTEGER NOT NULL,
    opprettet_commit  INTEGER NOT NULL,
    opprettet_prepare INTEGER NOT NULL,
    pos_commit        INTEGER NOT NULL,
    pos_prepare       INTEGER NOT NULL,
    state             TEXT    NOT NULL,
    view              TEXT,
    PRIMARY KEY (version, fiks_digisos_id)
) STRICT;

CREATE INDEX navsupport_sak_fnr ON navsupport_sak (version, soker_fnr, sist_endret_ms DESC);

-- One row per staff access record (StaffAccessRecorded on the `audit-<NAVident>` streams).
CREATE TABLE innsynslogg (
    version      INTEGER NOT NULL,
    event_id     TEXT    NOT NULL,
    soker_fnr    TEXT    NOT NULL,
    tidspunkt    TEXT    NOT NULL,
    navident     TEXT    NOT NULL,
    hva          TEXT    NOT NULL,
    beslutning   TEXT    NOT NULL,
    pos_commit   INTEGER NOT NULL,
    pos_prepare  INTEGER NOT NULL,
    PRIMARY KEY (version, event_id)
) STRICT;

CREATE INDEX innsynslogg_fnr ON innsynslogg (version, soker_fnr, pos_commit DESC, pos_prepare DESC);
