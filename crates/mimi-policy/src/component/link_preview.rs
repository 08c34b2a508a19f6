//! `LinkPreviewPolicy` (RP-04 §6.3, component 0x002B).

use std::io::{Read, Write};

use super::optionality::{Selected, deserialize_select, select_len, serialize_select};
use super::{ComponentError, ComponentId, Optionality, PolicyComponent, Uri, ids};

/// Link handling rules for clients in the room (RP-04 §6.3).
#[derive(
    Clone,
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
pub struct LinkPreviewPolicy {
    /// Whether clients turn URLs in text into hyperlinks; must not be required.
    pub autodetect_hyperlinks_in_text: Optionality,
    /// Whether senders may attach link previews.
    pub send_link_previews: Optionality,
    /// Whether clients generate previews without user action.
    pub automatic_link_previews: Optionality,
    /// `link_preview_proxy_use` together with its `select` arm.
    pub link_preview_proxy: LinkPreviewProxy,
}

impl LinkPreviewPolicy {
    /// Rejects `autodetect_hyperlinks_in_text = required`, which RP-04 §6.3 forbids.
    pub fn validate(&self) -> Result<(), ComponentError> {
        if self.autodetect_hyperlinks_in_text == Optionality::Required {
            return Err(ComponentError::AutodetectHyperlinksRequired);
        }
        Ok(())
    }
}

impl PolicyComponent for LinkPreviewPolicy {
    const ID: ComponentId = ids::LINK_PREVIEW_POLICY;
}

/// Whether previews must, may or must not be fetched through a proxy, with the proxy URIs.
///
/// Wire form: `Optionality link_preview_proxy_use` then, unless forbidden,
/// `Uri link_preview_proxy<V>`. JSON: `{"use": "required", "uris": [...]}`.
#[derive(Clone, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "LinkPreviewProxyJson", into = "LinkPreviewProxyJson")]
pub enum LinkPreviewProxy {
    /// No proxy is used (`forbidden`).
    #[default]
    Forbidden,
    /// Clients may use one of these proxies.
    Optional {
        /// The proxy URIs.
        uris: Vec<Uri>,
    },
    /// Clients must use one of these proxies.
    Required {
        /// The proxy URIs.
        uris: Vec<Uri>,
    },
}

impl LinkPreviewProxy {
    /// The `link_preview_proxy_use` value on the wire.
    pub fn optionality(&self) -> Optionality {
        match self {
            LinkPreviewProxy::Forbidden => Optionality::Forbidden,
            LinkPreviewProxy::Optional { .. } => Optionality::Optional,
            LinkPreviewProxy::Required { .. } => Optionality::Required,
        }
    }

    /// The proxy URIs, empty when proxy use is forbidden.
    pub fn uris(&self) -> &[Uri] {
        match self {
            LinkPreviewProxy::Forbidden => &[],
            LinkPreviewProxy::Optional { uris } | LinkPreviewProxy::Required { uris } => uris,
        }
    }

    fn arm(&self) -> Option<&Vec<Uri>> {
        match self {
            LinkPreviewProxy::Forbidden => None,
            LinkPreviewProxy::Optional { uris } | LinkPreviewProxy::Required { uris } => Some(uris),
        }
    }
}

/// JSON shape of [`LinkPreviewProxy`].
///
/// serde ignores stray fields next to the tag of an internally tagged unit
/// variant, so `forbidden` is an empty struct variant here to keep
/// `deny_unknown_fields` effective.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(
    tag = "use",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case",
    deny_unknown_fields
)]
enum LinkPreviewProxyJson {
    Forbidden {},
    Optional { uris: Vec<Uri> },
    Required { uris: Vec<Uri> },
}

impl From<LinkPreviewProxyJson> for LinkPreviewProxy {
    fn from(json: LinkPreviewProxyJson) -> Self {
        match json {
            LinkPreviewProxyJson::Forbidden {} => LinkPreviewProxy::Forbidden,
            LinkPreviewProxyJson::Optional { uris } => LinkPreviewProxy::Optional { uris },
            LinkPreviewProxyJson::Required { uris } => LinkPreviewProxy::Required { uris },
        }
    }
}

