//! Accounts: passwords hashed with argon2, bearer tokens (random, stored as SHA-256), and the
//! extractor that turns a token into the caller.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use mimi_policy::id::{ClientId, UserId};
use mimi_store::{Store as _, TokenOwner};
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// Argon2 runs at most this many at once (one per core): each takes tens of milliseconds
/// and about 19 MiB on purpose, and a burst of logins must neither exhaust memory nor
/// take the cores from everything else. Waiting for a turn costs nothing; a request that
/// goes away while it waits never hashes.
fn hashing() -> &'static tokio::sync::Semaphore {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Runs `work` (an Argon2 hash or check) on the blocking pool, in its turn.
async fn in_turn<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let unavailable = |why: String| {
        tracing::error!(%why, "hashing a password");
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the provider could not check the password; try again",
        )
    };
    let turn = hashing()
        .acquire()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    })
    .await
    .map_err(|e| unavailable(e.to_string()))
}

/// Hashes a password for storage, off the runtime's workers ([`in_turn`]).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    in_turn(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::bad_request("bad-password", format!("cannot hash it: {e}")))
    })
    .await?
}

/// A hash of no one's password, checked when a login names an unknown user, so that the
/// answer takes as long as for a known one (timing does not tell which users exist).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no one's password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Checks a password against its stored hash (`None`: an unknown user, checked against a
/// decoy and refused), off the runtime's workers ([`in_turn`]).
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    in_turn(move || {
        let known = hash.is_some();
        let hash = hash.as_deref().unwrap_or_else(|| decoy_hash());
        let matches = PasswordHash::new(hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        known && matches
    })
    .await
}

/// A new bearer token and the hash the store keeps of it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
}

/// Tokens this process looked up recently, so that a busy device does not cost a database
/// read per request. An entry lives [`TokenCache::TTL`]: a token revoked by another process
/// (a device deleted there) stops working here within that time; one revoked by this
/// process stops at once ([`TokenCache::forget_client`]).
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (TokenOwner, std::time::Instant)>>,
    /// Bumped by every forget: a lookup that began before it does not cache its answer.
    generation: std::sync::atomic::AtomicU64,
}

impl TokenCache {
    /// How long a looked-up token is trusted without asking the database again.
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(5);
    /// Most tokens remembered; past it the cache starts over.
    const MAX: usize = 100_000;

    fn get(&self, hash: &str) -> Option<TokenOwner> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < Self::TTL)
            .map(|(owner, _)| owner.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Caches a lookup begun at `generation`, unless a forget came since.
    fn put(&self, hash: String, owner: TokenOwner, generation: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            if self.generation() != generation {
                return;
            }
            if entries.len() >= Self::MAX {
                entries.clear();
            }
            entries.insert(hash, (owner, std::time::Instant::now()));
        }
    }

    /// Forgets every token of `client` (its device was deleted).
    pub fn forget_client(&self, client: &ClientId) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            entries.retain(|_, (owner, _)| owner.client.as_ref() != Some(client));
        }
    }
}

/// Who is calling: a user, and its client when the token is a device's.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: UserId,
    /// The client, for a device token.
    pub client: Option<ClientId>,
}

impl Caller {
    /// The caller's client; a device token is needed.
    pub fn device(&self) -> Result<&ClientId, ApiError> {
        self.client.as_ref().ok_or_else(|| {
            ApiError::forbidden(
                "device-token-required",
                "this request acts as a device: use the token the device was registered with",
            )
        })
    }
}

impl Caller {
    /// Refuses a device token: managing the account's devices needs the account token.
    pub fn account(&self) -> Result<(), ApiError> {
        match &self.client {
            None => Ok(()),
            Some(client) => Err(ApiError::forbidden(
                "account-token-required",
                format!(
                    "{client}'s token acts for that device only; managing devices needs the \
                     account's token (from `account create` or `login`)"
                ),
            )),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header is not a Bearer token")
            })?;
        let hash = token_hash(token.trim());
        let owner = match state.tokens.get(&hash) {
            Some(owner) => owner,
            None => {
                let generation = state.tokens.generation();
                let owner = state
                    .store
                    .token_owner(&hash)
                    .await?
                    .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
                state.tokens.put(hash, owner.clone(), generation);
                owner
            }
        };
        let TokenOwner { user, client } = owner;
        Ok(Self { user, client })
    }
}
