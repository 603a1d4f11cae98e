//! The Fiks IO publisher: an outbox driven by the event log.
//!
//! It follows the all-events feed from its checkpoint (`fiksio_utsending`). Each `LeveranseOpprettet` that names
//! a Fiks IO message is published to the account's queue, persistent, with publisher confirms; the checkpoint
//! moves past an event only once its message is confirmed, so a crash or a broker outage re-publishes from the
//! last confirmed point (the same `melding-id`; at-least-once, as Fiks IO itself) and never skips one. A
//! delivery already answered, fallen back or erased by the time the publisher reaches it is skipped.
//!
//! One instance publishes at a time: the publisher holds the projections' kind of leader lock
//! (`projection_runner::leader`), so two instances on one PostgreSQL do not both send.
//!
//! The hub declares every queue (clients never do, FIKS_IO.md §1): `fiksio.konto.<kontoId>` as a durable quorum
//! queue that dead-letters a message after [`DELIVERY_ATTEMPTS`] failed deliveries (never acked, or requeued)
//! or a plain nack, or when it expires, to [`DEAD_LETTER_QUEUE`]; the hub consumes that queue and falls the
//! delivery back to the mailbox with the broker's reason.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use digisos_projections::ReadDb;
use digisos_projections::mottak::leveranse as read_leveranse;
use digisos_schema::events::{
    DokumentInfo, Fallbackgrunn, FiksIoSending, LeveranseId, LeveranseOpprettet, Leveransetype, SakEvent,
    kommune_stream, sak_id_of_stream, sak_stream,
};
use digisos_schema::types::{FiksDigisosId, Tidspunkt};
use futures::StreamExt;
use lapin::Confirmation;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties};
use openssl::x509::X509;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::dokumentlager;
use super::melding::{EGENDEFINERT, SoknadLeveranse, Utgaende, queue_name};
use super::{DEAD_LETTER_QUEUE, DELIVERY_ATTEMPTS, Kanal};
use crate::commands::{self, CommandError, KommuneAggregate, SakAggregate};
use crate::documents::DocumentStore;
use crate::eventstore::open::Database;
use crate::eventstore::subscription::{SubscriptionOptions, subscribe_all};
use crate::eventstore::{DynEventStore, Position, RecordedEvent, StreamName};
use crate::projection_runner::leader::Seat;
use crate::sak::{FallBackToMailbox, SakCommand};

/// The checkpoint's row, and the leader lock's name.
const NAME: &str = "fiksio-utsending";
/// Events passed over without a message before the checkpoint is saved anyway.
const SAVE_EVERY: u32 = 512;
/// How many messages are built at once (each on a blocking thread for its signature and encryption).
const PREPARING: usize = 8;
/// How many published messages may wait for their confirms at once.
const UNCONFIRMED: usize = 32;
/// How long a publish waits for the broker's confirm before the session starts again.
const CONFIRM_WAIT: Duration = Duration::from_secs(30);
/// How long a delivery waits for the mailbox read model before the publisher gives up and retries.
const READ_MODEL_WAIT: Duration = Duration::from_secs(30);
/// The longest wait between reconnects.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How many times a delivery's message may fail to be built before it goes to the mailbox instead ...
pub const PREPARE_ATTEMPTS: u32 = 5;
/// ... and for at least how long (so a document store or database outage of a minute pushes nothing aside).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// What the publisher works with.
#[derive(Clone)]
pub struct Utsending {
    pub kanal: Kanal,
    pub store: DynEventStore,
    pub documents: DocumentStore,
    pub database: Database,
    pub read: ReadDb,
    /// How long a delivery whose message cannot be built (a file unreadable, say) is retried, at least
    /// [`PREPARE_ATTEMPTS`] times, before it falls back to the mailbox (`MELDINGSFEIL`), so one broken delivery
    /// never holds up every later one: [`GIVE_UP_AFTER`] in service.
    pub give_up_after: Duration,
}

/// The deliveries whose message failed to be built: how often, and since when (kept across sessions).
type Failures = std::sync::Mutex<std::collections::HashMap<LeveranseId, (u32, tokio::time::Instant)>>;

