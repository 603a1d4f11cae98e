//! Conformance of the all-events feed and of durability: order, no skipped or repeated event under concurrent
//! slow writers, prompt wake-ups, and acknowledged appends surviving a killed process.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;
use uuid::Uuid;

use super::{HANG, assert_feed_order, event, feed_end, read_feed, unique_stream};
use crate::eventstore::ExpectedRevision::{Any, Exact, NoStream};
use crate::eventstore::{DynEventStore, RecordedEvent, StoreError, StreamName, SubscriptionOptions, subscribe_all};

/// In the feed, each stream's events follow in revision order, positions strictly increase, and each append's
/// result carries the position of its last event.
pub async fn feed_keeps_each_stream_in_revision_order(new_store: impl AsyncFnOnce() -> DynEventStore) {
    let store = new_store().await;
    let start = feed_end(&store).await;
    let prefix = format!("order{}", Uuid::new_v4().simple());
    let streams: Vec<StreamName> = (0..3).map(|i| unique_stream(&format!("{prefix}-{i}"))).collect();
    let mut last_positions = HashSet::new();
    let mut total = 0;
    for round in 0..10u64 {
        for (i, stream) in streams.iter().enumerate() {
            let count = 1 + (round as usize + i) % 3;
            let batch = (0..count as u64).map(|n| event("Ordered", round * 10 + n)).collect();
            match store.append(stream, Any, batch).await {
                Ok(result) => last_positions.insert(result.position),
                Err(e) => panic!("append failed: {e}"),
            };
            total += count;
        }
    }
    let events = read_feed(&store, start, 4, &prefix, total).await;
    assert_eq!(assert_feed_order(&events, &prefix, "paged feed"), total, "every event is in the feed once");
    let positions: HashSet<_> = events.iter().map(|e| e.position).collect();
    assert!(last_positions.is_subset(&positions), "append results point at events in the feed");
}

/// Many writers whose commits finish out of order (the backend's factory may make each append linger inside
/// its transaction), while subscribers follow the feed: every subscriber sees every event exactly once, in an
/// order that keeps each stream's revisions.
pub async fn subscribers_miss_nothing_while_writers_commit_out_of_order(
    new_store: impl AsyncFnOnce() -> DynEventStore,
) {
    const WRITERS: u64 = 16;
    const APPENDS: u64 = 20;
    let store = new_store().await;
    let start = feed_end(&store).await;
    let prefix = format!("torture{}", Uuid::new_v4().simple());
    let shared = unique_stream(&format!("{prefix}-shared"));
    let options = SubscriptionOptions { batch_size: 7, buffer: 16, poll_interval: Duration::from_millis(200) };

    let (target_tx, target) = watch::channel(usize::MAX);
    let follow = |after| {
        tokio::spawn(collect_until(
            subscribe_all(store.clone(), after, options.clone()),
            prefix.clone(),
            target.clone(),
        ))
    };
    let mut followers = vec![follow(start), follow(start)];
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (store, shared, own) = (store.clone(), shared.clone(), unique_stream(&format!("{prefix}-w{w}")));
        writers.push(tokio::spawn(async move {
            let (mut written, mut own_next) = (0, 0);
            for n in 0..APPENDS {
                let (count, pause, to_shared) = {
                    let mut rng = rand::thread_rng();
                    (rng.gen_range(1..=3u64), rng.gen_range(0..5u64), rng.gen_bool(0.25))
                };
                let batch = (0..count).map(|i| event(&format!("W{w}"), n * 10 + i)).collect();
                // Own streams check expected revisions under load; the shared one makes writers queue on it.
                let (stream, expected) = match (to_shared, own_next) {
                    (true, _) => (&shared, Any),
                    (false, 0) => (&own, NoStream),
                    (false, next) => (&own, Exact(next - 1)),
                };
                let result = store.append(stream, expected, batch).await;
                let result = result.unwrap_or_else(|e| panic!("writer {w} append {n} failed: {e}"));
                if !to_shared {
                    own_next = result.next_revision + 1;
                }
                written += count as usize;
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            written
        }));
    }
    // One more subscriber joins while the writers are busy.
    tokio::time::sleep(Duration::from_millis(50)).await;
    followers.push(follow(start));
    let mut written = 0;
    for writer in writers {
        written += writer.await.unwrap_or_else(|e| panic!("writer task failed: {e}"));
    }

    let expected = read_feed(&store, start, 1000, &prefix, written).await;
    assert_eq!(assert_feed_order(&expected, &prefix, "feed after the writers"), written, "the feed has every event");
    let ids: Vec<_> = expected.iter().filter(|e| e.stream.as_str().starts_with(&prefix)).map(|e| e.event_id).collect();
    let _ = target_tx.send(written);
    for (i, follower) in followers.into_iter().enumerate() {
        let seen = follower.await.unwrap_or_else(|e| panic!("subscriber {i} failed: {e}"));
        let who = format!("subscriber {i}");
        assert_eq!(assert_feed_order(&seen, &prefix, &who), written, "{who} saw every event");
        let seen_ids: Vec<_> =
            seen.iter().filter(|e| e.stream.as_str().starts_with(&prefix)).map(|e| e.event_id).collect();
        assert_eq!(seen_ids, ids, "{who} saw the feed in the store's order");
    }
}

