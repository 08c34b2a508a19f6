//! The endpoint directory (protocol-06 §5.1): `GET /.well-known/mimi-protocol-directory`
//! answers a JSON map from endpoint to URL template. The draft's example misses a `/` in
//! `update` and a `:` after `proxyDownload` (decision 0015); paths are always taken from a
//! peer's directory, never assumed.

use serde::{Deserialize, Serialize};

/// The well-known path of the directory.
pub const DIRECTORY_PATH: &str = "/.well-known/mimi-protocol-directory";

/// A provider's endpoints, as URL templates with one `{...}` placeholder each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    /// `.../keyMaterial/{targetUser}`.
    pub key_material: String,
    /// `.../update/{roomId}`.
    pub update: String,
    /// `.../notify/{roomId}`.
    pub notify: String,
    /// `.../submitMessage/{roomId}`.
    pub submit_message: String,
    /// `.../groupInfo/{roomId}`.
    pub group_info: String,
    /// `.../requestConsent/{targetUser}`.
    pub request_consent: String,
    /// `.../updateConsent/{requesterUser}`.
    pub update_consent: String,
    /// `.../identifierQuery/{domain}`.
    pub identifier_query: String,
    /// `.../reportAbuse/{roomId}`.
    pub report_abuse: String,
    /// `.../proxyDownload/{downloadUrl}` (not served by mimi yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_download: Option<String>,
    /// mimi's own, beyond the draft: `.../x-removeDevice/{roomId}`, where a follower asks
    /// the hub to remove one of its devices, deleted there, from a room (decision 0015).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_remove_device: Option<String>,
    /// mimi's own: `.../x-knock/{roomId}`, a follower's user knocks on a room (the draft
    /// leaves knocks unspecified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_knock: Option<String>,
    /// mimi's own: `.../x-withdrawKnock/{roomId}`, it withdraws its knock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_withdraw_knock: Option<String>,
    /// mimi's own: `.../x-roomDocument/{roomId}`, a room's document for a follower's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_room_document: Option<String>,
    /// mimi's own: `.../x-attachment/{roomId}`, a follower's member uploads an attachment
    /// (the body) or, naming it in `Mimi-Attachment`, fetches one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_attachment: Option<String>,
}

/// The path prefix of mimi's own provider-to-provider endpoints.
pub const PREFIX: &str = "/mimi/v1";

impl Directory {
    /// mimi's endpoints at `base` (`https://host:port`, no trailing slash).
    pub fn at(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let url = |path: &str| format!("{base}{PREFIX}/{path}");
        Self {
            key_material: url("keyMaterial/{targetUser}"),
            update: url("update/{roomId}"),
            notify: url("notify/{roomId}"),
            submit_message: url("submitMessage/{roomId}"),
            group_info: url("groupInfo/{roomId}"),
            request_consent: url("requestConsent/{targetUser}"),
            update_consent: url("updateConsent/{requesterUser}"),
            identifier_query: url("identifierQuery/{domain}"),
            report_abuse: url("reportAbuse/{roomId}"),
            proxy_download: None,
            x_remove_device: Some(url("x-removeDevice/{roomId}")),
            x_knock: Some(url("x-knock/{roomId}")),
            x_withdraw_knock: Some(url("x-withdrawKnock/{roomId}")),
            x_room_document: Some(url("x-roomDocument/{roomId}")),
            x_attachment: Some(url("x-attachment/{roomId}")),
        }
    }
}

/// `template` with its one `{...}` placeholder replaced by `value`, percent-encoded (every
/// byte but the URI's unreserved characters). `None` when it has no placeholder, or the
/// result is not an `https://` or `http://` URL.
pub fn expand(template: &str, value: &str) -> Option<String> {
    let start = template.find('{')?;
    let end = start + template[start..].find('}')?;
    if !(template.starts_with("https://") || template.starts_with("http://"))
        || template[end + 1..].contains('{')
    {
        return None;
    }
    let mut out = String::with_capacity(template.len() + value.len() * 3);
    out.push_str(&template[..start]);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push_str(&template[end + 1..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drafts_directory_example_reads_once_its_missing_colon_is_put_back() {
        // §5.1's example, with the `:` after "proxyDownload" that it misses.
        let example = r#"{
          "keyMaterial": "https://mimi.example.com/v1/keyMaterial/{targetUser}",
          "update": "https://mimi.example.com/v1/update{roomId}",
          "notify": "https://mimi.example.com/v1/notify/{roomId}",
          "submitMessage": "https://mimi.example.com/v1/submitMessage/{roomId}",
          "groupInfo": "https://mimi.example.com/v1/groupInfo/{roomId}",
          "requestConsent": "https://mimi.example.com/v1/requestConsent/{targetUser}",
          "updateConsent": "https://mimi.example.com/v1/updateConsent/{requesterUser}",
          "identifierQuery": "https://mimi.example.com/v1/identifierQuery/{domain}",
          "reportAbuse": "https://mimi.example.com/v1/reportAbuse/{roomId}",
          "proxyDownload": "https://mimi.example.com/v1/proxyDownload/{downloadUrl}"
        }"#;
        let d: Directory = serde_json::from_str(example).unwrap();
        assert_eq!(
            expand(&d.update, "mimi://a.example/r/club").unwrap(),
            "https://mimi.example.com/v1/updatemimi%3A%2F%2Fa.example%2Fr%2Fclub"
        );
        let ours = Directory::at("https://127.0.0.1:4433/");
        let back: Directory = serde_json::from_str(&serde_json::to_string(&ours).unwrap()).unwrap();
        assert_eq!(back, ours);
        assert_eq!(
            expand(&ours.notify, "mimi://a.example/r/club").unwrap(),
            "https://127.0.0.1:4433/mimi/v1/notify/mimi%3A%2F%2Fa.example%2Fr%2Fclub"
        );
    }

    #[test]
    fn a_template_without_one_placeholder_or_not_http_expands_to_nothing() {
        assert_eq!(expand("https://x/none", "v"), None);
        assert_eq!(expand("https://x/{a}/{b}", "v"), None);
        assert_eq!(expand("file:///{a}", "v"), None);
    }
}
