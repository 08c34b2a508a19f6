//! Accounts: passwords hashed with argon2, bearer tokens (random, stored as SHA-256), and the
//! extractor that turns a token into the caller.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use argon2::password_hash::{Output, PasswordHash, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use mimi_policy::id::{ClientId, UserId};
use mimi_store::TokenOwner;
use mimi_store::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// A job for the hashing threads.
type HashJob = Box<dyn FnOnce() + Send>;

/// The threads Argon2 runs on, one per core, and the turns to use them. Each hash takes
/// tens of milliseconds and about 19 MiB on purpose: a burst of logins must neither
/// exhaust memory nor take the cores from everything else, and on threads of their own
/// the allocator keeps one hash's memory per thread (on tokio's blocking pool, each of
/// its many threads kept its own: the provider's peak memory doubled). Waiting for a turn
/// costs nothing; a request that goes away while it waits never hashes. `None` when no
/// thread could be started.
fn hashers() -> Option<&'static (std::sync::mpsc::Sender<HashJob>, tokio::sync::Semaphore)> {
    static HASHERS: std::sync::OnceLock<
        Option<(std::sync::mpsc::Sender<HashJob>, tokio::sync::Semaphore)>,
    > = std::sync::OnceLock::new();
    HASHERS
        .get_or_init(|| {
            let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
            let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
            let wanted = std::thread::available_parallelism().map_or(2, |n| n.get());
            let started = (0..wanted)
                .filter(|i| {
                    let queue = queue.clone();
                    std::thread::Builder::new()
                        .name(format!("mimi-argon2-{i}"))
                        .spawn(move || {
                            loop {
                                let job = match queue.lock() {
                                    Ok(q) => q.recv(),
                                    Err(_) => return,
                                };
                                match job {
                                    Ok(job) => job(),
                                    Err(_) => return,
                                }
                            }
                        })
                        .is_ok()
                })
                .count();
            (started > 0).then(|| (jobs, tokio::sync::Semaphore::new(started)))
        })
        .as_ref()
}

/// Runs `work` (an Argon2 hash or check) on a hashing thread, in its turn.
async fn in_turn<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let unavailable = |why: &str| {
        tracing::error!(%why, "hashing a password");
        ApiError::Unavailable("the provider could not check the password; try again".into())
    };
    let (jobs, turns) = hashers().ok_or_else(|| unavailable("no hashing thread"))?;
    let turn = turns
        .acquire()
        .await
        .map_err(|_| unavailable("the turns closed"))?;
    let (done, answer) = tokio::sync::oneshot::channel();
    jobs.send(Box::new(move || {
        let _turn = turn;
        let _ = done.send(work());
    }))
    .map_err(|_| unavailable("the hashing threads stopped"))?;
    answer
        .await
        .map_err(|_| unavailable("a hashing thread failed"))
}

thread_local! {
    /// The hashing thread's Argon2 memory, allocated once and used for every hash: a
    /// fresh 19 MiB per hash grew the provider's memory with each account made (the
    /// allocator did not give it back).
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Argon2 of `password` with `salt` into `out`, in this thread's memory.
fn argon2_into(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let count = argon.params().block_count();
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < count {
            blocks.resize(count, argon2::Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..count])
    })
}