/// Reads a subscription until it delivered `target` events of `prefix`'s streams (panics if it hangs).
async fn collect_until(
    subscription: impl futures::Stream<Item = Result<RecordedEvent, StoreError>>,
    prefix: String,
    mut target: watch::Receiver<usize>,
) -> Vec<RecordedEvent> {
    let mut subscription = std::pin::pin!(subscription);
    let mut seen = Vec::new();
    let mut ours = 0;
    loop {
        if ours >= *target.borrow_and_update() {
            return seen;
        }
        tokio::select! {
            item = subscription.next() => match item {
                Some(Ok(e)) => {
                    ours += usize::from(e.stream.as_str().starts_with(&prefix));
                    seen.push(e);
                }
                Some(Err(e)) => panic!("subscription failed: {e}"),
                None => panic!("subscription ended after {ours} events"),
            },
            _ = target.changed() => {}
            () = tokio::time::sleep(HANG) => panic!("subscription stalled after {ours} events"),
        }
    }
}

/// A subscriber whose fallback poll is an hour away still gets each new event: the store wakes it.
pub async fn subscriber_is_woken_by_appends(new_store: impl AsyncFnOnce() -> DynEventStore) {
    let store = new_store().await;
    let start = feed_end(&store).await;
    let options = SubscriptionOptions { poll_interval: Duration::from_secs(3600), ..SubscriptionOptions::default() };
    let mut subscription = std::pin::pin!(subscribe_all(store.clone(), start, options));
    let stream = unique_stream("wake");
    for n in 0..5 {
        // Give the subscriber time to drain the feed and fall asleep, so the event must wake it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let expected = if n == 0 { NoStream } else { Exact(n - 1) };
        let appended = store.append(&stream, expected, vec![event("Wake", n)]).await;
        let appended = appended.unwrap_or_else(|e| panic!("append failed: {e}"));
        loop {
            match tokio::time::timeout(HANG, subscription.next()).await {
                Ok(Some(Ok(e))) if e.position == appended.position => break,
                Ok(Some(Ok(_))) => {}
                other => panic!("subscriber was not woken for event {n}: {other:?}"),
            }
        }
    }
}

/// Runs the append loop the durability check drives: appends one event at a time to `stream` and prints each
/// acknowledged revision on its own line, flushed before the next append. Stops after `count` appends if given.
pub async fn append_loop(
    store: DynEventStore,
    stream: &StreamName,
    count: Option<u64>,
    out: &mut impl Write,
) -> Result<(), StoreError> {
    let mut n = 0;
    while count.is_none_or(|c| n < c) {
        let result = store.append(stream, Any, vec![event("DurabilityProbe", n)]).await?;
        writeln!(out, "{}", result.next_revision)
            .and_then(|()| out.flush())
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        n += 1;
    }
    Ok(())
}

/// Every append a process acknowledged survives killing that process (SIGKILL) in the middle of appending.
///
/// `binary` is the `digisos` executable (`env!("CARGO_BIN_EXE_digisos")`); it runs `debug-append-loop` against
/// `database_url`, which must already be migrated. The factory opens the store the check reads back with.
pub async fn acknowledged_appends_survive_a_killed_process(
    binary: &Path,
    database_url: &str,
    new_store: impl AsyncFnOnce() -> DynEventStore,
) {
    const ACKNOWLEDGED: u64 = 200;
    let stream = unique_stream("durable");
    let mut child = tokio::process::Command::new(binary)
        .args(["debug-append-loop", "--database-url", database_url, "--stream", stream.as_str()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let Some(stdout) = child.stdout.take() else { panic!("child has no stdout") };
    let mut lines = BufReader::new(stdout).lines();
    let mut acknowledged = Vec::new();
    while (acknowledged.len() as u64) < ACKNOWLEDGED {
        match tokio::time::timeout(HANG, lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                acknowledged.push(line.trim().parse::<u64>().unwrap_or_else(|e| panic!("{line:?}: {e}")))
            }
            other => panic!("append loop stopped after {} acknowledgements: {other:?}", acknowledged.len()),
        }
    }
    // SIGKILL on Unix: no clean shutdown, whatever was in flight is cut off.
    child.kill().await.unwrap_or_else(|e| panic!("cannot kill the append loop: {e}"));
    // Lines printed before the kill are acknowledged too.
    while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await {
        if let Ok(revision) = line.trim().parse() {
            acknowledged.push(revision);
        }
    }
    let _ = child.wait().await;

    let store = new_store().await;
    let stored: HashMap<u64, RecordedEvent> = store
        .read_stream(&stream, 0, usize::MAX)
        .await
        .unwrap_or_else(|e| panic!("read back failed: {e}"))
        .into_iter()
        .map(|e| (e.revision, e))
        .collect();
    let lost: Vec<_> = acknowledged.iter().filter(|r| !stored.contains_key(r)).collect();
    assert!(lost.is_empty(), "acknowledged revisions lost after the kill: {lost:?}");
    let expected: Vec<u64> = (0..acknowledged.len() as u64).collect();
    assert_eq!(acknowledged, expected, "each acknowledgement is the next revision");
}

/// Appends one event at a time from `writers` concurrent tasks, each to a stream of its own with an exact
/// expected revision, for `duration`; returns the appends per second. A measurement for benchmarks, not a check.
pub async fn measure_append_rate(store: &DynEventStore, writers: usize, duration: Duration) -> f64 {
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let stream = unique_stream(&format!("rate-w{w}"));
                let mut n = 0;
                while started.elapsed() < duration {
                    let expected = if n == 0 { NoStream } else { Exact(n - 1) };
                    if let Err(e) = store.append(&stream, expected, vec![event("Rate", n)]).await {
                        panic!("append failed while measuring: {e}");
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap_or_else(|e| panic!("writer failed: {e}"));
    }
    total as f64 / started.elapsed().as_secs_f64()
}
