//! RustCrypto, with a room's leaf signatures checked ahead of time on every core.
//!
//! A joiner's openmls imports the room's ratchet tree and checks every leaf's signature, one
//! after the other on one core: in a room of 1,000, Ed25519 arithmetic was about 60% of the
//! load generator's samples while it timed joins (BENCHMARKS.md). Before openmls imports a
//! tree, the joiner checks those signatures itself on all cores (rayon's pool, which openmls
//! already uses to encrypt a path), with the very function openmls calls (RustCrypto's `verify_signature`; never
//! a batch verification, whose rules differ), and keeps exactly what passed: the scheme, the
//! key, the signed bytes and the signature. When openmls then asks, a check already passed
//! is answered from that list, byte for byte the same, and anything else is checked as
//! before. The list only ever holds what this function accepted, so every answer is the one
//! openmls would have had; bytes worked out wrongly here only miss the list. It is emptied
//! once the join is built.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use openmls::prelude::{LeafNode, RatchetTreeIn};
use openmls::treesync::LeafNodeSource;
use openmls_rust_crypto::RustCrypto;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::types::{
    AeadType, Ciphersuite, CryptoError, ExporterSecret, HashType, HpkeCiphertext, HpkeConfig,
    HpkeKeyPair, KemOutput, SignatureScheme,
};
use tls_codec::{Serialize as _, Size as _};

/// One signature check: scheme, signed bytes, public key, signature.
pub(crate) type Check = (SignatureScheme, Vec<u8>, Vec<u8>, Vec<u8>);

/// RustCrypto, answering signature checks it already passed (module docs).
#[derive(Debug, Default)]
pub struct Crypto {
    inner: RustCrypto,
    passed: Mutex<HashSet<Vec<u8>>>,
    /// True while the list holds something: other checks (a hub's, every member's) do not
    /// take its lock.
    armed: AtomicBool,
    /// Checks answered from the list, in all.
    answered: AtomicUsize,
}

/// Fewest checks worth sharing out: below it openmls checks them as before.
const MIN_AHEAD: usize = 16;

/// Empties `Crypto`'s list when dropped, however the join ends: held for the whole join (a
/// guard dropped at once would leave openmls to check every leaf again).
#[must_use = "the list is emptied when the guard is dropped"]
pub(crate) struct Forget<'a>(pub(crate) &'a Crypto);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget();
    }
}

/// A check as kept in the list: every part with its length, so that no two checks share a
/// key.
fn key(alg: SignatureScheme, data: &[u8], pk: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + 24 + data.len() + pk.len() + signature.len());
    k.extend((alg as u16).to_be_bytes());
    for part in [pk, data, signature] {
        k.extend((part.len() as u64).to_be_bytes());
        k.extend(part);
    }
    k
}

impl Crypto {
    /// RustCrypto itself (its randomness).
    pub(crate) fn inner(&self) -> &RustCrypto {
        &self.inner
    }

