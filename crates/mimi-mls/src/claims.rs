//! Claims a provider asserts about its users: the teams, workgroups and groups its operator
//! puts them in (the seed's pre-authorization by "team", "workgroup" or "group").
//!
//! A user's identity gives its `user` and `domain` claims by itself; the others only its
//! provider can vouch for. The provider signs them with its hub key, the key every room it
//! hosts lists in `external_senders`, and hands the signed claims to a joiner with the
//! GroupInfo. The joiner carries them in its external commit's authenticated data (Safe
//! AAD, mimi's private component `provider_claims` 0xF0A4), and the hub and every member
//! verify them against the joiner's provider's entry in the room's own `external_senders`:
//! no key travels apart from the group context the members already agree on.
//!
//! ```text
//! struct { opaque id<V>; opaque value<V>; } AssertedClaim;
//! struct {
//!   opaque user<V>;                 // the user's mimi:// URI
//!   AssertedClaim claims<V>;
//!   uint64 expires;                 // Unix seconds, on the provider's clock
//! } ProviderClaimsTBS;
//! struct { ProviderClaimsTBS tbs; opaque signature<V>; } ProviderClaims;
//! ```
//!
//! The signature is Ed25519 over the label `MIMI provider claims v1` followed by the TLS
//! encoding of the `ProviderClaimsTBS`. The hub refuses claims past `expires` when it
//! decides a join; members, which share no clock with the provider, check the signature
//! and the user only.

use mimi_policy::component::ids;
use mimi_policy::id::{ClientId, UserId};
use mimi_policy::preauth::{Claim, claim};
use openmls::framing::SafeAad;
use openmls::prelude::GroupContext;
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::signatures::Signer as _;
use tls_codec::{Deserialize as _, Serialize as _, TlsDeserialize, TlsSerialize, TlsSize, VLBytes};

use crate::{CIPHERSUITE, MlsError};

/// The claims a provider may assert (the others follow from the identity).
pub const ASSERTED: [&str; 3] = [claim::TEAM, claim::WORKGROUP, claim::GROUP];

/// How long signed claims stay good for a join, in seconds.
pub const LIFETIME: u64 = 600;

/// The longest claim value, in bytes.
pub const MAX_VALUE: usize = 255;

/// The most claims one user may carry.
pub const MAX_CLAIMS: usize = 64;

const LABEL: &[u8] = b"MIMI provider claims v1";

/// Claims a provider asserts about one of its users, until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderClaims {
    /// The user they are about.
    pub user: UserId,
    /// Team, workgroup and group claims.
    pub claims: Vec<Claim>,
    /// Unix seconds after which the hub no longer takes them.
    pub expires: u64,
}

#[derive(Debug, TlsSerialize, TlsDeserialize, TlsSize)]
struct ClaimWire {
    id: VLBytes,
    value: VLBytes,
}

#[derive(Debug, TlsSerialize, TlsDeserialize, TlsSize)]
struct Tbs {
    user: VLBytes,
    claims: Vec<ClaimWire>,
    expires: u64,
}

#[derive(Debug, TlsSerialize, TlsDeserialize, TlsSize)]
struct Signed {
    tbs: Tbs,
    signature: VLBytes,
}

/// Checks one claim a provider would assert: one of [`ASSERTED`], with a value of 1 to
/// [`MAX_VALUE`] bytes without control characters.
pub fn check_claim(c: &Claim) -> Result<(), MlsError> {
    if !ASSERTED.contains(&c.id.as_str()) {
        return Err(MlsError::Malformed(format!(
            "a provider asserts team, workgroup or group claims, not `{}`",
            c.id
        )));
    }
    if c.value.is_empty() || c.value.len() > MAX_VALUE || c.value.chars().any(char::is_control) {
        return Err(MlsError::Malformed(format!(
            "a {} claim is 1 to {MAX_VALUE} bytes without control characters",
            c.id
        )));
    }
    Ok(())
}

fn signed_content(tbs: &Tbs) -> Result<Vec<u8>, MlsError> {
    let mut content = LABEL.to_vec();
    content.extend(tbs.tls_serialize_detached().map_err(MlsError::openmls)?);
    Ok(content)
}

fn text(bytes: &VLBytes, what: &str) -> Result<String, MlsError> {
    String::from_utf8(bytes.as_slice().to_vec())
        .map_err(|_| MlsError::Malformed(format!("the provider claims' {what} is not UTF-8")))
}

impl ProviderClaims {
    /// The claims signed with the provider's hub key, TLS-encoded.
    pub fn sign(&self, signer: &SignatureKeyPair) -> Result<Vec<u8>, MlsError> {
        if self.claims.len() > MAX_CLAIMS {
            return Err(MlsError::Malformed(format!(
                "a user carries at most {MAX_CLAIMS} claims"
            )));
        }
        self.claims.iter().try_for_each(check_claim)?;
        let tbs = Tbs {
            user: self.user.to_string().into_bytes().into(),
            claims: self
                .claims
                .iter()
                .map(|c| ClaimWire {
                    id: c.id.as_bytes().into(),
                    value: c.value.as_bytes().into(),
                })
                .collect(),
            expires: self.expires,
        };
        let signature = signer
            .sign(&signed_content(&tbs)?)
            .map_err(|e| MlsError::Openmls(format!("signing claims: {e:?}").into()))?;
        Signed {
            tbs,
            signature: signature.into(),
        }
        .tls_serialize_detached()
        .map_err(MlsError::openmls)
    }

