//! `PolicyComponents`: every RP-04 §5–§7 component of a room in one value.
//!
//! Maps to and from the GroupContext `app_data_dictionary` (RP-04 §2,
//! mls-extensions AppDataDictionary) keyed by the suggested component IDs.
//! Roles, preauthorization and the participant list are handled elsewhere.

use std::collections::BTreeMap;

use super::{
    AssetPolicy, BaseRoomPolicy, BotPolicy, ComponentError, ComponentId, HistoryPolicy,
    JoinLinkPolicy, JoinLinksData, LinkPreviewPolicy, LoggingPolicy, MessageExpiration,
    OperationalParameters, PolicyComponent, StatusNotificationPolicy,
};

/// The base room policy plus each optional policy component that is present (RP-04 §5–§7).
#[derive(Clone, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PolicyComponents {
    /// `base_room_policy` (0x0027), always present.
    pub base: BaseRoomPolicy,
    /// `status_notification_policy` (0x0028).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_notifications: Option<StatusNotificationPolicy>,
    /// `join_link_policy` (0x0029).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_link_policy: Option<JoinLinkPolicy>,
    /// `join_links` (0x002A).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_links: Option<JoinLinksData>,
    /// `link_preview_policy` (0x002B).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_preview: Option<LinkPreviewPolicy>,
    /// `asset_policy` (0x002C).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assets: Option<AssetPolicy>,
    /// `logging_policy` (0x002D).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<LoggingPolicy>,
    /// `chat_history_policy` (0x002E).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryPolicy>,
    /// `bot_policy` (0x002F).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bots: Option<BotPolicy>,
    /// `message_expiration_policy` (0x0030).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_expiration: Option<MessageExpiration>,
    /// `mls_operational_policy` (0x0024).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operational: Option<OperationalParameters>,
}

impl PolicyComponents {
    /// Runs every component's own rule check, stopping at the first failure.
    ///
    /// Rules that need the roles list (e.g. history sharing by roles whose
    /// maximum active participants is 0) are not checked here.
    pub fn validate(&self) -> Result<(), ComponentError> {
        self.base.validate()?;
        if let Some(link_preview) = &self.link_preview {
            link_preview.validate()?;
        }
        if let Some(assets) = &self.assets {
            assets.validate()?;
        }
        if let Some(history) = &self.history {
            history.validate()?;
        }
        if let Some(bots) = &self.bots {
            bots.validate()?;
        }
        if let Some(message_expiration) = &self.message_expiration {
            message_expiration.validate()?;
        }
        if let Some(operational) = &self.operational {
            operational.validate()?;
        }
        Ok(())
    }

    /// Encodes each present component as an AppDataDictionary entry keyed by its ID.
    ///
    /// Only encodes: call [`PolicyComponents::validate`] first to refuse
    /// publishing a policy that breaks an RP-04 rule.
    pub fn to_app_data(&self) -> Result<BTreeMap<ComponentId, Vec<u8>>, ComponentError> {
        let mut entries = BTreeMap::new();
        put(&mut entries, Some(&self.base))?;
        put(&mut entries, self.status_notifications.as_ref())?;
        put(&mut entries, self.join_link_policy.as_ref())?;
        put(&mut entries, self.join_links.as_ref())?;
        put(&mut entries, self.link_preview.as_ref())?;
        put(&mut entries, self.assets.as_ref())?;
        put(&mut entries, self.logging.as_ref())?;
        put(&mut entries, self.history.as_ref())?;
        put(&mut entries, self.bots.as_ref())?;
        put(&mut entries, self.message_expiration.as_ref())?;
        put(&mut entries, self.operational.as_ref())?;
        Ok(entries)
    }