/// Runs the publisher (and the dead-letter consumer) until aborted: leads when it can, reconnects with backoff.
pub fn spawn(utsending: Utsending) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut seat = Seat::new(utsending.database.clone(), NAME);
        let mut backoff = Duration::from_millis(200);
        let failures = Failures::default();
        loop {
            match seat.try_lead().await {
                Ok(true) => {}
                Ok(false) => {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "fiks io: cannot take the publisher lock; retrying");
                    tokio::time::sleep(MAX_BACKOFF).await;
                    continue;
                }
            }
            let outcome = tokio::select! {
                r = utsending.session(&mut backoff, &failures) => r,
                () = lost(&mut seat) => Err(anyhow!("the publisher lock was lost")),
            };
            if let Err(e) = outcome {
                tracing::warn!(
                    error = format!("{e:#}"),
                    retry_in_ms = backoff.as_millis() as u64,
                    "fiks io: publisher stopped; reconnecting"
                );
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

/// Resolves when this instance no longer holds the lock.
async fn lost(seat: &mut Seat) {
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        if !seat.still_leading().await {
            return;
        }
    }
}

impl Utsending {
    /// One connection's life: publish from the checkpoint and consume dead letters, until something fails.
    async fn session(&self, backoff: &mut Duration, failures: &Failures) -> anyhow::Result<()> {
        let properties = ConnectionProperties::default().with_connection_name("fiks-digisos".into());
        let connection =
            Connection::connect(self.kanal.amqp_url(), properties).await.context("cannot connect to the broker")?;
        let publish = connection.create_channel().await?;
        publish.confirm_select(ConfirmSelectOptions::default()).await?;
        let durable = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
        publish.queue_declare(DEAD_LETTER_QUEUE.into(), durable, FieldTable::default()).await?;
        let dead = connection.create_channel().await?;
        dead.basic_qos(10, BasicQosOptions::default()).await?;
        let consumer = dead
            .basic_consume(
                DEAD_LETTER_QUEUE.into(),
                "fiks-digisos".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(konto = %self.kanal.konto_id(), "fiks io: connected to the broker");
        *backoff = Duration::from_millis(200);
        let result = tokio::select! {
            r = self.publish_from_checkpoint(&publish, failures) => r,
            r = self.dead_letters(consumer) => r,
            r = self.watch_accounts(&connection) => r,
        };
        let _ = connection.close(200, "fiks-digisos stops this connection".into()).await;
        result
    }

    /// Follows the log from the checkpoint and publishes every Fiks IO delivery. Up to [`PREPARING`] messages
    /// are built at once (case history, files, signature and encryption) while earlier ones are published in the
    /// log's order; up to [`UNCONFIRMED`] published messages wait for their confirms at once. The checkpoint
    /// moves to the last event before which every message is confirmed, so a crash re-publishes what was not.
    async fn publish_from_checkpoint(&self, channel: &Channel, failures: &Failures) -> anyhow::Result<()> {
        let mut after = load_checkpoint(&self.database).await?;
        let feed = subscribe_all(self.store.clone(), after, SubscriptionOptions::default());
        let mut prepared = feed
            .map(|next| async move {
                let event = next?;
                let ready = match fiks_io_delivery(&event) {
                    Some((leveranse, sending)) => {
                        let prepared = self.prepare(&event.stream, &leveranse, sending).await;
                        self.or_give_up(prepared, &event.stream, leveranse.leveranse_id, failures).await?
                    }
                    None => None,
                };
                Ok::<_, anyhow::Error>((event.position, ready))
            })
            .buffered(PREPARING);
        let mut declared = HashSet::new();
        // Every event since the checkpoint, in the log's order, with its message's confirm if it published one.
        let mut pending: VecDeque<(Position, Option<JoinHandle<anyhow::Result<()>>>)> = VecDeque::new();
        let mut unconfirmed = 0usize;
        let mut unsaved = 0u32;
        loop {
            let next = if unsaved > 0 || !pending.is_empty() {
                match tokio::time::timeout(Duration::from_millis(200), prepared.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        // Nothing new: wait for every confirm and save the checkpoint.
                        settle(&mut pending, &mut unconfirmed, &mut after, &mut unsaved, true).await?;
                        save_checkpoint(&self.database, after).await?;
                        unsaved = 0;
                        continue;
                    }
                }
            } else {
                prepared.next().await
            };
            let (position, ready) = next.ok_or_else(|| anyhow!("the event feed ended"))??;
            let confirm = match ready {
                Some(ready) => {
                    unconfirmed += 1;
                    Some(self.publish(channel, ready, &mut declared).await?)
                }
                None => None,
            };
            pending.push_back((position, confirm));
            let confirmed = settle(&mut pending, &mut unconfirmed, &mut after, &mut unsaved, false).await?;
            if confirmed || unsaved >= SAVE_EVERY {
                save_checkpoint(&self.database, after).await?;
                unsaved = 0;
            }
        }
    }