    /// Signed claims read back and verified with the provider's public key `key`.
    pub fn verify(bytes: &[u8], key: &[u8], crypto: &impl OpenMlsCrypto) -> Result<Self, MlsError> {
        let signed = Signed::tls_deserialize_exact(bytes)
            .map_err(|e| MlsError::Malformed(format!("provider claims: {e}")))?;
        crypto
            .verify_signature(
                CIPHERSUITE.signature_algorithm(),
                &signed_content(&signed.tbs)?,
                key,
                signed.signature.as_slice(),
            )
            .map_err(|_| {
                MlsError::Credential("the claims are not signed by the user's provider".into())
            })?;
        Self::from_signed(signed)
    }

    /// Signed claims read back *without* checking the signature: for the joiner, planning
    /// its own join with what its provider handed it (the hub and members verify).
    pub fn read_unverified(bytes: &[u8]) -> Result<Self, MlsError> {
        let signed = Signed::tls_deserialize_exact(bytes)
            .map_err(|e| MlsError::Malformed(format!("provider claims: {e}")))?;
        Self::from_signed(signed)
    }

    fn from_signed(signed: Signed) -> Result<Self, MlsError> {
        let user = UserId::parse(&text(&signed.tbs.user, "user")?)
            .map_err(|e| MlsError::Malformed(format!("provider claims: {e}")))?;
        if signed.tbs.claims.len() > MAX_CLAIMS {
            return Err(MlsError::Malformed(format!(
                "provider claims: more than {MAX_CLAIMS}"
            )));
        }
        let claims = signed
            .tbs
            .claims
            .iter()
            .map(|c| {
                let claim =
                    Claim::new(&text(&c.id, "claim name")?, &text(&c.value, "claim value")?);
                check_claim(&claim)?;
                Ok(claim)
            })
            .collect::<Result<Vec<_>, MlsError>>()?;
        Ok(Self {
            user,
            claims,
            expires: signed.tbs.expires,
        })
    }
}

/// The claims `joiner`'s provider asserts in an external commit's authenticated data,
/// verified with that provider's key in the group's `external_senders`: none when the data
/// carries none. With `now` (the hub, deciding), claims past their expiry are refused.
pub fn asserted_claims(
    aad: &[u8],
    joiner: &ClientId,
    context: &GroupContext,
    crypto: &impl OpenMlsCrypto,
    now: Option<u64>,
) -> Result<Vec<Claim>, MlsError> {
    if aad.is_empty() {
        return Ok(Vec::new());
    }
    let safe = SafeAad::tls_deserialize_exact(aad)
        .map_err(|e| MlsError::Malformed(format!("authenticated data: {e}")))?;
    let Some(bytes) = safe.get(ids::PROVIDER_CLAIMS) else {
        return Ok(Vec::new());
    };
    let system = UserId::new(joiner.user().domain(), "system")
        .map_err(|e| MlsError::Credential(e.to_string()))?;
    let key = crate::identity::provider_sender_key(context, &system).ok_or_else(|| {
        MlsError::Credential(format!(
            "the room does not list {}'s provider, which asserts its claims",
            joiner.user()
        ))
    })?;
    let asserted = ProviderClaims::verify(bytes, &key, crypto)?;
    if &asserted.user != joiner.user() {
        return Err(MlsError::Credential(format!(
            "the claims are about {}, not the joiner {}",
            asserted.user,
            joiner.user()
        )));
    }
    if let Some(now) = now
        && asserted.expires <= now
    {
        return Err(MlsError::Credential(
            "the provider's claims have expired: fetch the GroupInfo again".into(),
        ));
    }
    Ok(asserted.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openmls_rust_crypto::OpenMlsRustCrypto;
    use openmls_traits::OpenMlsProvider as _;

    fn alice() -> UserId {
        UserId::new("a.example", "alice").unwrap()
    }

    fn claims() -> ProviderClaims {
        ProviderClaims {
            user: alice(),
            claims: vec![Claim::new("team", "sales"), Claim::new("group", "staff")],
            expires: 1000,
        }
    }

    #[test]
    fn signed_claims_verify_with_the_signers_key_only() {
        let crypto = OpenMlsRustCrypto::default();
        let signer = crate::new_signer().unwrap();
        let bytes = claims().sign(&signer).unwrap();
        let back = ProviderClaims::verify(&bytes, signer.public(), crypto.crypto()).unwrap();
        assert_eq!(back, claims());

        let other = crate::new_signer().unwrap();
        let err = ProviderClaims::verify(&bytes, other.public(), crypto.crypto()).unwrap_err();
        assert_eq!(err.code(), "bad-credential");
    }

    #[test]
    fn altered_claims_do_not_verify() {
        let crypto = OpenMlsRustCrypto::default();
        let signer = crate::new_signer().unwrap();
        let mut bytes = claims().sign(&signer).unwrap();
        // "sales" becomes "salet": the signature no longer holds.
        let at = bytes.windows(5).position(|w| w == b"sales").unwrap();
        bytes[at + 4] = b't';
        let err = ProviderClaims::verify(&bytes, signer.public(), crypto.crypto()).unwrap_err();
        assert_eq!(err.code(), "bad-credential");
        for junk in [&b""[..], b"\x00", b"\xff\xff\xff"] {
            assert!(ProviderClaims::verify(junk, signer.public(), crypto.crypto()).is_err());
        }
    }

    #[test]
    fn a_provider_asserts_only_team_workgroup_and_group_claims() {
        let signer = crate::new_signer().unwrap();
        for bad in [
            Claim::new("domain", "b.example"),
            Claim::new("user", "mimi://a.example/u/bob"),
            Claim::new("team", ""),
            Claim::new("team", "a\nb"),
            Claim::new("team", &"x".repeat(MAX_VALUE + 1)),
        ] {
            let c = ProviderClaims {
                claims: vec![bad.clone()],
                ..claims()
            };
            assert!(c.sign(&signer).is_err(), "{bad:?}");
        }
    }
}