impl From<LinkPreviewProxy> for LinkPreviewProxyJson {
    fn from(proxy: LinkPreviewProxy) -> Self {
        match proxy {
            LinkPreviewProxy::Forbidden => LinkPreviewProxyJson::Forbidden {},
            LinkPreviewProxy::Optional { uris } => LinkPreviewProxyJson::Optional { uris },
            LinkPreviewProxy::Required { uris } => LinkPreviewProxyJson::Required { uris },
        }
    }
}

impl tls_codec::Size for LinkPreviewProxy {
    fn tls_serialized_len(&self) -> usize {
        select_len(self.arm())
    }
}

impl tls_codec::Serialize for LinkPreviewProxy {
    fn tls_serialize<W: Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        serialize_select(self.optionality(), self.arm(), writer)
    }
}

impl tls_codec::Deserialize for LinkPreviewProxy {
    fn tls_deserialize<R: Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        Ok(match deserialize_select(bytes)? {
            Selected::Forbidden => LinkPreviewProxy::Forbidden,
            Selected::Optional(uris) => LinkPreviewProxy::Optional { uris },
            Selected::Required(uris) => LinkPreviewProxy::Required { uris },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };

    fn with_proxy() -> LinkPreviewPolicy {
        LinkPreviewPolicy {
            autodetect_hyperlinks_in_text: Optionality::Optional,
            send_link_previews: Optionality::Required,
            automatic_link_previews: Optionality::Forbidden,
            link_preview_proxy: LinkPreviewProxy::Required {
                uris: vec![Uri::from("https://p.example")],
            },
        }
    }

    #[test]
    fn link_preview_policy_encodes_select_arm_after_proxy_use() {
        // Three Optionality bytes, then link_preview_proxy_use = required(1),
        // then Uri link_preview_proxy<V>: outer length 18 = 1 + 17, inner length 17.
        let mut expected = vec![0, 1, 2, 1, 18, 17];
        expected.extend(b"https://p.example");
        assert_eq!(tls_roundtrip(&with_proxy()), expected);
        assert_truncations_rejected(&with_proxy());
        assert_trailing_rejected(&with_proxy());
    }

    #[test]
    fn link_preview_policy_forbidden_proxy_has_no_arm_bytes() {
        assert_eq!(tls_roundtrip(&LinkPreviewPolicy::default()), [0, 0, 0, 2]);
    }

    #[test]
    fn link_preview_policy_json_round_trips() {
        let json = json_roundtrip(&with_proxy());
        assert!(json.contains(
            "\"link-preview-proxy\":{\"use\":\"required\",\"uris\":[\"https://p.example\"]}"
        ));
        let optional = LinkPreviewPolicy {
            link_preview_proxy: LinkPreviewProxy::Optional { uris: vec![] },
            ..LinkPreviewPolicy::default()
        };
        tls_roundtrip(&optional);
        json_roundtrip(&optional);
        json_roundtrip(&LinkPreviewPolicy::default());
    }

    #[test]
    fn link_preview_proxy_json_rejects_unknown_fields() {
        assert!(
            serde_json::from_str::<LinkPreviewProxy>("{\"use\":\"forbidden\",\"uris\":[]}")
                .is_err()
        );
        assert!(
            serde_json::from_str::<LinkPreviewProxy>("{\"use\":\"optional\",\"uris\":[],\"x\":1}")
                .is_err()
        );
    }

    #[test]
    fn link_preview_policy_rejects_unknown_proxy_use() {
        assert!(matches!(
            decode_exact::<LinkPreviewPolicy>(&[0, 0, 0, 3]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn link_preview_policy_rejects_required_autodetect() {
        let policy = LinkPreviewPolicy {
            autodetect_hyperlinks_in_text: Optionality::Required,
            ..LinkPreviewPolicy::default()
        };
        assert_eq!(
            policy.validate(),
            Err(ComponentError::AutodetectHyperlinksRequired)
        );
        assert!(with_proxy().validate().is_ok());
    }

    #[test]
    fn link_preview_proxy_accessors_follow_arm() {
        assert_eq!(
            with_proxy().link_preview_proxy.optionality(),
            Optionality::Required
        );
        assert_eq!(with_proxy().link_preview_proxy.uris().len(), 1);
        assert!(LinkPreviewProxy::Forbidden.uris().is_empty());
    }
}
