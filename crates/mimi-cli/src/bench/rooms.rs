//! `mimi bench rooms`: many rooms on one provider. Starts `mimi serve` (with
//! `--cached-rooms`, the rooms it keeps in memory) as a child process, makes `--rooms` rooms
//! of `--members` each (from a pool of `--users`, one device each), then sends `--messages`
//! spread over every room in turn from `--senders` at once, and prints one JSON line:
//! messages accepted per second, submit latency, the provider's peak memory, and how long a
//! message takes to a room the cache had let go (its restore from the database:
//! `cold_submit_p50_ms`) beside one to a room in memory (`warm_submit_p50_ms`).

use std::time::Instant;

use anyhow::{Context as _, anyhow};
use mimi_api as api;
use mimi_mls::member::RoomGroup;
use mimi_policy::id::UserId;
use openmls::prelude::ExternalSender;
use serde_json::{Value, json};

use super::serve::{
    Http, KeyPackageKind, Person, Server, b64, claim_and_add, create_room, hub_key, one_provider,
    percentile, sign_up,
};
use crate::InputError;

/// Arguments of `mimi bench rooms`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rooms.
    #[arg(long, default_value_t = 10_000)]
    rooms: usize,
    /// Members of each room (its creator and others from the pool of users).
    #[arg(long, default_value_t = 5)]
    members: usize,
    /// Users (one device each) the rooms' members are drawn from, in turn.
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Messages in all, to each room in turn.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Requests under way at once.
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// The rooms the provider keeps in memory (`mimi serve --cached-rooms`).
    #[arg(long, default_value_t = 1_000)]
    cached_rooms: usize,
    /// The provider's database: SQLite in a scratch directory (the default), or PostgreSQL
    /// (`postgres://...`), in a schema of the run's own, dropped at its end.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

const DOMAIN: &str = "bench.example";

/// Rooms made at once while setting up.
const CREATES_AT_ONCE: usize = 8;

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.rooms == 0
        || args.members < 1
        || args.users < args.members
        || args.messages == 0
        || args.senders == 0
        || args.cached_rooms == 0
    {
        return Err(InputError(
            "--rooms, --messages, --senders and --cached-rooms at least 1; --members between 1 \
             and --users"
                .into(),
        )
        .into());
    }
    let cached = args.cached_rooms.to_string();
    one_provider(
        "rooms",
        None,
        args.database.as_deref(),
        &["--cached-rooms", &cached],
        &[],
        |server, runtime| runtime.block_on(measure(server, &args)),
    )
}

/// `creator` makes room `name` and adds `others` (each consented to it); returns its group.
async fn make_room(
    http: &Http,
    hub: &ExternalSender,
    creator: &Person,
    name: &str,
    others: &[UserId],
) -> anyhow::Result<RoomGroup> {
    let mut group = create_room(http, hub, &creator.token, &creator.client, name, false).await?;
    if others.is_empty() {
        return Ok(group);
    }
    claim_and_add(
        http,
        &creator.token,
        &creator.client,
        &mut group,
        others,
        &format!("/v1/rooms/{DOMAIN}/{name}"),
        Some(name),
    )
    .await?;
    Ok(group)
}

