//! The seed's six "Specific examples" as named presets: complete room documents on the
//! provider `example.com`, with clients in the group, ready for `mimi policy check`.

use crate::document::{DocumentError, SeedDocument, from_value};
use crate::fixed_room::{fixed_room_id, occupants};

/// `(name, document)` of every preset, in the seed's order.
pub const PRESETS: &[(&str, &str)] = &[
    ("one-on-one", include_str!("../presets/one-on-one.json")),
    (
        "administrated",
        include_str!("../presets/administrated.json"),
    ),
    ("open", include_str!("../presets/open.json")),
    ("semi-open", include_str!("../presets/semi-open.json")),
    ("moderated", include_str!("../presets/moderated.json")),
    (
        "fixed-membership-logging",
        include_str!("../presets/fixed-membership-logging.json"),
    ),
];

/// Why a preset could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// No preset has this name.
    #[error("unknown preset `{0}`, expected one of: {names}", names = names().join(", "))]
    Unknown(String),
    /// The shipped document is broken (a bug, caught by the preset tests).
    #[error("preset document: {0}")]
    Document(#[from] DocumentError),
}

/// The preset names.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}

/// The room document of preset `name`. Fixed-membership presets carry their seed-named ID.
pub fn preset(name: &str) -> Result<SeedDocument, PresetError> {
    let (_, text) = PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| PresetError::Unknown(name.to_owned()))?;
    let value = serde_json::from_str(text).map_err(|e| DocumentError::Shape {
        path: ".".into(),
        message: e.to_string(),
    })?;
    let mut doc: SeedDocument = from_value(value)?;
    if doc.policy.fixed_membership && doc.id.is_none() {
        let room = doc.clone().into_room()?;
        doc.id = fixed_room_id("example.com", occupants(&room)).ok();
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_compiles_to_a_valid_room() {
        for name in names() {
            let doc = preset(name).unwrap();
            let room = doc.into_room().unwrap_or_else(|e| panic!("{name}: {e}"));
            room.validate().unwrap();
        }
    }

    #[test]
    fn fixed_presets_carry_their_seed_named_id() {
        let doc = preset("one-on-one").unwrap();
        assert!(doc.id.unwrap().as_str().starts_with("im:mimi=%23%23"));
        assert!(preset("open").unwrap().id.is_none());
    }

    #[test]
    fn unknown_preset_names_the_choices() {
        let err = preset("nope").unwrap_err().to_string();
        assert!(err.contains("one-on-one"), "{err}");
    }
}