/// A new PHC string for `password` (Argon2id, the crate's default parameters), as
/// `PasswordHasher` makes it.
fn new_hash(password: &[u8]) -> Result<String, String> {
    let params = argon2::Params::default();
    let argon = Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.clone(),
    );
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| e.to_string())?;
    let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon, password, salt_bytes, &mut out).map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params)
            .map_err(|e| e.to_string())?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash` (any Argon2 variant, version and
/// parameters it names), compared in constant time.
fn matches(password: &[u8], hash: &str) -> bool {
    let check = || -> Option<bool> {
        let phc = PasswordHash::new(hash).ok()?;
        let algorithm = argon2::Algorithm::try_from(phc.algorithm).ok()?;
        let version = match phc.version {
            Some(v) => argon2::Version::try_from(v).ok()?,
            None => argon2::Version::default(),
        };
        let params = argon2::Params::try_from(&phc).ok()?;
        let expected = phc.hash?;
        let mut salt = [0u8; 64];
        let salt = phc.salt?.decode_b64(&mut salt).ok()?;
        let mut out = vec![0u8; expected.len()];
        argon2_into(
            &Argon2::new(algorithm, version, params),
            password,
            salt,
            &mut out,
        )
        .ok()?;
        Some(Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

/// Hashes a password for storage, on a hashing thread in its turn.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    in_turn(move || {
        new_hash(password.as_bytes())
            .map_err(|e| ApiError::bad_request("bad-password", format!("cannot hash it: {e}")))
    })
    .await?
}

/// A hash of no one's password, checked when a login names an unknown user, so that the
/// answer takes as long as for a known one (timing does not tell which users exist).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| new_hash(b"no one's password").unwrap_or_default())
}

/// Checks a password against its stored hash (`None`: an unknown user, checked against a
/// decoy and refused), on a hashing thread in its turn.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    in_turn(move || {
        let known = hash.is_some();
        let hash = hash.as_deref().unwrap_or_else(|| decoy_hash());
        // The hash is computed whether or not the user is known: `known && matches(..)`
        // would skip it for an unknown user, and the time would tell.
        let matched = matches(password.as_bytes(), hash);
        known & matched
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

/// The operator's token for `/metrics`, kept as its SHA-256 digest and compared in
/// constant time.
#[derive(Clone)]
pub struct OperatorToken([u8; 32]);

impl OperatorToken {
    /// Keeps `token` (as its digest).
    pub fn new(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Whether `presented` is the token, in time that does not depend on either.
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(self.0.ct_eq(&digest))
    }
}

/// Admits the operator alone: the request's bearer token must be the configured operator
/// token (`metrics_token`), or it is refused (401); with none configured, `what` is off (404).
pub fn operator(
    token: Option<&OperatorToken>,
    headers: &axum::http::HeaderMap,
    what: &str,
) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Err(ApiError::not_found(format!(
            "{what} is off; the operator turns it on with metrics_token"
        )));
    };
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if token.matches(presented) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(format!(
            "{what} needs the operator's token (metrics_token)"
        )))
    }
}

impl std::fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorToken(..)")
    }
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

    /// Forgets one token (revoked).
    pub fn forget(&self, hash: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            entries.remove(hash);
        }
    }

    /// Forgets every token of `user` (revoked).
    pub fn forget_user(&self, user: &UserId) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            entries.retain(|_, (owner, _)| owner.user != *user);
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

/// How long an account's token (from sign-up or login) lasts; a device's lasts until it is
/// revoked (logout, revocation of all the account's tokens, the device deleted).
pub const ACCOUNT_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// Who is calling: a user, and its client when the token is a device's.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: UserId,
    /// The client, for a device token.
    pub client: Option<ClientId>,
    /// The hash of the token the request came with (for logout).
    pub token_hash: String,
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
        state.limits.request(&hash)?;
        let owner = match state.tokens.get(&hash) {
            Some(owner) => owner,
            None => {
                let generation = state.tokens.generation();
                let (owner, issued) = state
                    .store
                    .token_owner(&hash)
                    .await?
                    .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                if owner.client.is_none()
                    && now.saturating_sub(issued) > ACCOUNT_TOKEN_TTL.as_secs()
                {
                    return Err(ApiError::unauthorized(
                        "the account's token expired; log in again (`mimi account login`)",
                    ));
                }
                state.tokens.put(hash.clone(), owner.clone(), generation);
                owner
            }
        };
        let TokenOwner { user, client } = owner;
        Ok(Self {
            user,
            client,
            token_hash: hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    #[test]
    fn a_password_matches_its_hash_and_no_other_password_does() {
        let hash = new_hash(b"correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(matches(b"correct horse", &hash));
        assert!(!matches(b"correct horsf", &hash));
        assert!(!matches(b"correct horse", "not a hash"));
        // Each hash has its own salt.
        assert_ne!(hash, new_hash(b"correct horse").unwrap());
    }

    #[test]
    fn hashes_are_the_argon2_crates_own_both_ways() {
        // Stored by an earlier version through `PasswordHasher`: still verifies.
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(matches(b"correct horse", &old));
        assert!(!matches(b"wrong", &old));
        // Made here: the crate's verifier takes it.
        let new = new_hash(b"correct horse").unwrap();
        let parsed = PasswordHash::new(&new).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
    }
}
