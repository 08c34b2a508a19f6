//! Attachments (draft-ietf-mimi-content §4.5, external parts): the sender encrypts a file
//! with a fresh AES-128-GCM key, uploads the ciphertext to its room's provider, and sends a
//! message whose external part names the URL, the key, the nonce and the ciphertext's
//! SHA-256. A receiver fetches it, checks the hash, decrypts it and writes it out. The
//! provider only ever holds ciphertext.

use std::path::{Path, PathBuf};

use mimi_api::Uploaded;
use mimi_content::{Disposition, ExternalPart, MessageId, NestedPart, PartBody};
use mimi_policy::id::RoomId;
use openmls_traits::OpenMlsProvider as _;
use openmls_traits::crypto::OpenMlsCrypto as _;
use openmls_traits::random::OpenMlsRand as _;
use openmls_traits::types::{AeadType, HashType};

use crate::history::History;
use crate::{ClientError, Profile, content, room_path};

/// The IANA AEAD algorithm number of AES-128-GCM.
const AES_128_GCM: u16 = 1;
/// The IANA Named Information hash algorithm number of SHA-256.
const SHA_256: u8 = 1;
/// The GCM tag.
const TAG: usize = 16;

/// The largest file: what the provider keeps, less the tag.
pub const MAX_FILE: usize = 4 * 1024 * 1024 - TAG;

/// A media type for a file name's extension, or `application/octet-stream`.
fn media_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain;charset=utf-8",
        "md" => "text/markdown",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The file name a received attachment is written as: the sender's suggestion, without any
/// directory or leading dot, or `attachment`.
fn safe_name(suggested: &str) -> String {
    let base = suggested
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim_start_matches('.')
        .chars()
        // Letters, digits and a few marks: no control, format or direction characters (a
        // name that reads `txt.exe` backwards).
        .map(|c| {
            if c.is_alphanumeric() || " ._-()[]+,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .filter(|c| !c.is_control())
        .collect::<String>();
    if base.trim().is_empty() {
        "attachment".into()
    } else {
        base
    }
}

/// The path of the attachment `url` names, if it names one of the room's (at `room_path`):
/// one ID after the room's attachments, so that no other path of this device's provider is
/// reached with its token. The attachment is fetched from this device's provider, whichever
/// provider the sender's URL names (its own: the sender's provider relays to the room's,
/// and so does this one).
fn attachment_path<'a>(url: &'a str, room_path: &str) -> Option<&'a str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let path = &rest[rest.find('/')?..];
    let id = path
        .strip_prefix(room_path)?
        .strip_prefix("/attachments/")?;
    let one_id = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    one_id.then_some(path)
}

/// Whether this client reads an external part: AES-128-GCM with a 16-octet key and a
/// 12-octet nonce, hashed with SHA-256.
fn readable(part: &ExternalPart) -> bool {
    part.enc_alg == AES_128_GCM
        && part.hash_alg == SHA_256
        && part.key.len() == 16
        && part.nonce.len() == 12
}

/// The external part of a message, at any level of its parts.
fn external(part: &NestedPart) -> Option<&ExternalPart> {
    match &part.body {
        PartBody::External(e) => Some(e),
        PartBody::Multi { parts, .. } => parts.iter().find_map(external),
        _ => None,
    }
}

impl Profile {
    /// Sends the file at `path` to `room` as an attachment (`description` as its text, if
    /// any): encrypted here, kept by the provider, named in the message.
    pub fn send_file(
        &mut self,
        room: &RoomId,
        path: &Path,
        description: Option<&str>,
    ) -> Result<(u64, MessageId), ClientError> {
        let data = std::fs::read(path)
            .map_err(|e| ClientError::Input(format!("{}: {e}", path.display())))?;
        if data.len() > MAX_FILE {
            return Err(ClientError::Input(format!(
                "{}: an attachment is at most {MAX_FILE} bytes",
                path.display()
            )));
        }
        let filename = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(safe_name)
            .unwrap_or_else(|| "attachment".into());
        let content_type = media_type(path);
        let part = self.locked(|p| {
            let (client, token) = p.device()?;
            let crypto = client.provider().crypto();
            let random = |what: &str| {
                client
                    .provider()
                    .rand()
                    .random_vec(if what == "key" { 16 } else { 12 })
                    .map_err(|e| ClientError::Input(format!("no randomness for a {what}: {e:?}")))
            };
            let (key, nonce) = (random("key")?, random("nonce")?);
            let sealed = crypto
                .aead_encrypt(AeadType::Aes128Gcm, &key, &data, &nonce, &[])
                .map_err(|e| ClientError::Input(format!("encrypting the file: {e:?}")))?;
            let hash = crypto
                .hash(HashType::Sha2_256, &sealed)
                .map_err(|e| ClientError::Input(format!("hashing the file: {e:?}")))?;
            let upload = format!("{}/attachments", room_path(room));
            let kept: Uploaded = p.api.post_bytes(&upload, token, sealed)?;
            Ok(ExternalPart {
                content_type: content_type.into(),
                url: format!("{}{upload}/{}", p.api.base(), kept.id),
                expires: 0,
                size: u64::try_from(data.len()).unwrap_or(u64::MAX),
                enc_alg: AES_128_GCM,
                key,
                nonce,
                aad: Vec::new(),
                hash_alg: SHA_256,
                content_hash: hash,
                description: description.unwrap_or_default().to_owned(),
                filename,
            })
        })?;
        let body = NestedPart {
            disposition: Disposition::ATTACHMENT,
            language: String::new(),
            body: PartBody::External(Box::new(part)),
        };
        self.post_with(room, body, None, None, None)
    }

