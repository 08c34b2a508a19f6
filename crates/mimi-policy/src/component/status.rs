//! `StatusNotificationPolicy`: delivery and read receipts (RP-04 §6.1, component 0x0028).

use super::{ComponentId, Optionality, PolicyComponent, ids};

/// Whether delivery notifications and read receipts are optional, required or forbidden (RP-04 §6.1).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct StatusNotificationPolicy {
    /// Policy for delivery notifications.
    pub delivery_notifications: Optionality,
    /// Policy for read receipts.
    pub read_receipts: Optionality,
}

impl PolicyComponent for StatusNotificationPolicy {
    const ID: ComponentId = ids::STATUS_NOTIFICATION_POLICY;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };

    #[test]
    fn status_notification_policy_is_two_optionality_bytes() {
        let policy = StatusNotificationPolicy {
            delivery_notifications: Optionality::Required,
            read_receipts: Optionality::Forbidden,
        };
        assert_eq!(tls_roundtrip(&policy), [1, 2]);
        assert_eq!(
            json_roundtrip(&policy),
            "{\"delivery-notifications\":\"required\",\"read-receipts\":\"forbidden\"}"
        );
        assert_truncations_rejected(&policy);
        assert_trailing_rejected(&policy);
    }

    #[test]
    fn status_notification_policy_rejects_unknown_optionality() {
        assert!(matches!(
            decode_exact::<StatusNotificationPolicy>(&[0, 3]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn status_notification_policy_defaults_to_optional() {
        let parsed: StatusNotificationPolicy = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, StatusNotificationPolicy::default());
        assert_eq!(tls_roundtrip(&parsed), [0, 0]);
    }
}
