-- Read model `mottak`: the kommune's mailbox (one row per delivery, DOMAIN.md A.3) and the index of the
-- documents a case holds, for the download endpoint (who may fetch `dokumentlagerId`: the case's citizen and
-- its kommune's fagsystem). Same shape as migrations/postgres/0200_mottak.sql; every table carries `version`
-- (see 0100_projections.sql). Ids, times and JSON are TEXT on purpose: the projection's SQL is then the same
-- on both backends.

-- The cases the mailbox has seen: who owns them and whose they are.
CREATE TABLE mottak_sak (
    version         INTEGER NOT NULL,
    fiks_digisos_id TEXT    NOT NULL,
    fiks_org_id     TEXT    NOT NULL,
    kommunenummer   TEXT    NOT NULL,
    soker_fnr       TEXT    NOT NULL,
    slettet         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (version, fiks_digisos_id)
) STRICT;

-- The files of each søknad or ettersendelse, until its delivery is created (the two events may arrive in
-- different batches).
CREATE TABLE mottak_innsending (
    version            INTEGER NOT NULL,
    fiks_digisos_id    TEXT    NOT NULL,
    nav_ekstern_ref_id TEXT    NOT NULL,
    filer              TEXT    NOT NULL,
    PRIMARY KEY (version, fiks_digisos_id, nav_ekstern_ref_id)
) STRICT;

-- One row per delivery; `pos_commit, pos_prepare` (the feed position of its creation) orders the mailbox.
CREATE TABLE mottak_leveranse (
    version            INTEGER NOT NULL,
    leveranse_id       TEXT    NOT NULL,
    fiks_org_id        TEXT    NOT NULL,
    kommunenummer      TEXT    NOT NULL,
    fiks_digisos_id    TEXT    NOT NULL,
    kind               TEXT    NOT NULL CHECK (kind IN ('SOKNAD', 'ETTERSENDELSE')),
    nav_ekstern_ref_id TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('SENDT', 'BEKREFTET', 'AVVIST')),
    arsak              text,
    created            TEXT    NOT NULL,
    sist_tilbudt       TEXT    NOT NULL,
    attempts           INTEGER  NOT NULL,
    filer              TEXT    NOT NULL,
    pos_commit         INTEGER  NOT NULL,
    pos_prepare        INTEGER  NOT NULL,
    PRIMARY KEY (version, leveranse_id)
) STRICT;

CREATE INDEX mottak_leveranse_ko ON mottak_leveranse (version, fiks_org_id, status, pos_commit, pos_prepare);

-- Every downloadable document of a case (Nav's files, the fagsystem's uploads, the JSON documents).
CREATE TABLE mottak_dokument (
    version          INTEGER NOT NULL,
    dokumentlager_id TEXT    NOT NULL,
    fiks_digisos_id  TEXT    NOT NULL,
    filnavn          TEXT    NOT NULL,
    mimetype         TEXT    NOT NULL,
    storrelse        INTEGER  NOT NULL,
    sha512           TEXT    NOT NULL,
    PRIMARY KEY (version, dokumentlager_id)
) STRICT;

CREATE INDEX mottak_dokument_sak ON mottak_dokument (version, fiks_digisos_id);