    /// What a delivery's message is made of, unless its case has moved on (then `None`; an ettersendelse to a
    /// paper case, or a kommune no longer naming the account, falls back to the mailbox here).
    async fn prepare(
        &self,
        stream: &StreamName,
        leveranse: &LeveranseOpprettet,
        sending: FiksIoSending,
    ) -> anyhow::Result<Option<Klar>> {
        let sak = match Sakshistorikk::read(&self.store, stream, leveranse).await? {
            Historikk::Sendes(sak) => sak,
            Historikk::Ferdig => {
                tracing::debug!(leveranse = %leveranse.leveranse_id, "fiks io: delivery answered or gone before sending");
                return Ok(None);
            }
            Historikk::Papirsak => {
                tracing::info!(leveranse = %leveranse.leveranse_id,
                               "fiks io: an ettersendelse to a paper case has no søknad message to name; to the mailbox");
                fall_back(&self.store, stream, leveranse.leveranse_id, Fallbackgrunn::Papirsak).await?;
                return Ok(None);
            }
        };
        // A fagsystem may answer within milliseconds; its receipt is matched through the mailbox read model, so
        // the message goes out only once that model holds the delivery and its melding-id.
        self.wait_for_mailbox_row(leveranse.leveranse_id).await?;
        let konfigurasjon = {
            let kommune = StreamName::parse(kommune_stream(sak.kommunenummer))?;
            let (state, _, _) = commands::load::<KommuneAggregate>(&self.store, &kommune).await?;
            state.konfigurasjon().cloned()
        };
        let certificate = konfigurasjon
            .filter(|k| k.fiks_io_konto_id == Some(sending.konto_id))
            .and_then(|k| k.fiks_io_sertifikat)
            .and_then(|pem| X509::from_pem(pem.as_bytes()).ok());
        let Some(certificate) = certificate else {
            tracing::warn!(leveranse = %leveranse.leveranse_id, konto = %sending.konto_id,
                           "fiks io: the kommune no longer names this account with a certificate; to the mailbox");
            fall_back(&self.store, stream, leveranse.leveranse_id, Fallbackgrunn::Ukonfigurert).await?;
            return Ok(None);
        };
        let mut filer = Vec::with_capacity(sak.filer.len());
        for info in sak.filer {
            let bytes = self.documents.get(&info.sha512).await.with_context(|| {
                format!(
                    "fiks io: file {} of delivery {} is not readable",
                    info.dokumentlager_dokument_id, leveranse.leveranse_id
                )
            })?;
            filer.push((info, bytes));
        }
        let melding = Utgaende {
            sending,
            leveranse_id: leveranse.leveranse_id,
            leveransetype: leveranse.leveransetype,
            nav_ekstern_ref_id: leveranse.nav_ekstern_ref_id.clone(),
            fiks_digisos_id: sak.fiks_digisos_id,
            soknad_leveranse: sak.soknad_leveranse,
        };
        let signerer = self.kanal.signerer().clone();
        let (melding, body) = tokio::task::spawn_blocking(move || {
            let body = melding.body(&filer, &signerer, &certificate);
            (melding, body)
        })
        .await?;
        let body = body?;
        if body.len() <= dokumentlager::GRENSE {
            return Ok(Some(Klar { body, dokumentlager: None, melding }));
        }
        // Over 5 MB: the body waits in the dokumentlager (before the publish names it) and the message is empty.
        let id = dokumentlager::lagre(&self.database, &self.documents, sending.konto_id, body, self.kanal.deadline())
            .await
            .with_context(|| format!("fiks io: the body of delivery {} cannot be stored", leveranse.leveranse_id))?;
        Ok(Some(Klar { body: Vec::new(), dokumentlager: Some(id), melding }))
    }

