//! The client API's requests and answers: what a device and its provider say to each other
//! over HTTP, as JSON. The provider (`mimi-server`) reads the requests and writes the
//! answers with these types, the client (`mimi-client`) and the load generator (`mimi bench
//! serve`) write the requests and read the answers with them, and the OpenAPI document the
//! provider serves at `/openapi.json` is generated from them (feature `openapi`).
//!
//! MLS messages (KeyPackages, GroupInfo, ratchet trees, commits, proposals, Welcomes,
//! application messages) travel base64 (standard alphabet, padded) in string fields.
//!
//! Requests refuse unknown fields (a misspelt field is an error, not ignored); answers
//! accept them, so an older client reads a newer provider's answers. A client reading an
//! answer that lacks a field or has one of the wrong type refuses it whole.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accounts;
mod consent;
mod key_packages;
mod rooms;
mod sync;

pub use accounts::{
    AccountRooms, Credentials, Device, Devices, NewDevice, PasswordChange, PseudonymRequest,
    Reauthenticate, Session,
};
pub use consent::{ConsentBody, ConsentView, Consents};
pub use key_packages::{Claim, Claimed, ClaimedAll, KeyPackageCount, Stored, Upload};
pub use rooms::{
    AbuseReport, Commit, CreateRoom, Declined, Destroyed, Directory, GroupInfo, Handshake,
    JoinInfo, Knocked, Knocks, Listed, MAX_REPORT_NOTE, Message, PendingKnock, Proposal, Provider,
    REPORT_REASONS, ReportView, Reports, RoomCreated, Sent, Suggest, Suggested, Uploaded, Vacated,
    Withdrawn,
};
pub use sync::{
    Ack, ConsentRequest, Entry, Knock, RoomAck, Suggestion, SyncBatch, SyncQuery, Welcome,
};

/// Every refusal: a 4xx (or 503) answer with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable kebab-case code (`wrong-epoch`, `consent-required`, a policy denial's code).
    pub code: String,
    /// For people.
    pub message: String,
    /// The room policy rule behind a denial (`SEED-ADD-4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The room's current epoch, with `wrong-epoch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_with_an_unknown_field_is_refused() {
        let misspelt = r#"{"user": "bob", "pasword": "x", "password": "x"}"#;
        assert!(serde_json::from_str::<Credentials>(misspelt).is_err());
        let ok = r#"{"user": "bob", "password": "x"}"#;
        assert!(serde_json::from_str::<Credentials>(ok).is_ok());
    }

    #[test]
    fn an_answer_from_a_newer_provider_with_more_fields_is_read() {
        let newer = r#"{"epoch": 3, "seq": 9, "extra": true}"#;
        let answer: Handshake = serde_json::from_str(newer).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((answer.epoch, answer.seq), (3, 9));
    }

    #[test]
    fn an_answer_lacking_a_field_is_refused() {
        assert!(serde_json::from_str::<Handshake>(r#"{"epoch": 3}"#).is_err());
        assert!(serde_json::from_str::<SyncBatch>(r#"{"welcomes": []}"#).is_err());
        let empty = r#"{"welcomes": [], "entries": []}"#;
        assert_eq!(
            serde_json::from_str::<SyncBatch>(empty).ok(),
            Some(SyncBatch::default())
        );
    }
}
