//! `requestConsent` / `updateConsent` (protocol-06 §5.7), `identifierQuery` (§5.8) and
//! `reportAbuse` (§5.9): between two providers directly, no hub involved.

use tls_codec::Error;

use crate::codec::{
    AppDataDictionary, IdentifierUri, KeyPackage, Mls, Opaque, Select, Text, byte_enum, put,
    select_codec, take,
};
use crate::submit::Frank;

byte_enum! {
    /// `ConsentOperation`.
    ConsentOperation {
        /// Withdraws an earlier request.
        Cancel = 0,
        /// Asks for consent.
        Request = 1,
        /// Grants it (with KeyPackages).
        Grant = 2,
        /// Takes it back.
        Revoke = 3,
    }
}

/// `ConsentEntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEntry {
    /// Who asks (or asked).
    pub requester_uri: IdentifierUri,
    /// Whose consent.
    pub target_uri: IdentifierUri,
    /// The room it is for, if only one.
    pub room_id: Option<IdentifierUri>,
    /// What happens, with a grant's KeyPackages.
    pub operation: Consent,
    /// Extensions.
    pub consent_extensions: Mls<AppDataDictionary>,
}

/// `ConsentEntry`'s operation and its `select`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// `cancel`.
    Cancel,
    /// `request`.
    Request,
    /// `grant`, with the target's clients' KeyPackages.
    Grant(Vec<Mls<KeyPackage>>),
    /// `revoke`.
    Revoke,
}

impl Select for ConsentEntry {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let op = match &self.operation {
            Consent::Cancel => ConsentOperation::Cancel,
            Consent::Request => ConsentOperation::Request,
            Consent::Grant(_) => ConsentOperation::Grant,
            Consent::Revoke => ConsentOperation::Revoke,
        };
        put(out, &op)?;
        put(out, &self.requester_uri)?;
        put(out, &self.target_uri)?;
        put(out, &self.room_id)?;
        if let Consent::Grant(kps) = &self.operation {
            put(out, kps)?;
        }
        put(out, &self.consent_extensions)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (op, bytes) = take::<ConsentOperation>(bytes)?;
        let (requester_uri, bytes) = take(bytes)?;
        let (target_uri, bytes) = take(bytes)?;
        let (room_id, bytes) = take(bytes)?;
        let (operation, bytes) = match op {
            ConsentOperation::Cancel => (Consent::Cancel, bytes),
            ConsentOperation::Request => (Consent::Request, bytes),
            ConsentOperation::Grant => {
                let (kps, bytes) = take(bytes)?;
                (Consent::Grant(kps), bytes)
            }
            ConsentOperation::Revoke => (Consent::Revoke, bytes),
        };
        let (consent_extensions, bytes) = take(bytes)?;
        Ok((
            Self {
                requester_uri,
                target_uri,
                room_id,
                operation,
                consent_extensions,
            },
            bytes,
        ))
    }
}

byte_enum! {
    /// `SearchIdentifierType`.
    SearchIdentifierType {
        /// A handle (`im:alice@a.example`).
        Handle = 1,
        /// A nickname.
        Nick = 2,
        /// An email address.
        Email = 3,
        /// A phone number.
        Phone = 4,
        /// Part of a name.
        PartialName = 5,
        /// The whole profile.
        WholeProfile = 6,
        /// An OpenID Connect standard claim.
        OidcStdClaim = 7,
        /// A vCard property.
        VcardField = 8,
    }
}

/// `QueryElement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryElement {
    /// What is searched, with the claim or property name the last two need.
    pub search: Search,
    /// The value sought (UTF-8).
    pub search_value: Text,
}

/// `QueryElement`'s type and `select`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// One of the types that takes no name.
    Plain(SearchIdentifierType),
    /// `oidcStdClaim` with its claim name.
    OidcStdClaim(Opaque),
    /// `vcardField` with its property name.
    VcardField(Opaque),
}