    /// `prepared` when it holds; a failure is returned (the session starts again and retries it) until the
    /// delivery has failed [`PREPARE_ATTEMPTS`] times over [`Utsending::give_up_after`]; then it falls back to
    /// the mailbox (`MELDINGSFEIL`) and the publisher goes on with the next.
    async fn or_give_up(
        &self,
        prepared: anyhow::Result<Option<Klar>>,
        stream: &StreamName,
        leveranse_id: LeveranseId,
        failures: &Failures,
    ) -> anyhow::Result<Option<Klar>> {
        let error = match prepared {
            Ok(ready) => {
                if let Ok(mut map) = failures.lock() {
                    map.remove(&leveranse_id);
                }
                return Ok(ready);
            }
            Err(error) => error,
        };
        let (attempts, since) = {
            let mut map = failures.lock().map_err(|_| anyhow!("the failure count is poisoned"))?;
            let entry = map.entry(leveranse_id).or_insert((0, tokio::time::Instant::now()));
            entry.0 += 1;
            *entry
        };
        if attempts < PREPARE_ATTEMPTS || since.elapsed() < self.give_up_after {
            return Err(error);
        }
        tracing::error!(leveranse = %leveranse_id, attempts, error = format!("{error:#}"),
                        "fiks io: the message cannot be built; the delivery goes to the mailbox");
        fall_back(&self.store, stream, leveranse_id, Fallbackgrunn::Meldingsfeil).await?;
        if let Ok(mut map) = failures.lock() {
            map.remove(&leveranse_id);
        }
        Ok(None)
    }

    /// Publishes a built message; the task that resolves once the broker confirmed it (an error if it did not
    /// within [`CONFIRM_WAIT`], or refused it).
    async fn publish(
        &self,
        channel: &Channel,
        Klar { body, dokumentlager, melding }: Klar,
        declared: &mut HashSet<Uuid>,
    ) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
        let sending = melding.sending;
        let queue = queue_name(sending.konto_id);
        if !declared.contains(&sending.konto_id) {
            declare_account_queue(channel, sending.konto_id).await?;
            declared.insert(sending.konto_id);
        }
        let properties = melding.properties(self.kanal.konto_id(), self.kanal.deadline(), dokumentlager);
        let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
        let confirm = channel.basic_publish("".into(), queue.as_str().into(), options, &body, properties).await?;
        let (leveranse, bytes) = (melding.leveranse_id, body.len());
        Ok(tokio::spawn(async move {
            // A broker under a memory alarm, or a half-open connection, never confirms: start a new session
            // instead.
            let confirmation = tokio::time::timeout(CONFIRM_WAIT, confirm)
                .await
                .map_err(|_| anyhow!("the broker did not confirm the message for {queue} within {CONFIRM_WAIT:?}"))??;
            match confirmation {
                Confirmation::Ack(None) => {}
                Confirmation::Ack(Some(_)) => bail!("the broker could not route the message to {queue}"),
                Confirmation::Nack(_) => bail!("the broker refused the message for {queue}"),
                Confirmation::NotRequested => bail!("publisher confirms are off on the channel"),
            }
            tracing::info!(leveranse = %leveranse, melding = %sending.melding_id, konto = %sending.konto_id, bytes,
                           "fiks io: delivery published");
            crate::metrics::record_fiks_io_published();
            Ok(())
        }))
    }

    /// Waits until the mailbox read model has the delivery's row (a few milliseconds behind the log); an error
    /// after [`READ_MODEL_WAIT`], so the session restarts and the delivery is tried again.
    async fn wait_for_mailbox_row(&self, leveranse_id: LeveranseId) -> anyhow::Result<()> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            if read_leveranse(&self.read, &leveranse_id.0.to_string()).await?.is_some() {
                return Ok(());
            }
            if started.elapsed() > READ_MODEL_WAIT {
                bail!("the mailbox read model has not seen delivery {} yet", leveranse_id.0);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Falls back every dead-lettered delivery to the mailbox, with the broker's reason.
    async fn dead_letters(&self, mut consumer: lapin::Consumer) -> anyhow::Result<()> {
        while let Some(delivery) = consumer.next().await {
            let delivery = delivery?;
            let headers = delivery.properties.headers().clone().unwrap_or_default();
            let grunn = dead_letter_reason(&headers);
            let leveranse_id = long_string(&headers, &format!("{EGENDEFINERT}klientMeldingId"))
                .and_then(|id| Uuid::parse_str(&id).ok());
            let Some(id) = leveranse_id else {
                tracing::warn!("fiks io: a dead letter without klientMeldingId was dropped");
                delivery.ack(BasicAckOptions::default()).await?;
                continue;
            };
            let Some(row) = read_leveranse(&self.read, &id.to_string()).await? else {
                // The mailbox read model has not seen the delivery yet: try again shortly.
                tokio::time::sleep(Duration::from_millis(500)).await;
                delivery.nack(BasicNackOptions { requeue: true, ..BasicNackOptions::default() }).await?;
                continue;
            };
            let sak = FiksDigisosId::parse(&row.fiks_digisos_id)?;
            let stream = StreamName::parse(sak_stream(sak))?;
            fall_back(&self.store, &stream, LeveranseId(id), grunn).await?;
            delivery.ack(BasicAckOptions::default()).await?;
        }
        bail!("the dead-letter consumer was cancelled")
    }
}