/// One submit of `message` to room `name`, timed (ms).
async fn submit(http: &Http, token: &str, name: &str, message: String) -> anyhow::Result<f64> {
    let body = api::Message {
        message: Some(message),
        messages: None,
    };
    let t = Instant::now();
    let _: api::Sent = http
        .call(
            reqwest::Method::POST,
            &format!("/v1/rooms/{DOMAIN}/{name}/messages"),
            Some(token),
            Some(&body),
        )
        .await?;
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

async fn measure(server: &Server, args: &Args) -> anyhow::Result<Value> {
    let http = Http {
        http: reqwest::Client::new(),
        base: server.url.clone(),
    };
    let setup = Instant::now();
    eprintln!("signing up {} users...", args.users);
    let mut users = Vec::with_capacity(args.users);
    for u in 0..args.users {
        let name = format!("user{u:05}");
        users.push(sign_up(&http, &name, KeyPackageKind::LastResort, None).await?);
    }
    let hub = hub_key(&http).await?;
    eprintln!("making {} rooms of {}...", args.rooms, args.members);
    let users = std::sync::Arc::new(users);
    let mut groups: Vec<Option<(usize, RoomGroup)>> = (0..args.rooms).map(|_| None).collect();
    let mut making = tokio::task::JoinSet::new();
    let members = args.members;
    for r in 0..args.rooms {
        if making.len() >= CREATES_AT_ONCE
            && let Some(done) = making.join_next().await
        {
            let (r, creator, g) = done??;
            groups[r] = Some((creator, g));
        }
        let (http, hub, users) = (http.clone(), hub.clone(), users.clone());
        making.spawn(async move {
            // Room r's members: the pool's users in turn, its creator first.
            let n = users.len();
            let creator = (r * members) % n;
            let others: Vec<&Person> = (1..members).map(|k| &users[(creator + k) % n]).collect();
            let creator_id = users[creator].client.id().user().to_string();
            for o in &others {
                let grant = api::ConsentBody {
                    user: creator_id.clone(),
                    room: None,
                };
                let (): () = http
                    .call(
                        reqwest::Method::POST,
                        "/v1/consent/grant",
                        Some(&o.token),
                        Some(&grant),
                    )
                    .await?;
            }
            let others: Vec<UserId> = others
                .iter()
                .map(|o| o.client.id().user().clone())
                .collect();
            let g = make_room(&http, &hub, &users[creator], &format!("r{r:06}"), &others).await?;
            anyhow::Ok((r, creator, g))
        });
    }
    while let Some(done) = making.join_next().await {
        let (r, creator, g) = done??;
        groups[r] = Some((creator, g));
    }
    // Each room's creator sends its messages, encrypted before the clock starts.
    eprintln!("encrypting {} messages...", args.messages);
    let mut bodies: Vec<(String, String, String)> = Vec::with_capacity(args.messages);
    for i in 0..args.messages {
        let r = i % args.rooms;
        let (creator, group) = groups[r].as_mut().context("a room not made")?;
        let u = &users[*creator];
        let text = format!("{i:08} {}", "x".repeat(91));
        bodies.push((
            u.token.clone(),
            format!("r{r:06}"),
            b64(&group.encrypt(&u.client, text.as_bytes())?),
        ));
    }
    // Two more per room for the cold and warm figures, after the run.
    let probes = args.rooms.min(20);
    let mut extra = Vec::new();
    for (r, made) in groups.iter_mut().enumerate().take(probes) {
        let (creator, group) = made.as_mut().context("a room not made")?;
        let u = &users[*creator];
        for _ in 0..2 {
            extra.push((
                u.token.clone(),
                format!("r{r:06}"),
                b64(&group.encrypt(&u.client, b"probe")?),
            ));
        }
    }
    let setup_s = setup.elapsed().as_secs_f64();
    eprintln!("sending...");
    let queue = std::sync::Arc::new(std::sync::Mutex::new(bodies.into_iter()));
    let start = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..args.senders {
        let (http, queue) = (http.clone(), queue.clone());
        senders.spawn(async move {
            let mut times = Vec::new();
            loop {
                let next = queue
                    .lock()
                    .map_err(|_| anyhow!("a sender panicked"))?
                    .next();
                let Some((token, room, message)) = next else {
                    break;
                };
                times.push(submit(&http, &token, &room, message).await?);
            }
            anyhow::Ok(times)
        });
    }
    let mut times = Vec::new();
    while let Some(done) = senders.join_next().await {
        times.extend(done??);
    }
    let seconds = start.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    // Cold: the first rooms, last used long ago (the cache let them go when it holds fewer
    // rooms than were used since). Warm: the same rooms again, just loaded.
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for pair in extra.chunks(2) {
        let [(token, room, first), (_, _, second)] = pair else {
            continue;
        };
        cold.push(submit(&http, token, room, first.clone()).await?);
        warm.push(submit(&http, token, room, second.clone()).await?);
    }
    cold.sort_by(f64::total_cmp);
    warm.sort_by(f64::total_cmp);
    let ms = |x: f64| (x * 100.0).round() / 100.0;
    Ok(json!({
        "rooms": args.rooms,
        "members": args.members,
        "users": args.users,
        "messages": args.messages,
        "senders": args.senders,
        "cached_rooms": args.cached_rooms,
        "messages_per_s": (args.messages as f64 / seconds * 10.0).round() / 10.0,
        "submit_p50_ms": ms(percentile(&times, 0.50)),
        "submit_p99_ms": ms(percentile(&times, 0.99)),
        "cold_submit_p50_ms": ms(percentile(&cold, 0.50)),
        "cold_submit_max_ms": ms(cold.last().copied().unwrap_or_default()),
        "warm_submit_p50_ms": ms(percentile(&warm, 0.50)),
        "setup_seconds": (setup_s * 10.0).round() / 10.0,
    }))
}