    /// Decodes the policy components from AppDataDictionary entries.
    ///
    /// The base room policy must be present. Entries for other components
    /// (roles, preauth, participant list, unknown IDs) are ignored so this can
    /// read the full dictionary. Only decodes: call
    /// [`PolicyComponents::validate`] to check the RP-04 rules.
    pub fn from_app_data(entries: &BTreeMap<ComponentId, Vec<u8>>) -> Result<Self, ComponentError> {
        let base = take(entries)?.ok_or(ComponentError::MissingComponent {
            component_id: BaseRoomPolicy::ID,
        })?;
        Ok(PolicyComponents {
            base,
            status_notifications: take(entries)?,
            join_link_policy: take(entries)?,
            join_links: take(entries)?,
            link_preview: take(entries)?,
            assets: take(entries)?,
            logging: take(entries)?,
            history: take(entries)?,
            bots: take(entries)?,
            message_expiration: take(entries)?,
            operational: take(entries)?,
        })
    }
}

fn put<T: PolicyComponent>(
    entries: &mut BTreeMap<ComponentId, Vec<u8>>,
    component: Option<&T>,
) -> Result<(), ComponentError> {
    if let Some(component) = component {
        entries.insert(T::ID, component.to_component_bytes()?);
    }
    Ok(())
}