impl Utsending {
    /// Declares the queue of every configured account at once (a fagsystem may start consuming before its first
    /// message) and then every [`WATCH_EVERY`], recording each queue's waiting messages and consumers, and
    /// warning about an account nobody listens on (Fiks Forvaltning's "mangler kobling"); then deletes the
    /// dokumentlager bodies whose time is up.
    async fn watch_accounts(&self, connection: &Connection) -> anyhow::Result<()> {
        let mut ticker = tokio::time::interval(WATCH_EVERY);
        loop {
            ticker.tick().await;
            let kommuner = digisos_projections::kommune::alle_kommuner(&self.read).await?;
            let mut channel = connection.create_channel().await?;
            for info in kommuner {
                let Some(konto) = info.konfigurasjon.fiks_io_konto_id else { continue };
                let queue = match declare_account_queue(&channel, konto).await {
                    Ok(queue) => queue,
                    Err(e) => {
                        // One account's queue that cannot be declared (say, declared by hand with other
                        // arguments) must not stop the others, nor publishing: say so, and go on with a new
                        // channel (the broker closed this one).
                        tracing::error!(konto = %konto, kommune = %info.kommunenummer, error = format!("{e:#}"),
                                        "fiks io: the account's queue cannot be declared");
                        channel = connection.create_channel().await?;
                        continue;
                    }
                };
                let (messages, consumers) = (queue.message_count(), queue.consumer_count());
                crate::metrics::record_fiks_io_account(&konto.to_string(), messages, consumers);
                if consumers == 0 {
                    tracing::warn!(konto = %konto, kommune = %info.kommunenummer, messages,
                                   "fiks io: no consumer on the account's queue (mangler kobling)");
                }
            }
            let _ = channel.close(200, "account watch done".into()).await;
            match dokumentlager::rydd(&self.database, &self.documents, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(bodies = n, "fiks io: expired dokumentlager bodies deleted"),
                Err(e) => tracing::warn!(error = format!("{e:#}"), "fiks io: the dokumentlager sweep failed"),
            }
        }
    }
}

/// How often the account queues are looked at.
const WATCH_EVERY: Duration = Duration::from_secs(15);

/// Declares the account's queue as the hub sets every account up.
pub async fn declare_account_queue(channel: &Channel, konto_id: Uuid) -> lapin::Result<lapin::Queue> {
    let durable = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    channel.queue_declare(queue_name(konto_id).into(), durable, account_queue_arguments()).await
}

/// The arguments of an account queue.
pub fn account_queue_arguments() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    // A quorum queue dead-letters a message returned more than this many times: with 2, the third failed
    // delivery is the last.
    args.insert("x-delivery-limit".into(), AMQPValue::LongInt(i32::try_from(DELIVERY_ATTEMPTS - 1).unwrap_or(2)));
    args.insert("x-dead-letter-exchange".into(), AMQPValue::LongString("".into()));
    args.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(DEAD_LETTER_QUEUE.into()));
    args
}

/// A message built and ready to publish.
struct Klar {
    /// The body (empty when it is in the dokumentlager).
    body: Vec<u8>,
    /// The body's `dokumentlager-id`, when it is over [`dokumentlager::GRENSE`].
    dokumentlager: Option<Uuid>,
    melding: Utgaende,
}

/// Moves `after` past the events at the front of `pending` whose messages are confirmed (all of them, waiting,
/// when `wait`; otherwise at least one when [`UNCONFIRMED`] are outstanding, and then those already done);
/// whether a confirmed message was passed. A refused or unconfirmed message is an error (the session restarts
/// from the checkpoint, which has not moved past it).
async fn settle(
    pending: &mut VecDeque<(Position, Option<JoinHandle<anyhow::Result<()>>>)>,
    unconfirmed: &mut usize,
    after: &mut Option<Position>,
    unsaved: &mut u32,
    wait: bool,
) -> anyhow::Result<bool> {
    let mut confirmed = false;
    let mut must_wait = wait || *unconfirmed >= UNCONFIRMED;
    while let Some((position, confirm)) = pending.front_mut() {
        if let Some(task) = confirm {
            if !must_wait && !task.is_finished() {
                break;
            }
            task.await??;
            *unconfirmed -= 1;
            confirmed = true;
            must_wait = wait;
        } else {
            *unsaved += 1;
        }
        *after = Some(*position);
        pending.pop_front();
    }
    Ok(confirmed)
}

