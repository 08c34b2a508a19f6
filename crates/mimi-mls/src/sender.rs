//! The sender of an application message, bound in its authenticated data. A PrivateMessage
//! hides its sender from everyone but the members, so the hub could not tell a member's
//! message from one another member re-posts byte for byte: receivers would drop the copy
//! (its key generation is spent), but the log would keep it. The sender therefore names its
//! own leaf in the message's authenticated data, framed as Safe AAD (mls-extensions §4.9)
//! under mimi's private `sender_leaf` component ID:
//!
//! ```text
//! struct { uint32 leaf_index; } SenderLeaf;
//! ```
//!
//! The hub refuses a message whose named leaf is not the submitting client's; every member
//! refuses one whose named leaf is not the leaf that encrypted it. The data is authenticated
//! by the message's AEAD, so it cannot be changed without making the message unreadable.

use mimi_policy::component::ids;
use openmls::framing::{SafeAad, SafeAadItem};
use tls_codec::{Deserialize as _, Serialize as _};

use crate::MlsError;

/// The authenticated data naming `leaf` as the sender.
pub fn sender_aad(leaf: u32) -> Result<Vec<u8>, MlsError> {
    let data = leaf.tls_serialize_detached().map_err(MlsError::openmls)?;
    SafeAad::from_items(vec![SafeAadItem::new(ids::SENDER_LEAF, data)])
        .map_err(MlsError::openmls)?
        .tls_serialize_detached()
        .map_err(MlsError::openmls)
}

/// The sender leaf an application message's authenticated data names.
pub fn sender_of_aad(aad: &[u8]) -> Result<u32, MlsError> {
    let missing = || MlsError::Malformed("the message does not name its sender".into());
    let safe = SafeAad::tls_deserialize_exact(aad).map_err(|_| missing())?;
    let data = safe.get(ids::SENDER_LEAF).ok_or_else(missing)?;
    u32::tls_deserialize_exact(data).map_err(|_| missing())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_leaf_round_trips_and_anything_else_names_no_sender() {
        for leaf in [0, 1, 7, u32::MAX] {
            assert_eq!(sender_of_aad(&sender_aad(leaf).unwrap()).unwrap(), leaf);
        }
        for bad in [&b""[..], b"\xff\xff", b"\x00"] {
            assert!(matches!(sender_of_aad(bad), Err(MlsError::Malformed(_))));
        }
    }
}