    /// Fetches the attachment of the message `given` names (as `mimi sync` shows it),
    /// checks and decrypts it, and writes it to `out` (or, in `dir`, under the name its
    /// sender suggested, never over an existing file). The path written.
    pub fn get_attachment(
        &self,
        room: &RoomId,
        given: &str,
        out: Option<&Path>,
        dir: &Path,
    ) -> Result<PathBuf, ClientError> {
        let history = History::open(&self.dir)?;
        let id = history.resolve(room, given)?;
        let (message, _) = history.message(room, &id)?.ok_or_else(|| {
            ClientError::Input(format!("{} is not readable here", content::short(&id)))
        })?;
        let part = external(&message.nested_part).ok_or_else(|| {
            ClientError::Input(format!("{} has no attachment", content::short(&id)))
        })?;
        let (client, token) = self.device()?;
        // One of this room's attachments, fetched through this device's provider.
        let path = attachment_path(&part.url, &room_path(room)).ok_or_else(|| {
            ClientError::Input(format!(
                "{} names something else than an attachment of this room",
                content::short(&id)
            ))
        })?;
        if !readable(part) {
            return Err(ClientError::Input(format!(
                "{}'s attachment uses algorithms or sizes this client does not read (AEAD {}, hash {})",
                content::short(&id),
                part.enc_alg,
                part.hash_alg
            )));
        }
        let sealed = self.api.get_bytes(path, token, MAX_FILE + TAG)?;
        let crypto = client.provider().crypto();
        let hash = crypto
            .hash(HashType::Sha2_256, &sealed)
            .map_err(|e| ClientError::Input(format!("hashing the attachment: {e:?}")))?;
        if hash != part.content_hash {
            return Err(ClientError::Input(format!(
                "{}'s attachment is not what its sender sent (its hash differs)",
                content::short(&id)
            )));
        }
        let data = crypto
            .aead_decrypt(
                AeadType::Aes128Gcm,
                &part.key,
                &sealed,
                &part.nonce,
                &part.aad,
            )
            .map_err(|_| {
                ClientError::Input(format!(
                    "{}'s attachment does not decrypt with its key",
                    content::short(&id)
                ))
            })?;
        let target = match out {
            Some(path) => {
                std::fs::write(path, &data)
                    .map_err(|e| ClientError::Input(format!("{}: {e}", path.display())))?;
                path.to_owned()
            }
            None => {
                let path = dir.join(safe_name(&part.filename));
                use std::io::Write as _;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .and_then(|mut f| f.write_all(&data))
                    .map_err(|e| {
                        ClientError::Input(format!(
                            "{}: {e} (give --out to choose where)",
                            path.display()
                        ))
                    })?;
                path
            }
        };
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suggested_file_name_cannot_leave_the_directory_or_hide() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("..\\boot.ini"), "boot.ini");
        assert_eq!(safe_name(".bashrc"), "bashrc");
        assert_eq!(safe_name("a\u{7}b.txt"), "a_b.txt");
        assert_eq!(safe_name("evil\u{202e}txt.exe"), "evil_txt.exe");
        assert_eq!(safe_name("/"), "attachment");
        assert_eq!(safe_name(""), "attachment");
        assert_eq!(media_type(Path::new("x.PNG")), "image/png");
    }

    #[test]
    fn only_an_attachment_of_the_room_is_fetched_whichever_provider_its_url_names() {
        let room = "/v1/rooms/p.example/team";
        let good = "https://p.example/v1/rooms/p.example/team/attachments/AbC-_9";
        assert_eq!(
            attachment_path(good, room),
            Some("/v1/rooms/p.example/team/attachments/AbC-_9")
        );
        // The sender's provider may be another: only the path is used, with this one.
        assert_eq!(
            attachment_path(
                "https://q.example:8443/v1/rooms/p.example/team/attachments/x",
                room
            ),
            Some("/v1/rooms/p.example/team/attachments/x")
        );
        for bad in [
            "https://p.example/v1/rooms/p.example/team/attachments/../../../v1/account/rooms",
            "https://p.example/v1/rooms/p.example/team/attachments/%2e%2e/x",
            "https://p.example/v1/rooms/p.example/team/attachments/",
            "https://p.example/v1/rooms/p.example/other/attachments/x",
            "https://p.example/v1/rooms/p.example/team/attachments/x?y=1",
            "ftp://p.example/v1/rooms/p.example/team/attachments/x",
            "https://p.example",
        ] {
            assert_eq!(attachment_path(bad, room), None, "{bad}");
        }
    }

    #[test]
    fn a_key_or_nonce_of_another_size_is_not_read() {
        let mut part = ExternalPart {
            content_type: "text/plain".into(),
            url: String::new(),
            expires: 0,
            size: 1,
            enc_alg: AES_128_GCM,
            key: vec![0; 16],
            nonce: vec![0; 12],
            aad: Vec::new(),
            hash_alg: SHA_256,
            content_hash: Vec::new(),
            description: String::new(),
            filename: String::new(),
        };
        assert!(readable(&part));
        part.nonce = vec![0; 11];
        assert!(!readable(&part));
        part.nonce = vec![0; 12];
        part.key = vec![0; 32];
        assert!(!readable(&part));
        assert_eq!(media_type(Path::new("x")), "application/octet-stream");
    }
}
