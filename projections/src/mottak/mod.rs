//! Read model `mottak`: the kommune's mailbox with Fiks IO semantics (DOMAIN.md A.3), and the index of every
//! downloadable document of a case (for `GET /dokumentlager/nedlasting/{dokumentlagerId}`).
//!
//! A delivery (`LeveranseOpprettet` on a case stream) becomes a row with its case, kind, `navEksternRefId`, the
//! files of the søknad or ettersendelse it carries, its status (`SENDT` until the fagsystem confirms it,
//! `BEKREFTET`, or `AVVIST` with the fagsystem's reason) and how many times it was offered. The mailbox lists
//! `SENDT` rows of one `fiksOrgId` in feed order, oldest first. The document index binds each
//! `dokumentlagerId` to its case, whose `sokerFnr` and `fiksOrgId` decide who may download it.

mod query;
mod write;

use async_trait::async_trait;
use digisos_schema::events::{DokumentInfo, SakEvent, sak_id_of_stream};
use serde_json::json;

use crate::envelope::EventEnvelope;
use crate::projection::{ApplyError, Projection, Tx};
use write::{Arg, Conn};

pub use query::{
    Dokument, Leveranse, Leveransestatus, OverdueLeveranse, dokument, leveranse, leveranse_for_melding,
    leveranser_til_ny_levering, ventende_leveranser,
};

/// The projection's name (also written into the queries' SQL: keep them in step).
pub const NAME: &str = "mottak";

/// The `mottak` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct MottakProjection;

#[async_trait]
impl Projection for MottakProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        1
    }

    async fn apply(&self, batch: &[EventEnvelope], model_version: i32, tx: Tx<'_>) -> Result<(), ApplyError> {
        let mut conn = Conn::from(tx);
        for event in batch {
            let Some(sak_id) = sak_id_of_stream(&event.stream) else { continue };
            let decoded = SakEvent::decode(&event.event_type, &event.data)
                .map_err(|e| ApplyError::event(event, e.to_string()))?;
            apply_one(&mut conn, event, sak_id.to_string(), decoded, i64::from(model_version)).await?;
        }
        Ok(())
    }

    async fn purge(&self, model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError> {
        write::purge(model_version, limit, tx).await
    }
}

