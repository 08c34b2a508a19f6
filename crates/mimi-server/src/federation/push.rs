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

use super::rooms::{MIMI_CLIENT, MIMI_SENDERS, MIMI_SEQ, fanout_of, now_ms};
use crate::error::ApiError;
use crate::state::AppState;

/// Most entries in one notify.
const BATCH: u32 = 100;

/// How long a peer that failed is left alone, at most.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Pushes until the provider stops: at once when this process stores something, at least
/// every second (another process may have), and a failing peer less and less often.
pub async fn run(state: AppState) {
    let mut wake = state.notifier.subscribe();
    let mut backoff: HashMap<String, (Instant, Duration)> = HashMap::new();
    loop {
        match push_once(&state, &mut backoff).await {
            // More may be waiting (a full batch): go on at once.
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "pushing to peers"),
        }
        tokio::select! {
            _ = tokio::time::timeout(Duration::from_secs(1), wake.recv()) => {}
            () = state.stopped() => return,
        }
    }
}

/// One round over the devices of other providers; true if some had more than a batch.
async fn push_once(
    state: &AppState,
    backoff: &mut HashMap<String, (Instant, Duration)>,
) -> Result<bool, ApiError> {
    let Some(peers) = state.peers.clone() else {
        return Ok(false);
    };
    let mut more = false;
    for client in state
        .store
        .foreign_recipients(state.domain.domain())
        .await?
    {
        let domain = client.user().domain().to_owned();
        if backoff
            .get(&domain)
            .is_some_and(|(until, _)| Instant::now() < *until)
        {
            continue;
        }
        match push_client(state, &peers, &client).await {
            Ok(full) => {
                backoff.remove(&domain);
                more |= full;
            }
            Err(e) => {
                let wait = backoff
                    .get(&domain)
                    .map_or(Duration::from_millis(200), |(_, w)| {
                        (*w * 2).min(MAX_BACKOFF)
                    });
                tracing::info!(peer = %domain, error = %e, retry_in = ?wait, "a peer did not take its fanout");
                backoff.insert(domain, (Instant::now() + wait, wait));
            }
        }
    }
    Ok(more)
}

/// Pushes `client`'s Welcomes and pending entries to its provider; true if it had more
/// entries than a batch.
async fn push_client(
    state: &AppState,
    peers: &super::Peers,
    client: &ClientId,
) -> Result<bool, ApiError> {
    let domain = client.user().domain();
    // Welcomes first, as a local device gets them; one still waiting for its ratchet tree
    // holds back what follows it, and its room's entries.
    let mut held = std::collections::BTreeSet::new();
    for item in state.store.inbox(client, 0).await? {
        if item.kind != InboxKind::Welcome {
            continue;
        }
        let Some(room) = item.room.clone() else {
            continue;
        };
        let Some(tree) = item.ratchet_tree.clone() else {
            held.insert(room);
            break;
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
        let (status, _, _) = peers
            .post_with(
                domain,
                |d| &d.notify,
                room.as_str(),
                &[
                    (MIMI_CLIENT, client.to_string()),
                    (MIMI_SEQ, item.id.to_string()),
                ],
                body,
            )
            .await?;
        if status != 201 {
            return Err(refused(domain, status));
        }
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
    for run in by_room {
        let room = run[0].room.clone();
        let (first, last) = (run[0].seq, run[run.len() - 1].seq);
        let (body, senders) = fanout_of(&run)?;
        let (status, _, _) = peers
            .post_with(
                domain,
                |d| &d.notify,
                room.as_str(),
                &[
                    (MIMI_CLIENT, client.to_string()),
                    (MIMI_SEQ, first.to_string()),
                    (MIMI_SENDERS, senders),
                ],
                body,
            )
            .await?;
        if status != 201 {
            return Err(refused(domain, status));
        }
        state.writer.ack(client.clone(), room, last).await?;
    }
    Ok(full)
}

fn encoding(e: tls_codec::Error) -> ApiError {
    ApiError::Unavailable(format!("encoding a fanout: {e}"))
}

fn refused(domain: &str, status: u16) -> ApiError {
    super::PeerError::Refused {
        domain: domain.to_owned(),
        status,
        body: "a fanout".into(),
    }
    .into()
}