/// The delivery and its Fiks IO message, when `event` creates one.
fn fiks_io_delivery(event: &RecordedEvent) -> Option<(LeveranseOpprettet, FiksIoSending)> {
    if !event.event_type.starts_with("LeveranseOpprettet.") || sak_id_of_stream(event.stream.as_str()).is_none() {
        return None;
    }
    match SakEvent::decode(&event.event_type, &event.data) {
        Ok(SakEvent::LeveranseOpprettet(l)) => l.fiks_io.map(|s| (l, s)),
        _ => None,
    }
}

/// What the publisher needs of a case's history for one delivery.
/// What the case's stream says of a delivery about to be published.
enum Historikk {
    /// Still waiting: publish it.
    Sendes(Sakshistorikk),
    /// Answered, fallen back or erased: skip it.
    Ferdig,
    /// An ettersendelse to a paper case (no søknad message): the mailbox takes it.
    Papirsak,
}

struct Sakshistorikk {
    fiks_digisos_id: FiksDigisosId,
    kommunenummer: digisos_schema::types::Kommunenummer,
    /// Nav's files of the søknad or ettersendelse the delivery carries, in Nav's order.
    filer: Vec<DokumentInfo>,
    /// For an ettersendelse: how the case's søknad went.
    soknad_leveranse: Option<SoknadLeveranse>,
}

impl Sakshistorikk {
    /// What the case's history says of `leveranse`: publish it (with what it carries), skip it (answered, fallen
    /// back, or the case erased), or hand it to the mailbox (an ettersendelse to a paper case).
    async fn read(
        store: &DynEventStore,
        stream: &StreamName,
        leveranse: &LeveranseOpprettet,
    ) -> anyhow::Result<Historikk> {
        let events = store.read_stream(stream, 0, usize::MAX).await?;
        let mut soknad = None;
        let mut filer = Vec::new();
        let mut soknad_leveranse = None;
        let mut waiting = false;
        let mut papirsak = false;
        for event in &events {
            let decoded = SakEvent::decode(&event.event_type, &event.data)?;
            match decoded {
                SakEvent::SoknadMottatt(s) => {
                    if s.nav_ekstern_ref_id == leveranse.nav_ekstern_ref_id {
                        filer = [s.metadata.clone(), s.vedlegg_metadata.clone(), s.soknad_dokument.clone()]
                            .into_iter()
                            .chain(s.vedlegg.iter().cloned())
                            .collect();
                    }
                    soknad = Some((s.fiks_digisos_id, s.kommunenummer));
                }
                SakEvent::PapirsakOpprettet(p) => {
                    soknad = Some((p.fiks_digisos_id, p.kommunenummer));
                    papirsak = true;
                }
                SakEvent::EttersendelseMottatt(e) if e.nav_ekstern_ref_id == leveranse.nav_ekstern_ref_id => {
                    filer = std::iter::once(e.vedlegg_metadata).chain(e.vedlegg).collect();
                }
                SakEvent::LeveranseOpprettet(l) => {
                    if l.leveranse_id == leveranse.leveranse_id {
                        waiting = true;
                    }
                    if l.leveransetype == Leveransetype::Soknad && soknad_leveranse.is_none() {
                        let id = l.fiks_io.map_or(l.leveranse_id.0, |f| f.melding_id);
                        soknad_leveranse = Some(SoknadLeveranse { sendt_kanal: "FIKS_IO", id });
                    }
                }
                SakEvent::LeveranseKvittert(k) if k.leveranse_id == leveranse.leveranse_id => waiting = false,
                SakEvent::LeveranseAvvist(a) if a.leveranse_id == leveranse.leveranse_id => waiting = false,
                SakEvent::LeveranseTilMottak(t) if t.leveranse_id == leveranse.leveranse_id => waiting = false,
                SakEvent::SakSlettet(_) => return Ok(Historikk::Ferdig),
                _ => {}
            }
        }
        let Some((fiks_digisos_id, kommunenummer)) = soknad else { return Ok(Historikk::Ferdig) };
        if !waiting {
            return Ok(Historikk::Ferdig);
        }
        let ettersendelse = leveranse.leveransetype == Leveransetype::Ettersendelse;
        if ettersendelse && papirsak && soknad_leveranse.is_none() {
            return Ok(Historikk::Papirsak);
        }
        let soknad_leveranse = ettersendelse.then_some(soknad_leveranse).flatten();
        Ok(Historikk::Sendes(Self { fiks_digisos_id, kommunenummer, filer, soknad_leveranse }))
    }
}

