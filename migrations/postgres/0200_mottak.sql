-- Read model `mottak`: the kommune's mailbox (one row per delivery, DOMAIN.md A.3) and the index of the
-- documents a case holds, for the download endpoint (who may fetch `dokumentlagerId`: the case's citizen and
-- its kommune's fagsystem). Same shape as migrations/sqlite/0200_mottak.sql; every table carries `version`
-- (see 0100_projections.sql). Ids, times and JSON are text on purpose: the projection's SQL is then the same
-- on both backends.

-- The cases the mailbox has seen: who owns them and whose they are.
CREATE TABLE mottak_sak (
    version         integer NOT NULL,
    fiks_digisos_id text    NOT NULL,
    fiks_org_id     text    NOT NULL,
    kommunenummer   text    NOT NULL,
    soker_fnr       text    NOT NULL,
    slettet         bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (version, fiks_digisos_id)
);

-- The files of each søknad or ettersendelse, until its delivery is created (the two events may arrive in
-- different batches).
CREATE TABLE mottak_innsending (
    version            integer NOT NULL,
    fiks_digisos_id    text    NOT NULL,
    nav_ekstern_ref_id text    NOT NULL,
    filer              text    NOT NULL,
    PRIMARY KEY (version, fiks_digisos_id, nav_ekstern_ref_id)
);

-- One row per delivery; `pos_commit, pos_prepare` (the feed position of its creation) orders the mailbox.
CREATE TABLE mottak_leveranse (
    version            integer NOT NULL,
    leveranse_id       text    NOT NULL,
    fiks_org_id        text    NOT NULL,
    kommunenummer      text    NOT NULL,
    fiks_digisos_id    text    NOT NULL,
    kind               text    NOT NULL CHECK (kind IN ('SOKNAD', 'ETTERSENDELSE')),
    nav_ekstern_ref_id text    NOT NULL,
    status             text    NOT NULL CHECK (status IN ('SENDT', 'BEKREFTET', 'AVVIST')),
    arsak              text,
    created            text    NOT NULL,
    sist_tilbudt       text    NOT NULL,
    attempts           bigint  NOT NULL,
    filer              text    NOT NULL,
    pos_commit         bigint  NOT NULL,
    pos_prepare        bigint  NOT NULL,
    PRIMARY KEY (version, leveranse_id)
);

CREATE INDEX mottak_leveranse_ko ON mottak_leveranse (version, fiks_org_id, status, pos_commit, pos_prepare);

-- Every downloadable document of a case (Nav's files, the fagsystem's uploads, the JSON documents).
CREATE TABLE mottak_dokument (
    version          integer NOT NULL,
    dokumentlager_id text    NOT NULL,
    fiks_digisos_id  text    NOT NULL,
    filnavn          text    NOT NULL,
    mimetype         text    NOT NULL,
    storrelse        bigint  NOT NULL,
    sha512           text    NOT NULL,
    PRIMARY KEY (version, dokumentlager_id)
);

CREATE INDEX mottak_dokument_sak ON mottak_dokument (version, fiks_digisos_id);
