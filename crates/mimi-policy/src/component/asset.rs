//! `AssetPolicy`: where assets are uploaded, how they are downloaded, size and type limits (RP-04 §6.4, component 0x002C).

use super::{ComponentError, ComponentId, DomainName, MediaType, PolicyComponent, ids};

/// Where clients upload assets (RP-04 §6.4, `uint8` enum).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum AssetUploadLocation {
    /// The policy does not say.
    #[default]
    Unspecified = 0,
    /// Each client uploads to its own provider (`localProvider`).
    LocalProvider = 1,
    /// Clients upload to the hub.
    Hub = 2,
}

/// The upload destinations a given provider's clients may use (RP-04 §6.4).
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProviderAssetUploadDomains {
    /// The provider these destinations belong to.
    pub provider: DomainName,
    /// Domains its clients may upload assets to.
    pub asset_upload_destinations: Vec<DomainName>,
}

/// How a client may fetch an asset (RP-04 §6.4, `uint8` enum).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum DownloadPrivacyType {
    /// Straight from the storage location.
    Direct = 0,
    /// Through a proxy run by the hub (`hubProxy`).
    HubProxy = 1,
    /// Through Oblivious HTTP.
    Ohttp = 2,
}

/// Which download privacy types are allowed, forbidden and used by default (RP-04 §6.4).
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DownloadPrivacy {
    /// Types clients may use.
    pub allowed_download_types: Vec<DownloadPrivacyType>,
    /// Types clients must not use.
    pub forbidden_download_types: Vec<DownloadPrivacyType>,
    /// The type used unless the user picks another.
    pub default_download_type: DownloadPrivacyType,
}

impl DownloadPrivacy {
    /// Rejects a type that is both allowed and forbidden, and a forbidden default.
    ///
    /// RP-04 states no such rule in words; both cases leave a client with
    /// contradictory instructions, so they are treated as invalid.
    pub fn validate(&self) -> Result<(), ComponentError> {
        if let Some(&download_type) = self
            .allowed_download_types
            .iter()
            .find(|t| self.forbidden_download_types.contains(t))
        {
            return Err(ComponentError::DownloadTypeAllowedAndForbidden { download_type });
        }
        if self
            .forbidden_download_types
            .contains(&self.default_download_type)
        {
            return Err(ComponentError::DefaultDownloadTypeForbidden {
                download_type: self.default_download_type,
            });
        }
        Ok(())
    }
}

/// The room's asset (attachment) policy (RP-04 §6.4).
///
/// `optional<MediaType> permitted_media_types<V>` is read as an optional
/// vector: `None` permits every type not forbidden, `Some(list)` permits only
/// the listed types (erratum 10).
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AssetPolicy {
    /// Where assets are uploaded.
    pub asset_upload_location: AssetUploadLocation,
    /// Allowed upload destinations per provider.
    pub upload_domains: Vec<ProviderAssetUploadDomains>,
    /// Download privacy rules.
    pub download_privacy: DownloadPrivacy,
    /// Maximum image size in bytes.
    pub max_image: u64,
    /// Maximum audio size in bytes.
    pub max_audio: u64,
    /// Maximum video size in bytes.
    pub max_video: u64,
    /// Maximum size of other attachments in bytes.
    pub max_attachment: u64,
    /// Media types that must not be sent.
    pub forbidden_media_types: Vec<MediaType>,
    /// If present, the only media types that may be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permitted_media_types: Option<Vec<MediaType>>,
}

impl AssetPolicy {
    /// Checks the download privacy rules (see [`DownloadPrivacy::validate`]).
    pub fn validate(&self) -> Result<(), ComponentError> {
        self.download_privacy.validate()
    }
}

impl PolicyComponent for AssetPolicy {
    const ID: ComponentId = ids::ASSET_POLICY;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };

    fn sample() -> AssetPolicy {
        AssetPolicy {
            asset_upload_location: AssetUploadLocation::LocalProvider,
            upload_domains: vec![ProviderAssetUploadDomains {
                provider: DomainName::from("a.example"),
                asset_upload_destinations: vec![DomainName::from("cdn.a.example")],
            }],
            download_privacy: DownloadPrivacy {
                allowed_download_types: vec![
                    DownloadPrivacyType::HubProxy,
                    DownloadPrivacyType::Ohttp,
                ],
                forbidden_download_types: vec![DownloadPrivacyType::Direct],
                default_download_type: DownloadPrivacyType::HubProxy,
            },
            max_image: 10 << 20,
            max_audio: 20 << 20,
            max_video: 100 << 20,
            max_attachment: 50 << 20,
            forbidden_media_types: vec![MediaType::from("application/x-msdownload")],
            permitted_media_types: Some(vec![MediaType::from("image/png")]),
        }
    }

    #[test]
    fn asset_policy_round_trips() {
        tls_roundtrip(&sample());
        let json = json_roundtrip(&sample());
        assert!(json.contains("\"asset-upload-location\":\"local-provider\""));
        assert!(json.contains("\"hub-proxy\""));
        let unrestricted = AssetPolicy {
            permitted_media_types: None,
            ..sample()
        };
        tls_roundtrip(&unrestricted);
        assert!(!json_roundtrip(&unrestricted).contains("permitted-media-types"));
        assert_truncations_rejected(&sample());
        assert_trailing_rejected(&sample());
    }

    #[test]
    fn asset_policy_permitted_media_types_is_optional_vector() {
        let policy = AssetPolicy {
            asset_upload_location: AssetUploadLocation::Hub,
            upload_domains: vec![],
            download_privacy: DownloadPrivacy {
                allowed_download_types: vec![],
                forbidden_download_types: vec![],
                default_download_type: DownloadPrivacyType::Direct,
            },
            max_image: 1,
            max_audio: 2,
            max_video: 3,
            max_attachment: 4,
            forbidden_media_types: vec![],
            permitted_media_types: Some(vec![]),
        };
        let mut expected = vec![2, 0, 0, 0, 0];
        for size in 1u8..=4 {
            expected.extend([0, 0, 0, 0, 0, 0, 0, size]);
        }
        // forbidden_media_types<V> empty, then optional present(1) + empty vector.
        expected.extend([0, 1, 0]);
        assert_eq!(tls_roundtrip(&policy), expected);
    }

    #[test]
    fn asset_enums_reject_unknown_values() {
        assert!(matches!(
            decode_exact::<AssetUploadLocation>(&[3]),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode_exact::<DownloadPrivacyType>(&[3]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn asset_policy_rejects_forbidden_default_download_type() {
        let mut policy = sample();
        policy.download_privacy.default_download_type = DownloadPrivacyType::Direct;
        assert_eq!(
            policy.validate(),
            Err(ComponentError::DefaultDownloadTypeForbidden {
                download_type: DownloadPrivacyType::Direct
            })
        );
    }

    #[test]
    fn asset_policy_rejects_type_both_allowed_and_forbidden() {
        let mut policy = sample();
        policy
            .download_privacy
            .forbidden_download_types
            .push(DownloadPrivacyType::Ohttp);
        assert_eq!(
            policy.validate(),
            Err(ComponentError::DownloadTypeAllowedAndForbidden {
                download_type: DownloadPrivacyType::Ohttp
            })
        );
        assert!(sample().validate().is_ok());
    }
}
