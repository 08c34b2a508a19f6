//! The provider-to-provider messages of draft-ietf-mimi-protocol-06 (§5), in the TLS
//! presentation language through tls_codec: read strictly (every enumeration value known,
//! every embedded MLS structure checked by openmls' decoder, nothing left over) and written
//! back byte for byte (embedded MLS structures keep the bytes they came in). Pure: no I/O,
//! no clock, no keys; signing and encryption are the caller's, over the bytes
//! `signed_content` gives.
//!
//! Decision 0015 records how the draft's errata are read.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod consent;
pub mod directory;
pub mod group_info;
pub mod key_material;
pub mod submit;
pub mod update;

pub use codec::{IdentifierUri, Mls, MlsKind, Protocol, Text, decode_exact, encode};
