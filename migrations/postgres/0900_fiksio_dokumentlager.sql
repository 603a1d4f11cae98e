-- Fiks Dokumentlager for Fiks IO messages over 5 MB (src/fiksio/dokumentlager.rs): such a message goes out with
-- an empty body and the header `dokumentlager-id`; its encrypted body is a blob in the document store, named
-- here, served at `GET /dokumentlager/nedlasting/{id}` to the receiving account's integration until
-- `utloper_ms` (the message's TTL + 24 h), and then deleted with its row by the publisher's sweep.
CREATE TABLE fiksio_dokumentlager (
    id         text   PRIMARY KEY,
    konto_id   text   NOT NULL,
    sha512     text   NOT NULL,
    storrelse  bigint NOT NULL,
    utloper_ms bigint NOT NULL
);

CREATE INDEX fiksio_dokumentlager_utloper ON fiksio_dokumentlager (utloper_ms);
