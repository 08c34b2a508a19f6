//! The hub's fan-out to followers (protocol-06 §5.5, `notify`): every device of another
//! provider in a room hosted here is delivered to like a local device, its provider taking
//! its Welcomes and entries in its place. The hub's record of what each such device has (its
//! place in each room's log, its inbox) moves on only when the device's provider answers
//! 201, so a provider that is down gets everything when it returns, in order; one that
//! took a fanout without the hub hearing it gets it again, and keeps it once (decision
//! 0015).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mimi_policy::id::ClientId;
use mimi_protocol::codec::{Mls, MlsMessage};
use mimi_protocol::submit::{FanoutBody, FanoutMessage, encode_fanout};
use mimi_protocol::update::RatchetTreeOption;
use mimi_store::prelude::*;
use mimi_store::{InboxKind, LogEntry};

use super::rooms::{MIMI_CLIENT, MIMI_SENDERS, MIMI_SEQ, fanout_of, header_value, now_ms};
use crate::error::ApiError;
use crate::state::AppState;

/// Most entries in one notify.
const BATCH: u32 = 100;

/// How long a peer that failed is left alone, at most.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Most bytes of MLS messages in one notify: well under a peer's request limit.
const BATCH_BYTES: usize = 1 << 20;

/// When each failing peer (by domain) or device (by URI) is tried again, and how long it
/// waited last.
type Backoff = HashMap<String, (Instant, Duration)>;

/// Why a push did not go through.
enum Failure {
    /// The peer could not be reached: leave the whole peer alone for a while.
    Unreachable(String),
    /// The peer refused this device's fanout: leave the device alone for a while, not the
    /// peer's other devices.
    Refused(String),
    /// This provider's own problem (its database).
    Here(ApiError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self::Here(e)
    }
}

impl From<mimi_store::StoreError> for Failure {
    fn from(e: mimi_store::StoreError) -> Self {
        Self::Here(e.into())
    }
}

impl From<super::PeerError> for Failure {
    fn from(e: super::PeerError) -> Self {
        match e {
            super::PeerError::Unreachable { .. } => Self::Unreachable(e.to_string()),
            super::PeerError::Refused { .. } => Self::Refused(e.to_string()),
        }
    }
}

/// Pushes until the provider stops: at once when this process stores something, at least
/// every second (another process may have), and what failed less and less often.
pub async fn run(state: AppState) {
    let wake = state.wakes.subscribe(None);
    let mut backoff = Backoff::new();
    loop {
        match push_once(&state, &mut backoff).await {
            // More may be waiting (a full batch): go on at once.
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "pushing to peers"),
        }
        tokio::select! {
            _ = tokio::time::timeout(Duration::from_secs(1), wake.wait()) => {}
            () = state.stopped() => return,
        }
    }
}

fn waiting(backoff: &Backoff, key: &str) -> bool {
    backoff
        .get(key)
        .is_some_and(|(until, _)| Instant::now() < *until)
}

fn back_off(backoff: &mut Backoff, key: String) -> Duration {
    let wait = backoff
        .get(&key)
        .map_or(Duration::from_millis(200), |(_, w)| {
            (*w * 2).min(MAX_BACKOFF)
        });
    backoff.insert(key, (Instant::now() + wait, wait));
    wait
}

/// One round over the devices of other providers, the peers side by side (a slow peer
/// holds up only its own devices); true if some device had more than a batch.
async fn push_once(state: &AppState, backoff: &mut Backoff) -> Result<bool, ApiError> {
    let Some(peers) = state.peers.clone() else {
        return Ok(false);
    };
    let mut by_peer: std::collections::BTreeMap<String, Vec<ClientId>> = Default::default();
    for client in state
        .store
        .foreign_recipients(state.domain.domain())
        .await?
    {
        let domain = client.user().domain().to_owned();
        if !waiting(backoff, &domain) && !waiting(backoff, &client.to_string()) {
            by_peer.entry(domain).or_default().push(client);
        }
    }
    let rounds = by_peer.into_iter().map(|(domain, clients)| {
        let peers = peers.clone();
        async move {
            let mut more = false;
            let mut failures = Vec::new();
            for client in clients {
                match push_client(state, &peers, &client).await {
                    Ok(full) => more |= full,
                    Err(Failure::Unreachable(why)) => {
                        failures.push((domain.clone(), why));
                        break;
                    }
                    Err(Failure::Refused(why)) => failures.push((client.to_string(), why)),
                    Err(Failure::Here(e)) => {
                        tracing::warn!(peer = %domain, error = %e, "pushing to a peer");
                    }
                }
            }
            (more, failures)
        }
    });
    let mut more = false;
    for (full, failures) in futures_util::future::join_all(rounds).await {
        more |= full;
        for (key, why) in failures {
            let wait = back_off(backoff, key.clone());
            tracing::info!(%key, error = %why, retry_in = ?wait, "a peer did not take its fanout");
        }
    }
    // What went through is tried again at once next time.
    backoff.retain(|_, (until, _)| Instant::now() < *until + MAX_BACKOFF);
    Ok(more)
}