/// Decodes the entry of component `T`, if present.
pub(crate) fn take<T: PolicyComponent>(
    entries: &BTreeMap<ComponentId, Vec<u8>>,
) -> Result<Option<T>, ComponentError> {
    entries
        .get(&T::ID)
        .map(|bytes| T::from_component_bytes(bytes))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::DecodeError;
    use crate::component::base::tests::arb_base_room_policy;
    use crate::component::operational::tests::{arb_operational_parameters, sample};
    use crate::component::test_support::json_roundtrip;
    use crate::component::{
        DownloadPrivacy, DownloadPrivacyType, ExpirationRange, Flag, HistorySharing, JoinLink,
        LinkPreviewProxy, LoggingDetails, Optionality, Uri, ids,
    };
    use proptest::prelude::*;

    fn full() -> PolicyComponents {
        PolicyComponents {
            base: BaseRoomPolicy::default(),
            status_notifications: Some(StatusNotificationPolicy::default()),
            join_link_policy: Some(JoinLinkPolicy {
                on_request: Flag(false),
                join_link: Uri::from("https://hub.example/j"),
                multiuser: Flag(true),
                expiration: 60,
            }),
            join_links: Some(JoinLinksData(vec![JoinLink::from(
                "https://hub.example/j/1",
            )])),
            link_preview: Some(LinkPreviewPolicy {
                link_preview_proxy: LinkPreviewProxy::Optional {
                    uris: vec![Uri::from("https://proxy.example")],
                },
                ..LinkPreviewPolicy::default()
            }),
            assets: Some(AssetPolicy {
                asset_upload_location: crate::component::AssetUploadLocation::Hub,
                upload_domains: vec![],
                download_privacy: DownloadPrivacy {
                    allowed_download_types: vec![DownloadPrivacyType::Ohttp],
                    forbidden_download_types: vec![],
                    default_download_type: DownloadPrivacyType::Ohttp,
                },
                max_image: 1,
                max_audio: 2,
                max_video: 3,
                max_attachment: 4,
                forbidden_media_types: vec![],
                permitted_media_types: None,
            }),
            logging: Some(LoggingPolicy::Optional(LoggingDetails {
                logging_clients: vec![],
                machine_readable_policy: Uri::from("m"),
                human_readable_policy: Uri::from("h"),
            })),
            history: Some(HistoryPolicy::Required(HistorySharing {
                roles_that_can_share: vec![2],
                automatically_share: Flag(false),
                max_time_period: 10,
            })),
            bots: Some(BotPolicy::default()),
            message_expiration: Some(MessageExpiration::Optional(ExpirationRange {
                min_expiration_duration: 1,
                max_expiration_duration: 2,
                default_expiration_duration: None,
            })),
            operational: Some(sample()),
        }
    }

    #[test]
    fn policy_components_app_data_uses_suggested_ids() {
        let entries = full().to_app_data().unwrap();
        let keys: Vec<_> = entries.keys().copied().collect();
        assert_eq!(
            keys,
            [
                ids::MLS_OPERATIONAL_POLICY,
                ids::BASE_ROOM_POLICY,
                ids::STATUS_NOTIFICATION_POLICY,
                ids::JOIN_LINK_POLICY,
                ids::JOIN_LINKS,
                ids::LINK_PREVIEW_POLICY,
                ids::ASSET_POLICY,
                ids::LOGGING_POLICY,
                ids::CHAT_HISTORY_POLICY,
                ids::BOT_POLICY,
                ids::MESSAGE_EXPIRATION_POLICY,
            ]
        );
        assert_eq!(PolicyComponents::from_app_data(&entries).unwrap(), full());
    }

    #[test]
    fn policy_components_default_is_only_base_entry() {
        let entries = PolicyComponents::default().to_app_data().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[&ids::BASE_ROOM_POLICY],
            [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
        );
        assert_eq!(
            PolicyComponents::from_app_data(&entries).unwrap(),
            PolicyComponents::default()
        );
    }

    #[test]
    fn policy_components_from_app_data_requires_base() {
        let mut entries = full().to_app_data().unwrap();
        entries.remove(&ids::BASE_ROOM_POLICY);
        let err = PolicyComponents::from_app_data(&entries).unwrap_err();
        assert_eq!(
            err,
            ComponentError::MissingComponent {
                component_id: ids::BASE_ROOM_POLICY
            }
        );
        assert_eq!(err.code(), "missing-component");
    }

    #[test]
    fn policy_components_from_app_data_ignores_foreign_components() {
        let mut entries = PolicyComponents::default().to_app_data().unwrap();
        entries.insert(ids::ROLES_LIST, vec![0xff, 0xff]);
        entries.insert(ids::PARTICIPANT_LIST, vec![0xff]);
        entries.insert(0x8001, vec![]);
        assert_eq!(
            PolicyComponents::from_app_data(&entries).unwrap(),
            PolicyComponents::default()
        );
    }

    #[test]
    fn policy_components_from_app_data_reports_bad_component() {
        let mut entries = PolicyComponents::default().to_app_data().unwrap();
        entries.insert(ids::LOGGING_POLICY, vec![2, 0]);
        assert_eq!(
            PolicyComponents::from_app_data(&entries),
            Err(ComponentError::Decode {
                component_id: ids::LOGGING_POLICY,
                source: DecodeError::TrailingBytes { extra: 1 }
            })
        );
    }

    #[test]
    fn policy_components_json_skips_absent_components() {
        assert_eq!(
            json_roundtrip(&PolicyComponents::default()),
            "{\"base\":{\"fixed-membership\":false,\"parent-dependant\":false,\"parent-room\":[],\"multi-device\":true,\"pseudonyms-allowed\":false,\"persistent-room\":true,\"discoverable\":false,\"policy-component-ids\":[]}}"
        );
        let json = json_roundtrip(&full());
        assert!(json.contains("\"message-expiration\":{\"expiring-messages\":\"optional\""));
        assert!(serde_json::from_str::<PolicyComponents>("{\"roles\":[]}").is_err());
    }

    #[test]
    fn policy_components_validate_reports_first_broken_rule() {
        assert!(full().validate().is_ok());
        let mut broken = full();
        broken.link_preview = Some(LinkPreviewPolicy {
            autodetect_hyperlinks_in_text: Optionality::Required,
            ..LinkPreviewPolicy::default()
        });
        assert_eq!(
            broken.validate().map_err(|e| e.code()),
            Err("autodetect-hyperlinks-required")
        );
        let mut broken = full();
        broken.history = Some(HistoryPolicy::Optional(HistorySharing {
            roles_that_can_share: vec![1],
            automatically_share: Flag(true),
            max_time_period: 0,
        }));
        assert_eq!(
            broken.validate().map_err(|e| e.code()),
            Err("history-role-not-shareable")
        );
        let mut broken = full();
        broken.base.parent_dependant = Flag(true);
        assert_eq!(broken.validate(), Err(ComponentError::ParentRoomMissing));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn policy_components_app_data_round_trips(
            base in arb_base_room_policy(),
            operational in proptest::option::of(arb_operational_parameters()),
        ) {
            let components = PolicyComponents { base, operational, ..full() };
            let entries = components.to_app_data().unwrap();
            prop_assert_eq!(PolicyComponents::from_app_data(&entries).unwrap(), components.clone());
            json_roundtrip(&components);
        }
    }
}