async fn apply_one(
    conn: &mut Conn<'_>,
    event: &EventEnvelope,
    sak: String,
    decoded: SakEvent,
    version: i64,
) -> Result<(), ApplyError> {
    let v = Arg::Int(version);
    match decoded {
        SakEvent::SoknadMottatt(s) => {
            let fnr = s.soker_fnr.expose().to_owned();
            let args = [
                v.clone(),
                text(&sak),
                text(&s.fiks_org_id),
                Arg::Text(s.kommunenummer.as_str().to_owned()),
                Arg::Text(fnr),
            ];
            conn.execute(write::INSERT_SAK, &args).await?;
            let mut filer = vec![s.metadata, s.vedlegg_metadata, s.soknad_dokument];
            filer.extend(s.vedlegg);
            innsending(conn, &v, &sak, s.nav_ekstern_ref_id.as_str(), &filer).await?;
        }
        SakEvent::PapirsakOpprettet(p) => {
            let fnr = p.soker_fnr.expose().to_owned();
            let args = [
                v.clone(),
                text(&sak),
                text(&p.fiks_org_id),
                Arg::Text(p.kommunenummer.as_str().to_owned()),
                Arg::Text(fnr),
            ];
            conn.execute(write::INSERT_SAK, &args).await?;
        }
        SakEvent::EttersendelseMottatt(e) => {
            let mut filer = vec![e.vedlegg_metadata];
            filer.extend(e.vedlegg);
            innsending(conn, &v, &sak, e.nav_ekstern_ref_id.as_str(), &filer).await?;
        }
        SakEvent::LeveranseOpprettet(l) => {
            let kind = serde_json::to_value(l.leveransetype).map_err(|e| ApplyError::event(event, e.to_string()))?;
            let args = [
                v,
                text(&l.leveranse_id),
                text(&l.fiks_org_id),
                Arg::Text(kind.as_str().unwrap_or_default().to_owned()),
                Arg::Text(l.tidspunkt.as_str().to_owned()),
                Arg::Int(i64::try_from(event.position.commit).unwrap_or(i64::MAX)),
                Arg::Int(i64::try_from(event.position.prepare).unwrap_or(i64::MAX)),
                Arg::Text(if l.fiks_io.is_some() { "FIKS_IO" } else { "MOTTAK" }.to_owned()),
                Arg::OptText(l.fiks_io.map(|f| f.melding_id.to_string())),
                Arg::Text(sak),
                Arg::Text(l.nav_ekstern_ref_id.as_str().to_owned()),
            ];
            // Inserts nothing for a row that exists (a replayed event); the decider creates a delivery only in
            // the same append as its søknad or ettersendelse, so the files are always there before it.
            conn.execute(write::INSERT_LEVERANSE, &args).await?;
        }
        SakEvent::LeveranseTilbudtIgjen(t) => {
            let args =
                [Arg::Int(i64::from(t.forsok)), Arg::Text(t.tidspunkt.as_str().to_owned()), v, text(&t.leveranse_id)];
            conn.execute(write::TILBUDT_IGJEN, &args).await?;
        }
        SakEvent::LeveranseTilMottak(t) => {
            let args = [Arg::Text(t.tidspunkt.as_str().to_owned()), v, text(&t.leveranse_id)];
            conn.execute(write::TIL_MOTTAK, &args).await?;
        }
        SakEvent::LeveranseKvittert(k) => {
            let args = [Arg::Text("BEKREFTET".into()), Arg::OptText(None), v, text(&k.leveranse_id)];
            conn.execute(write::BESVART, &args).await?;
        }
        SakEvent::LeveranseAvvist(a) => {
            let args = [Arg::Text("AVVIST".into()), Arg::OptText(Some(a.arsak)), v, text(&a.leveranse_id)];
            conn.execute(write::BESVART, &args).await?;
        }
        SakEvent::DokumentLastetOpp(d) => dokument_rad(conn, &v, &sak, &d.dokument).await?,
        SakEvent::DigisosSokerOppdatert(d) => dokument_rad(conn, &v, &sak, &d.metadata).await?,
        SakEvent::DokumentSlettet(d) => {
            let args = [v, Arg::Text(d.dokumentlager_dokument_id.to_string()), Arg::Text(sak)];
            conn.execute(write::SLETT_DOKUMENT, &args).await?;
        }
        SakEvent::SakSlettet(_) => {
            conn.execute(write::SLETT_SAK, &[v, Arg::Text(sak)]).await?;
        }
        SakEvent::HendelseRegistrert(_) | SakEvent::HendelseFjernet(_) | SakEvent::StatusoppdateringerSlettet(_) => {}
    }
    Ok(())
}

async fn innsending(
    conn: &mut Conn<'_>,
    v: &Arg,
    sak: &str,
    nav_ekstern_ref_id: &str,
    filer: &[DokumentInfo],
) -> Result<(), ApplyError> {
    let liste: Vec<_> = filer
        .iter()
        .map(|f| {
            json!({
                "filnavn": f.filnavn, "mimetype": f.mimetype, "storrelse": f.storrelse,
                "dokumentlagerDokumentId": f.dokumentlager_dokument_id,
            })
        })
        .collect();
    let args = [v.clone(), text(&sak), text(&nav_ekstern_ref_id), Arg::Text(json!(liste).to_string())];
    conn.execute(write::INSERT_INNSENDING, &args).await?;
    for fil in filer {
        dokument_rad(conn, v, sak, fil).await?;
    }
    Ok(())
}

async fn dokument_rad(conn: &mut Conn<'_>, v: &Arg, sak: &str, fil: &DokumentInfo) -> Result<(), ApplyError> {
    let args = [
        v.clone(),
        Arg::Text(fil.dokumentlager_dokument_id.to_string()),
        text(&sak),
        Arg::Text(fil.filnavn.clone()),
        Arg::Text(fil.mimetype.clone()),
        Arg::Int(i64::try_from(fil.storrelse).unwrap_or(i64::MAX)),
        Arg::Text(fil.sha512.as_str().to_owned()),
    ];
    conn.execute(write::INSERT_DOKUMENT, &args).await?;
    Ok(())
}

fn text(value: &impl std::fmt::Display) -> Arg {
    Arg::Text(value.to_string())
}