impl Select for QueryElement {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match &self.search {
            Search::Plain(t) => {
                if matches!(
                    t,
                    SearchIdentifierType::OidcStdClaim | SearchIdentifierType::VcardField
                ) {
                    return Err(Error::EncodingError("this search type takes a name".into()));
                }
                put(out, t)?;
            }
            Search::OidcStdClaim(name) => {
                put(out, &SearchIdentifierType::OidcStdClaim)?;
                put(out, name)?;
            }
            Search::VcardField(name) => {
                put(out, &SearchIdentifierType::VcardField)?;
                put(out, name)?;
            }
        }
        put(out, &self.search_value)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (t, bytes) = take::<SearchIdentifierType>(bytes)?;
        let (search, bytes) = match t {
            SearchIdentifierType::OidcStdClaim => {
                let (name, bytes) = take(bytes)?;
                (Search::OidcStdClaim(name), bytes)
            }
            SearchIdentifierType::VcardField => {
                let (name, bytes) = take(bytes)?;
                (Search::VcardField(name), bytes)
            }
            other => (Search::Plain(other), bytes),
        };
        let (search_value, bytes) = take(bytes)?;
        Ok((
            Self {
                search,
                search_value,
            },
            bytes,
        ))
    }
}

/// `IdentifierRequest`: every element must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierRequest {
    /// The query.
    pub query_elements: Vec<QueryElement>,
    /// Extensions.
    pub id_request_extensions: Mls<AppDataDictionary>,
}

byte_enum! {
    /// `IdentifierQueryCode`.
    IdentifierQueryCode {
        /// Found.
        Success = 0,
        /// Nobody matches.
        NotFound = 1,
        /// More than one matches.
        Ambiguous = 2,
        /// The requester may not ask this.
        Forbidden = 3,
        /// A field is not supported.
        UnsupportedField = 4,
    }
}

byte_enum! {
    /// `FieldSource`.
    FieldSource {
        /// An OpenID Connect standard claim.
        OidcStdClaim = 7,
        /// A vCard property.
        VcardField = 8,
    }
}

/// `ProfileField`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileField {
    /// Where its name comes from.
    pub field_source: FieldSource,
    /// Its name.
    pub field_name: Text,
    /// Its value.
    pub field_value: Opaque,
}

/// `UserProfile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    /// The user's stable URI.
    pub stable_uri: IdentifierUri,
    /// What the provider tells of it.
    pub fields: Vec<ProfileField>,
}

/// `IdentifierResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierResponse {
    /// The outcome.
    pub response_code: IdentifierQueryCode,
    /// The users found.
    pub uri: Vec<IdentifierUri>,
    /// Their profiles.
    pub found_profiles: Vec<UserProfile>,
    /// Extensions.
    pub id_response_extensions: Mls<AppDataDictionary>,
}

/// `AbuseType`: only `reserved(0)` is defined; it is what every report carries.
pub const ABUSE_TYPE_RESERVED: u8 = 0;

/// `AbusiveMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbusiveMessage {
    /// The message content (MIMI content).
    pub message_content: Opaque,
    /// The hub's frank of it.
    pub frank: Frank,
    /// When the hub accepted it.
    pub accepted_timestamp: u64,
}

/// `AbuseReport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbuseReport {
    /// Who reports.
    pub reporting_user: IdentifierUri,
    /// Whom.
    pub alleged_abuser_uri: IdentifierUri,
    /// Why: only reserved (0) is defined.
    pub reason_code: u8,
    /// For a person.
    pub note: Opaque,
    /// The messages.
    pub messages: Vec<AbusiveMessage>,
    /// Extensions.
    pub abuse_extensions: Mls<AppDataDictionary>,
}

macro_rules! plain_struct {
    ($t:ident { $($field:ident),* }) => {
        impl Select for $t {
            fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
                $(put(out, &self.$field)?;)*
                Ok(())
            }
            fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
                $(let ($field, bytes) = take(bytes)?;)*
                Ok((Self { $($field),* }, bytes))
            }
        }
    };
}

plain_struct!(IdentifierRequest {
    query_elements,
    id_request_extensions
});
plain_struct!(ProfileField {
    field_source,
    field_name,
    field_value
});
plain_struct!(UserProfile { stable_uri, fields });
plain_struct!(IdentifierResponse {
    response_code,
    uri,
    found_profiles,
    id_response_extensions
});
plain_struct!(AbusiveMessage {
    message_content,
    frank,
    accepted_timestamp
});
plain_struct!(AbuseReport {
    reporting_user,
    alleged_abuser_uri,
    reason_code,
    note,
    messages,
    abuse_extensions
});

select_codec!(
    ConsentEntry,
    QueryElement,
    IdentifierRequest,
    ProfileField,
    UserProfile,
    IdentifierResponse,
    AbusiveMessage,
    AbuseReport
);