    fn passed(&self) -> std::sync::MutexGuard<'_, HashSet<Vec<u8>>> {
        self.passed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks `checks` on every core and keeps those that pass; how many did (none are
    /// checked if they are too few to share out).
    pub(crate) fn check_ahead(&self, checks: Vec<Check>) -> usize {
        if checks.len() < MIN_AHEAD {
            return 0;
        }
        let passed: Vec<Vec<u8>> = checks
            .into_par_iter()
            .filter_map(|(alg, data, pk, sig)| {
                self.inner
                    .verify_signature(alg, &data, &pk, &sig)
                    .is_ok()
                    .then(|| key(alg, &data, &pk, &sig))
            })
            .collect();
        let n = passed.len();
        let mut list = self.passed();
        list.extend(passed);
        self.armed.store(!list.is_empty(), Ordering::Release);
        n
    }

    /// Forgets every check kept.
    pub(crate) fn forget(&self) {
        let mut list = self.passed();
        self.armed.store(false, Ordering::Release);
        *list = HashSet::new();
    }

    /// How many signature checks were answered from the list, in all.
    pub fn answered_ahead(&self) -> usize {
        self.answered.load(Ordering::Relaxed)
    }
}

/// The signature checks of `tree`'s leaves as openmls makes them when it imports the tree
/// of group `group_id` (RFC 9420 7.2: the leaf without its signature, and for a leaf from an
/// update or a commit the group's ID and the leaf's index, under the label
/// "MLS 1.0 LeafNodeTBS"). Empty if the tree does not encode as expected.
pub(crate) fn leaf_checks(
    tree: &RatchetTreeIn,
    ciphersuite: Ciphersuite,
    group_id: &[u8],
) -> Vec<Check> {
    let Some(leaves) = leaves_in_place(tree) else {
        return Vec::new();
    };
    let alg = ciphersuite.signature_algorithm();
    let Ok(label) =
        tls_codec::VLBytes::new(b"MLS 1.0 LeafNodeTBS".to_vec()).tls_serialize_detached()
    else {
        return Vec::new();
    };
    let Ok(group) = tls_codec::VLBytes::new(group_id.to_vec()).tls_serialize_detached() else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    for (index, leaf) in leaves {
        let Ok(mut tbs) = leaf.tls_serialize_detached() else {
            continue;
        };
        // The signature is the leaf's last field.
        let Some(payload) = tbs.len().checked_sub(leaf.signature().tls_serialized_len()) else {
            continue;
        };
        tbs.truncate(payload);
        if !matches!(leaf.leaf_node_source(), LeafNodeSource::KeyPackage(_)) {
            let Ok(leaf_index) = u32::try_from(index) else {
                continue;
            };
            tbs.extend_from_slice(&group);
            tbs.extend_from_slice(&leaf_index.to_be_bytes());
        }
        let Ok(content) = tls_codec::VLBytes::new(tbs).tls_serialize_detached() else {
            continue;
        };
        let mut data = label.clone();
        data.extend(content);
        // The signature's bytes, after their length prefix.
        let Some(signature) = leaf
            .signature()
            .tls_serialize_detached()
            .ok()
            .and_then(|b| Some(b.get(varint_len(*b.first()?)?..)?.to_vec()))
        else {
            continue;
        };
        checks.push((
            alg,
            data,
            leaf.signature_key().as_slice().to_vec(),
            signature,
        ));
    }
    checks
}

/// The length of a vector's length prefix (a QUIC-style variable-length integer) from its
/// first byte.
fn varint_len(first: u8) -> Option<usize> {
    match first >> 6 {
        0 => Some(1),
        1 => Some(2),
        2 => Some(4),
        _ => None,
    }
}

/// `tree`'s leaves, each with its index among the leaves (blanks counted), or `None` if
/// the tree does not encode as expected. The tree's own accessors skip blank nodes, so the
/// places are read off its encoding: a vector of optional nodes, each a type byte (1 leaf,
/// 2 parent) and the node, whose lengths the accessors give.
fn leaves_in_place(tree: &RatchetTreeIn) -> Option<Vec<(usize, LeafNode)>> {
    let bytes = tree.tls_serialize_detached().ok()?;
    let mut at = varint_len(*bytes.first()?)?;
    let (mut leaves, mut parents) = (tree.leaves(), tree.parents());
    let mut found = Vec::new();
    let mut index = 0usize;
    while at < bytes.len() {
        match bytes[at] {
            0 => at += 1,
            1 => {
                let size = match bytes.get(at + 1)? {
                    1 => {
                        let leaf = leaves.next()?;
                        if !index.is_multiple_of(2) {
                            return None;
                        }
                        // Only read, to work out the bytes its signature covers: the
                        // leaf goes nowhere else, and openmls still checks every leaf.
                        #[allow(clippy::disallowed_methods)]
                        let leaf_node = leaf.clone().into_unchecked();
                        found.push((index / 2, leaf_node));
                        leaf.tls_serialized_len()
                    }
                    2 => parents.next()?.tls_serialized_len(),
                    _ => return None,
                };
                at += 2 + size;
            }
            _ => return None,
        }
        index += 1;
    }
    (at == bytes.len() && leaves.next().is_none() && parents.next().is_none()).then_some(found)
}

impl OpenMlsCrypto for Crypto {
    fn supports(&self, ciphersuite: Ciphersuite) -> Result<(), CryptoError> {
        self.inner.supports(ciphersuite)
    }

    fn supported_ciphersuites(&self) -> Vec<Ciphersuite> {
        self.inner.supported_ciphersuites()
    }

    fn hkdf_extract(
        &self,
        hash_type: HashType,
        salt: &[u8],
        ikm: &[u8],
    ) -> Result<tls_codec::SecretVLBytes, CryptoError> {
        self.inner.hkdf_extract(hash_type, salt, ikm)
    }

    fn hmac(
        &self,
        hash_type: HashType,
        key: &[u8],
        message: &[u8],
    ) -> Result<tls_codec::SecretVLBytes, CryptoError> {
        self.inner.hmac(hash_type, key, message)
    }