/// Splits a room's entries into notifies of at most [`BATCH_BYTES`] (one entry each at
/// least).
fn chunks(run: Vec<LogEntry>) -> Vec<Vec<LogEntry>> {
    let mut out: Vec<Vec<LogEntry>> = Vec::new();
    let mut size = 0;
    for e in run {
        let len = e.body.len() + e.sender.len() + 16;
        match out.last_mut() {
            Some(chunk) if size + len <= BATCH_BYTES => {
                size += len;
                chunk.push(e);
            }
            _ => {
                size = len;
                out.push(vec![e]);
            }
        }
    }
    out
}

/// Pushes `client`'s Welcomes and pending entries to its provider; true if it had more
/// entries than a batch.
async fn push_client(
    state: &AppState,
    peers: &super::Peers,
    client: &ClientId,
) -> Result<bool, Failure> {
    // Welcomes first, as a local device gets them. One still waiting for its ratchet tree
    // holds back the Welcomes after it, and their rooms' entries with its own.
    let mut held = std::collections::BTreeSet::new();
    for item in state.store.inbox(client, 0).await? {
        if item.kind != InboxKind::Welcome {
            continue;
        }
        let Some(room) = item.room.clone() else {
            continue;
        };
        let tree = match item.ratchet_tree.clone() {
            Some(tree) if held.is_empty() => tree,
            _ => {
                held.insert(room);
                continue;
            }
        };
        let fanout = FanoutMessage {
            timestamp: now_ms(),
            body: FanoutBody::Welcome {
                message: Mls::<MlsMessage>::new(item.body.clone()).map_err(encoding)?,
                ratchet_tree: RatchetTreeOption::Full(Mls::new(tree).map_err(encoding)?),
            },
        };
        let body = encode_fanout(&[fanout]).map_err(encoding)?;
        // A Welcome's number is its place in the hub's inbox, which only grows.
        notify(
            peers,
            client,
            &room,
            vec![(MIMI_SEQ, item.id.to_string())],
            body,
        )
        .await?;
        state.store.ack_inbox_items(client, &[item.id]).await?;
    }
    let pending = state.store.pending(client, BATCH).await?;
    let full = pending.len() == BATCH as usize;
    let mut by_room: Vec<Vec<LogEntry>> = Vec::new();
    for e in pending {
        if held.contains(&e.room) {
            continue;
        }
        match by_room.last_mut() {
            Some(run) if run[0].room == e.room => run.push(e),
            _ => by_room.push(vec![e]),
        }
    }
    for run in by_room.into_iter().flat_map(chunks) {
        let room = run[0].room.clone();
        let (first, last) = (run[0].seq, run[run.len() - 1].seq);
        let (body, senders) = fanout_of(&run)?;
        notify(
            peers,
            client,
            &room,
            vec![(MIMI_SEQ, first.to_string()), (MIMI_SENDERS, senders)],
            body,
        )
        .await?;
        state.writer.ack(client.clone(), room, last).await?;
    }
    Ok(full)
}

/// POSTs a notify of `room` for `client` to its provider, which must answer 201.
async fn notify(
    peers: &super::Peers,
    client: &ClientId,
    room: &mimi_policy::id::RoomId,
    mut headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Result<(), Failure> {
    let domain = client.user().domain();
    headers.push((MIMI_CLIENT, header_value(&client.to_string())));
    let (status, _, _) = peers
        .post_with(domain, |d| &d.notify, room.as_str(), &headers, body)
        .await?;
    if status != 201 {
        return Err(refused(domain, status));
    }
    Ok(())
}

fn encoding(e: tls_codec::Error) -> ApiError {
    ApiError::Unavailable(format!("encoding a fanout: {e}"))
}

fn refused(domain: &str, status: u16) -> Failure {
    Failure::Refused(format!("{domain} answered {status} to a fanout"))
}
