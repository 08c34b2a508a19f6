//! Why a message could not be read or written.

/// Why a message could not be read or written: never a panic, always one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// Not CBOR, or cut short.
    #[error("not CBOR: {0}")]
    Cbor(String),
    /// CBOR, but not in the deterministic encoding the draft requires (RFC 8949 §4.2.1).
    #[error("not deterministic CBOR: {0}")]
    NotDeterministic(String),
    /// A field has the wrong type or size.
    #[error("{path}: {message}")]
    Shape {
        /// Where, in the draft's field names.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Parts or extensions nested deeper than the draft allows.
    #[error("{0} nested more than 4 levels deep")]
    TooDeep(&'static str),
}

impl ContentError {
    pub(crate) fn shape(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Shape {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A stable code: `bad-cbor`, `not-deterministic`, `bad-content` or `too-deep`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Cbor(_) => "bad-cbor",
            Self::NotDeterministic(_) => "not-deterministic",
            Self::Shape { .. } => "bad-content",
            Self::TooDeep(_) => "too-deep",
        }
    }
}