    fn hkdf_expand(
        &self,
        hash_type: HashType,
        prk: &[u8],
        info: &[u8],
        okm_len: usize,
    ) -> Result<tls_codec::SecretVLBytes, CryptoError> {
        self.inner.hkdf_expand(hash_type, prk, info, okm_len)
    }

    fn hash(&self, hash_type: HashType, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.hash(hash_type, data)
    }

    fn aead_encrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        data: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.inner.aead_encrypt(alg, key, data, nonce, aad)
    }

    fn aead_decrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        ct_tag: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.inner.aead_decrypt(alg, key, ct_tag, nonce, aad)
    }

    fn signature_key_gen(&self, alg: SignatureScheme) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        self.inner.signature_key_gen(alg)
    }

    fn verify_signature(
        &self,
        alg: SignatureScheme,
        data: &[u8],
        pk: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        if self.armed.load(Ordering::Acquire) {
            let k = key(alg, data, pk, signature);
            if self.passed().contains(&k) {
                self.answered.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        self.inner.verify_signature(alg, data, pk, signature)
    }

    fn sign(&self, alg: SignatureScheme, data: &[u8], key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.sign(alg, data, key)
    }

    fn hpke_seal(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        aad: &[u8],
        ptxt: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        self.inner.hpke_seal(config, pk_r, info, aad, ptxt)
    }

    fn hpke_open(
        &self,
        config: HpkeConfig,
        input: &HpkeCiphertext,
        sk_r: &[u8],
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.inner.hpke_open(config, input, sk_r, info, aad)
    }

    fn hpke_setup_sender_and_export(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<(KemOutput, ExporterSecret), CryptoError> {
        self.inner.hpke_setup_sender_and_export(
            config,
            pk_r,
            info,
            exporter_context,
            exporter_length,
        )
    }

    fn hpke_setup_receiver_and_export(
        &self,
        config: HpkeConfig,
        enc: &[u8],
        sk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<ExporterSecret, CryptoError> {
        self.inner.hpke_setup_receiver_and_export(
            config,
            enc,
            sk_r,
            info,
            exporter_context,
            exporter_length,
        )
    }

    fn derive_hpke_keypair(
        &self,
        config: HpkeConfig,
        ikm: &[u8],
    ) -> Result<HpkeKeyPair, CryptoError> {
        self.inner.derive_hpke_keypair(config, ikm)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_a_signature_that_passed_is_answered_from_the_list_and_only_until_forgotten() {
        let crypto = Crypto::default();
        let alg = SignatureScheme::ED25519;
        let (private, public) = crypto.signature_key_gen(alg).unwrap();
        let data = b"a leaf".to_vec();
        let signature = crypto.sign(alg, &data, &private).unwrap();
        let mut forged = signature.clone();
        forged[0] ^= 1;
        let good = (alg, data.clone(), public.clone(), signature.clone());
        let bad = (alg, data.clone(), public.clone(), forged.clone());
        // Enough to be shared out: the good one, and the forged one many times.
        let mut checks = vec![good];
        checks.extend(std::iter::repeat_n(bad, MIN_AHEAD));
        assert_eq!(crypto.check_ahead(checks), 1, "only the good one is kept");
        crypto
            .verify_signature(alg, &data, &public, &signature)
            .unwrap();
        assert_eq!(crypto.answered_ahead(), 1);
        assert!(
            crypto
                .verify_signature(alg, &data, &public, &forged)
                .is_err()
        );
        assert!(
            crypto
                .verify_signature(alg, b"other data", &public, &signature)
                .is_err(),
            "the same signature over other bytes is checked, and fails"
        );
        assert!(
            crypto
                .verify_signature(
                    SignatureScheme::ECDSA_SECP256R1_SHA256,
                    &data,
                    &public,
                    &signature
                )
                .is_err(),
            "the same bytes under another scheme are checked, and fail"
        );
        // The same bytes cut into key, data and signature otherwise.
        let mut longer_key = public.clone();
        longer_key.push(data[0]);
        assert!(
            crypto
                .verify_signature(alg, &data[1..], &longer_key, &signature)
                .is_err()
        );
        assert_eq!(crypto.answered_ahead(), 1);
        crypto.forget();
        crypto
            .verify_signature(alg, &data, &public, &signature)
            .unwrap();
        assert_eq!(crypto.answered_ahead(), 1, "checked again once forgotten");
    }
}
