//! `BotPolicy`: the bots allowed in the room (RP-04 §6.7, component 0x002F).

use super::{ComponentError, ComponentId, Flag, PolicyComponent, Uri, ids};

/// One allowed bot (RP-04 §6.7).
///
/// `name` and `description` are `opaque<V>` in the draft; they are
/// human-readable text, so they are held as UTF-8 strings.
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
pub struct Bot {
    /// Display name of the bot.
    pub name: String,
    /// What the bot does.
    pub description: String,
    /// The bot's home page.
    pub homepage: Uri,
    /// The bot runs inside a participant's client rather than as its own member.
    pub local_client_bot: Flag,
    /// Role the bot holds; 0 for a local client bot.
    pub bot_role_index: u32,
    /// The bot may send messages targeted at some members only.
    pub can_target_message_in_group: Flag,
    /// The bot may show different content to different users.
    pub per_user_content: Flag,
}

/// The list of bots allowed in the room (RP-04 §6.7).
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
pub struct BotPolicy {
    /// The allowed bots.
    pub allowed_bots: Vec<Bot>,
}

impl BotPolicy {
    /// Rejects a local client bot whose `bot_role_index` is not 0.
    ///
    /// A local bot is not a participant of its own, so RP-04 §6.7 gives it
    /// role index 0; any other value would grant it a role it cannot hold.
    pub fn validate(&self) -> Result<(), ComponentError> {
        match self
            .allowed_bots
            .iter()
            .enumerate()
            .find(|(_, bot)| bot.local_client_bot.get() && bot.bot_role_index != 0)
        {
            Some((index, bot)) => Err(ComponentError::LocalBotHasRole {
                bot: index,
                role_index: bot.bot_role_index,
            }),
            None => Ok(()),
        }
    }
}

impl PolicyComponent for BotPolicy {
    const ID: ComponentId = ids::BOT_POLICY;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };

    fn bot(local: bool, role: u32) -> Bot {
        Bot {
            name: "b".to_owned(),
            description: "d".to_owned(),
            homepage: Uri::from("u"),
            local_client_bot: Flag(local),
            bot_role_index: role,
            can_target_message_in_group: Flag(false),
            per_user_content: Flag(true),
        }
    }

    #[test]
    fn bot_policy_encodes_fields_in_draft_order() {
        let policy = BotPolicy {
            allowed_bots: vec![bot(false, 5)],
        };
        // One Bot: name (1,'b'), description (1,'d'), homepage (1,'u'), local 00,
        // role uint32 5, can_target 00, per_user 01 = 13 bytes, wrapped in a varint-13 vector.
        let expected = [13, 1, b'b', 1, b'd', 1, b'u', 0, 0, 0, 0, 5, 0, 1];
        assert_eq!(tls_roundtrip(&policy), expected);
        let json = json_roundtrip(&policy);
        assert!(json.contains("\"bot-role-index\":5"));
        assert_truncations_rejected(&policy);
        assert_trailing_rejected(&policy);
        json_roundtrip(&BotPolicy::default());
        tls_roundtrip(&BotPolicy::default());
    }

    #[test]
    fn bot_rejects_bool_byte_two() {
        let mut bytes = tls_roundtrip(&bot(true, 0));
        bytes[6] = 2; // local_client_bot
        assert!(matches!(
            decode_exact::<Bot>(&bytes),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn bot_policy_rejects_local_bot_with_role() {
        let policy = BotPolicy {
            allowed_bots: vec![bot(true, 0), bot(false, 4), bot(true, 3)],
        };
        assert_eq!(
            policy.validate(),
            Err(ComponentError::LocalBotHasRole {
                bot: 2,
                role_index: 3
            })
        );
        let valid = BotPolicy {
            allowed_bots: vec![bot(true, 0), bot(false, 4)],
        };
        assert!(valid.validate().is_ok());
    }
}
