//! `mimi content decode|encode`: MIMI content messages (draft-ietf-mimi-content) between
//! their CBOR and the JSON of the draft's field names.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use mimi_content::{
    ExtensionKey, MessageId, MimiContent, NestedPart, PartBody, ROOM_URI, SENDER_URI, json,
};

use crate::InputError;
use crate::safe::visible;

/// MIMI content messages: read one, or write one from JSON.
#[derive(Debug, Subcommand)]
pub enum ContentCommand {
    /// Read a message (its CBOR) and print it in the draft's field names, with its message ID.
    Decode {
        /// The message's CBOR.
        file: PathBuf,
        /// The sender's user URI, for the message ID [default: the message's senderUri].
        #[arg(long)]
        sender: Option<String>,
        /// The room's URI, for the message ID [default: the message's roomUri].
        #[arg(long)]
        room: Option<String>,
    },
    /// Write the CBOR of a message given as JSON (as `decode --json` prints it).
    Encode {
        /// The message as JSON.
        file: PathBuf,
        /// Where to write the CBOR (`-`: standard output) [default: FILE with .cbor].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| InputError(format!("{}: {e}", path.display())).into())
}

fn refused(path: &Path, e: &mimi_content::ContentError) -> anyhow::Error {
    InputError(format!(
        "{}: {} ({})",
        path.display(),
        visible(&e.to_string()),
        e.code()
    ))
    .into()
}

impl ContentCommand {
    /// Runs the command; `json` prints JSON.
    pub fn run(self, json_out: bool) -> anyhow::Result<()> {
        match self {
            Self::Decode { file, sender, room } => {
                let bytes = read(&file)?;
                let content = MimiContent::decode(&bytes).map_err(|e| refused(&file, &e))?;
                let sender =
                    sender.or_else(|| content.text_extension(SENDER_URI).map(str::to_owned));
                let room = room.or_else(|| content.text_extension(ROOM_URI).map(str::to_owned));
                let id = match (&sender, &room) {
                    (Some(s), Some(r)) => {
                        Some(content.id(&bytes, s, r).map_err(|e| refused(&file, &e))?)
                    }
                    _ => None,
                };
                if json_out {
                    println!("{}", json::to_json(&content, id.as_ref()));
                } else {
                    print!("{}", describe(&content, id.as_ref()));
                }
                Ok(())
            }
            Self::Encode { file, out } => {
                let text = read(&file)?;
                let value: serde_json::Value = serde_json::from_slice(&text)
                    .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
                let content = json::from_json(&value).map_err(|e| refused(&file, &e))?;
                let bytes = content.encode().map_err(|e| refused(&file, &e))?;
                let out = out.unwrap_or_else(|| file.with_extension("cbor"));
                if out == Path::new("-") {
                    use std::io::Write as _;
                    std::io::stdout()
                        .write_all(&bytes)
                        .context("writing to standard output")?;
                    return Ok(());
                }
                std::fs::write(&out, &bytes)
                    .map_err(|e| InputError(format!("{}: {e}", out.display())))?;
                if json_out {
                    println!(
                        "{}",
                        serde_json::json!({"file": out.display().to_string(), "bytes": bytes.len()})
                    );
                } else {
                    println!("wrote {} ({} bytes)", out.display(), bytes.len());
                }
                Ok(())
            }
        }
    }
}

/// The message for people: one aligned line per field, parts indented by level, text
/// escaped (a message is a peer's).
fn describe(c: &MimiContent, id: Option<&MessageId>) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    let hex_or_dash = |b: &[u8]| {
        if b.is_empty() {
            "-".to_owned()
        } else {
            mimi_content::hex(b)
        }
    };
    let id_or_dash = |i: &Option<MessageId>| i.map_or_else(|| "-".to_owned(), |i| i.to_hex());
    lines.push((
        "messageId".into(),
        id.map_or_else(
            || "- (give --sender and --room)".to_owned(),
            MessageId::to_hex,
        ),
    ));
    lines.push(("salt".into(), mimi_content::hex(&c.salt)));
    lines.push(("replaces".into(), id_or_dash(&c.replaces)));
    lines.push(("topicId".into(), hex_or_dash(&c.topic_id)));
    lines.push((
        "expires".into(),
        match c.expires {
            None => "never".into(),
            Some(e) if e.relative => format!("{} s after it is read", e.time),
            Some(e) => format!("at {} (Unix seconds)", e.time),
        },
    ));
    lines.push(("inReplyTo".into(), id_or_dash(&c.in_reply_to)));
    for (key, value) in &c.extensions {
        let name = match key {
            ExtensionKey::Int(1) => "senderUri".to_owned(),
            ExtensionKey::Int(2) => "roomUri".to_owned(),
            ExtensionKey::Int(n) => format!("extension {n}"),
            ExtensionKey::Text(t) => format!("extension {}", visible(t)),
        };
        lines.push((name, visible(&json::value_to_json(value).to_string())));
    }
    part_lines(&c.nested_part, 0, &mut lines);
    let width = lines
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    lines
        .iter()
        .map(|(k, v)| format!("{k:width$}  {v}\n"))
        .collect()
}

fn part_lines(p: &NestedPart, level: usize, lines: &mut Vec<(String, String)>) {
    let label = format!("{}part", "  ".repeat(level));
    let disposition = p
        .disposition
        .name()
        .map_or_else(|| format!("disposition {}", p.disposition.0), str::to_owned);
    let language = if p.language.is_empty() {
        String::new()
    } else {
        format!(" [{}]", visible(&p.language))
    };
    match &p.body {
        PartBody::Null => lines.push((label, format!("{disposition}{language}, no content"))),
        PartBody::Single {
            content_type,
            content,
        } => {
            let shown = match std::str::from_utf8(content) {
                Ok(text) if content_type.starts_with("text/") => {
                    format!(": {}", visible(text))
                }
                _ => String::new(),
            };
            lines.push((
                label,
                format!(
                    "{disposition}{language}, {}, {} bytes{shown}",
                    visible(content_type),
                    content.len()
                ),
            ));
        }
        PartBody::External(e) => lines.push((
            label,
            format!(
                "{disposition}{language}, {} at {}, {} bytes{}{}",
                visible(&e.content_type),
                visible(&e.url),
                e.size,
                if e.enc_alg == 0 { "" } else { ", encrypted" },
                if e.filename.is_empty() {
                    String::new()
                } else {
                    format!(", {}", visible(&e.filename))
                }
            ),
        )),
        PartBody::Multi { semantics, parts } => {
            lines.push((
                label,
                format!(
                    "{disposition}{language}, {} of {}:",
                    semantics.name(),
                    parts.len()
                ),
            ));
            for part in parts {
                part_lines(part, level + 1, lines);
            }
        }
    }
}