/// Hands a Fiks IO delivery over to the mailbox; a case that refuses (gone, or no such delivery) is left alone.
pub async fn fall_back(
    store: &DynEventStore,
    stream: &StreamName,
    leveranse_id: LeveranseId,
    grunn: Fallbackgrunn,
) -> anyhow::Result<()> {
    let command = SakCommand::FallBackToMailbox(FallBackToMailbox {
        leveranse_id,
        grunn,
        tidspunkt: Tidspunkt::from_instant(chrono::Utc::now()),
    });
    match commands::execute::<SakAggregate>(store, stream, command, commands::metadata("fiks-io", None)).await {
        Ok(outcome) if outcome.appended > 0 => {
            tracing::warn!(leveranse = %leveranse_id, grunn = ?grunn, "fiks io: delivery fell back to the mailbox");
            crate::metrics::record_fiks_io_fallback(grunn);
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(CommandError::Rejected(rejection)) => {
            tracing::debug!(leveranse = %leveranse_id, reason = rejection.message(), "fiks io: no fallback");
            Ok(())
        }
        Err(other) => Err(other.into()),
    }
}

/// The broker's reason for dead-lettering (`x-first-death-reason`, else the first `x-death` entry).
fn dead_letter_reason(headers: &FieldTable) -> Fallbackgrunn {
    let reason = long_string(headers, "x-first-death-reason").or_else(|| {
        let Some(AMQPValue::FieldArray(deaths)) = headers.inner().get("x-death") else { return None };
        deaths.as_slice().iter().find_map(|death| match death {
            AMQPValue::FieldTable(t) => long_string(t, "reason"),
            _ => None,
        })
    });
    match reason.as_deref() {
        Some("expired") => Fallbackgrunn::Utlopt,
        Some("rejected") => Fallbackgrunn::Avvist,
        _ => Fallbackgrunn::Leveringsgrense,
    }
}

/// A header's value as text, when it is a long string.
pub fn long_string(headers: &FieldTable, name: &str) -> Option<String> {
    match headers.inner().get(name) {
        Some(AMQPValue::LongString(s)) => String::from_utf8(s.as_bytes().to_vec()).ok(),
        Some(AMQPValue::ShortString(s)) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

async fn load_checkpoint(database: &Database) -> anyhow::Result<Option<Position>> {
    const SQL: &str = "SELECT commit_pos, prepare_pos FROM fiksio_utsending WHERE name = $1";
    let row: Option<(i64, i64)> = match database {
        Database::Postgres(pool) => sqlx::query_as(SQL).bind(NAME).fetch_optional(pool).await?,
        Database::Sqlite { write, .. } => sqlx::query_as(SQL).bind(NAME).fetch_optional(write).await?,
    };
    Ok(row.map(|(c, p)| Position::new(c.max(0) as u64, p.max(0) as u64)))
}

async fn save_checkpoint(database: &Database, at: Option<Position>) -> anyhow::Result<()> {
    const SQL: &str = "INSERT INTO fiksio_utsending (name, commit_pos, prepare_pos) VALUES ($1, $2, $3)
                       ON CONFLICT (name) DO UPDATE SET commit_pos = excluded.commit_pos,
                                                       prepare_pos = excluded.prepare_pos";
    let Some(at) = at else { return Ok(()) };
    let (c, p) = (i64::try_from(at.commit)?, i64::try_from(at.prepare)?);
    match database {
        Database::Postgres(pool) => {
            sqlx::query(SQL).bind(NAME).bind(c).bind(p).execute(pool).await?;
        }
        Database::Sqlite { write, .. } => {
            sqlx::query(SQL).bind(NAME).bind(c).bind(p).execute(write).await?;
        }
    }
    Ok(())
}
