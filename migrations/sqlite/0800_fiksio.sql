-- Fiks IO (src/fiksio): the channel a delivery goes by, and the publisher's place in the event feed.
--
-- `mottak_leveranse.kanal` is 'FIKS_IO' while a delivery is out on Fiks IO (published to the kommune's
-- account, waiting for its `…mottatt.v1` receipt) and 'MOTTAK' in the mailbox, from the start or after a
-- fallback. Rows of earlier builds are all mailbox deliveries, so the default needs no rebuild.
-- `melding_id` is the Fiks IO message's id, which a receipt names in `svarPaMelding`.
ALTER TABLE mottak_leveranse ADD COLUMN kanal text NOT NULL DEFAULT 'MOTTAK';
ALTER TABLE mottak_leveranse ADD COLUMN melding_id text;
CREATE INDEX mottak_leveranse_melding ON mottak_leveranse (melding_id);

-- The publisher's checkpoint: every Fiks IO delivery created at or before this feed position was published
-- and confirmed by the broker (one row; the publisher advances it only after the broker's confirm).
CREATE TABLE fiksio_utsending (
    name        text   PRIMARY KEY,
    commit_pos  bigint NOT NULL,
    prepare_pos bigint NOT NULL
);

-- The kommune's Fiks IO account and certificate in the `kommune` read model (for the katalog's public-key
-- reads). Rows of earlier builds had no such setting.
ALTER TABLE kommuneinfo ADD COLUMN fiks_io_konto_id text;
ALTER TABLE kommuneinfo ADD COLUMN fiks_io_sertifikat text;
CREATE INDEX kommuneinfo_fiks_io ON kommuneinfo (fiks_io_konto_id);
-- The integration that may consume the account's queue (broker login), and its Argon2id password hash.
ALTER TABLE kommuneinfo ADD COLUMN fiks_io_integrasjon_id text;
ALTER TABLE kommuneinfo ADD COLUMN fiks_io_passord_hash text;
CREATE INDEX kommuneinfo_fiks_io_integrasjon ON kommuneinfo (fiks_io_integrasjon_id);
