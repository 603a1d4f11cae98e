//! The rustls trap of `eventstore` 4.0, and how the backend stays clear of it.
//!
//! What the crate does (`grpc.rs`, `NodeConnection::new`): the first time any client's connection task starts, it
//! runs, inside a `std::sync::Once`,
//! `rustls::crypto::aws_lc_rs::default_provider().install_default().expect("failed to install rustls crypto
//! provider")`. `install_default` fails when the process already has a default provider, so if anything installed
//! one first, that `expect` panics. The panic happens in a spawned tokio task, not in the caller: the task dies,
//! the `Once` is poisoned (every later client's task panics too), and every call on every client answers
//! `ConnectionClosed` forever. The crate needs *some* default: rustls here is built with both the `ring` and the
//! `aws_lc_rs` features, so `ClientConfig::builder()` cannot pick a provider on its own.
//!
//! What the rest of the process does: sqlx (`tls-rustls-ring-webpki`) and reqwest 0.13 build their TLS
//! configurations with an explicit provider (`builder_with_provider`) and never install a default, so using them
//! first is harmless. The trap is sprung only by code that calls `CryptoProvider::install_default` itself.
//!
//! So [`prepare`] lets the crate install its provider while none is installed, once per process, before the first
//! real client is made; code elsewhere that wants a default provider must tolerate one being there already
//! (`let _ = provider.install_default();`). When something did install a provider first, [`prepare`] says so with
//! a typed error, and no client is ever created (so nothing panics).

use std::sync::OnceLock;
use std::time::Duration;

use eventstore::{Client, ClientSettings};
use rustls::crypto::CryptoProvider;

use crate::eventstore::StoreError;

/// With one discovery attempt the crate gives up before it ever connects, so the probe sends nothing anywhere
/// (and the port is one nothing listens on, should that change).
const PROBE_URL: &str = "esdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=1";

/// How long the probe may take (it needs no network, so milliseconds).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

static PREPARED: OnceLock<Result<(), String>> = OnceLock::new();

/// Lets `eventstore` install its rustls crypto provider now, while the process has none; idempotent.
///
/// Call it early in `main` when an EventStoreDB may be used; [`EsdbStore::connect`](super::EsdbStore::connect)
/// calls it too. It blocks for a few milliseconds (a private runtime on a private thread), so it works from
/// synchronous and asynchronous callers alike; async code should call it through `spawn_blocking`.
pub fn prepare() -> Result<(), StoreError> {
    PREPARED.get_or_init(install_through_the_crate).clone().map_err(StoreError::Backend)
}

fn install_through_the_crate() -> Result<(), String> {
    if CryptoProvider::get_default().is_some() {
        return Err("a rustls crypto provider was installed in this process before the EventStoreDB client was \
                    created; eventstore 4.0 would panic in its connection task. Call \
                    fiks_digisos::eventstore::esdb::prepare_tls() before anything installs a provider"
            .into());
    }
    std::thread::scope(|scope| {
        scope.spawn(probe).join().unwrap_or_else(|_| Err("the EventStoreDB TLS probe thread panicked".into()))
    })
}

/// Creates a throw-away client and makes one call, which waits for its connection task: that task installs the
/// provider first thing, then gives up discovering a node. A dead task (the crate's `expect` panicked after all,
/// or the platform certificates could not be read) shows as `ConnectionClosed`.
fn probe() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the EventStoreDB TLS probe: {e}"))?;
    runtime.block_on(async {
        let settings: ClientSettings = PROBE_URL.parse().map_err(|e| format!("probe settings: {e}"))?;
        let client = Client::new(settings).map_err(|e| format!("cannot create an EventStoreDB client: {e}"))?;
        match tokio::time::timeout(PROBE_TIMEOUT, client.server_info()).await {
            Ok(Err(eventstore::Error::ConnectionClosed)) => Err("the EventStoreDB client's connection task \
                 stopped at start (a crypto provider installed meanwhile, or unreadable platform certificates)"
                .to_string()),
            _ if CryptoProvider::get_default().is_none() => {
                Err("the EventStoreDB client did not install a crypto provider".to_string())
            }
            _ => Ok(()),
        }
    })
}
