//! User and room names under a published profile, so that no name passes for another.
//! Room names keep their case ([`normalize_room`]); user names do not ([`normalize`]).
//!
//! - **PRECIS UsernameCaseMapped** (RFC 8265 §3.3) maps full-width characters to their
//!   usual width and case to lower case, and normalizes to NFC. It refuses control
//!   characters, invisible and bidirectional formatting characters, spaces, symbols outside
//!   ASCII and unassigned code points. So `Alice` and `ａｌｉｃｅ` are `alice`, and `alice`
//!   with a zero-width space or a right-to-left override is refused.
//! - **One script** (Unicode TR39 §5.1, "single-script"): a name that mixes scripts, such
//!   as `аlice` with a Cyrillic `а`, is refused. Digits and ASCII punctuation go with any
//!   script.
//! - **Confusables** (TR39 §4, the skeleton): two names whose skeletons are equal look
//!   alike. A provider keeps each user's skeleton and refuses a new user with the skeleton
//!   of another ([`skeleton`]).

use precis_core::profile::PrecisFastInvocation as _;
use precis_profiles::{UsernameCaseMapped, UsernameCasePreserved};
use unicode_security::MixedScript as _;

/// Why a name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Outside the PRECIS profile: control, formatting or space characters, symbols,
    /// unassigned code points, or empty.
    #[error(
        "`{0}` is not a valid name: letters, digits and ASCII punctuation only (no spaces, \
         control, invisible or direction-changing characters)"
    )]
    NotAllowed(String),
    /// Letters of more than one script.
    #[error("`{0}` mixes letters of different scripts, as look-alike names do")]
    MixedScript(String),
}

impl NameError {
    /// The stable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAllowed(_) => "bad-name",
            Self::MixedScript(_) => "mixed-script",
        }
    }
}

/// The name `input` stands for under the profile (lower case, usual width, NFC), or why it
/// is refused.
pub fn normalize(input: &str) -> Result<String, NameError> {
    let name = UsernameCaseMapped::enforce(input)
        .map_err(|_| NameError::NotAllowed(input.to_owned()))?
        .into_owned();
    if !name.as_str().is_single_script() {
        return Err(NameError::MixedScript(input.to_owned()));
    }
    Ok(name)
}

/// The room name `input` stands for: as [`normalize`], but with case kept (PRECIS
/// UsernameCasePreserved, RFC 8265 §3.4), since a room's name is part of its MLS group ID
/// and fixed-membership room IDs are case-sensitive hashes.
pub fn normalize_room(input: &str) -> Result<String, NameError> {
    let name = UsernameCasePreserved::enforce(input)
        .map_err(|_| NameError::NotAllowed(input.to_owned()))?
        .into_owned();
    if !name.as_str().is_single_script() {
        return Err(NameError::MixedScript(input.to_owned()));
    }
    Ok(name)
}

/// The TR39 skeleton of a normalized name: equal for names that look alike (`paypal` and
/// `pаypal` with a Cyrillic `а`, `rn` and `m`, `0` and `o`). Stored beside each name, it
/// lets a provider refuse a look-alike of a name it has.
pub fn skeleton(name: &str) -> String {
    unicode_security::skeleton(name).collect()
}

/// What separates a hidden room's chosen name from its unguessable tag (`plans~` and 16
/// base32 characters): docs/decisions/0009-hidden-rooms-have-unguessable-names.md.
pub const TAG_SEPARATOR: char = '~';

/// Random bytes in a tag: 80 bits.
pub const TAG_BYTES: usize = 10;

/// `name` with the tag made of `random` (base32, lower case, no padding).
pub fn tagged(name: &str, random: [u8; TAG_BYTES]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(name.len() + 1 + TAG_BYTES * 8 / 5);
    out.push_str(name);
    out.push(TAG_SEPARATOR);
    let bits = random
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    for i in (0..TAG_BYTES * 8 / 5).rev() {
        out.push(char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize]));
    }
    out
}

/// `name` without its tag, if it has one (a tag: the separator and a non-empty rest).
pub fn untagged(name: &str) -> &str {
    match name.rsplit_once(TAG_SEPARATOR) {
        Some((chosen, tag)) if !chosen.is_empty() && !tag.is_empty() => chosen,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_sixteen_base32_characters_and_comes_off_again() {
        let a = tagged("plans", [0; TAG_BYTES]);
        assert_eq!(a, "plans~aaaaaaaaaaaaaaaa");
        let b = tagged("plans", [0xff; TAG_BYTES]);
        assert_eq!(b, "plans~7777777777777777");
        let c = tagged("plans", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_ne!(c, a);
        for name in [&a, &b, &c] {
            assert_eq!(untagged(name), "plans");
            assert_eq!(normalize_room(name).unwrap(), *name);
        }
        assert_eq!(untagged("plans"), "plans");
        assert_eq!(untagged("~x"), "~x");
    }

    #[test]
    fn case_and_width_do_not_make_another_name() {
        assert_eq!(normalize("Alice").unwrap(), "alice");
        assert_eq!(normalize("ＡＬＩＣＥ").unwrap(), "alice");
        assert_eq!(normalize("bob.smith-2_x").unwrap(), "bob.smith-2_x");
        assert_eq!(normalize("Zoë").unwrap(), "zoë");
        assert_eq!(normalize("Ναταλία").unwrap(), "ναταλία");
    }

    #[test]
    fn invisible_and_direction_changing_characters_are_refused() {
        for name in [
            "ali\u{200b}ce",
            "\u{202e}ecila",
            "alice\u{2066}",
            "al ice",
            "alice\n",
            "",
            "ali\u{feff}ce",
        ] {
            let err = normalize(name).unwrap_err();
            assert_eq!(err.code(), "bad-name", "{name:?}");
        }
    }

    #[test]
    fn a_room_name_keeps_its_case_and_is_refused_for_what_a_user_name_is() {
        assert_eq!(normalize_room("Team").unwrap(), "Team");
        assert_eq!(normalize_room("ｔｅａｍ").unwrap(), "team");
        assert_eq!(
            normalize_room("x;touch${IFS}pwned;#").unwrap(),
            "x;touch${IFS}pwned;#"
        );
        assert_eq!(
            normalize_room("t\u{0435}am").unwrap_err().code(),
            "mixed-script"
        );
        assert_eq!(
            normalize_room("te\u{200d}am").unwrap_err().code(),
            "bad-name"
        );
    }

    #[test]
    fn mixed_scripts_are_refused() {
        // A Cyrillic а among Latin letters.
        let err = normalize("\u{0430}lice").unwrap_err();
        assert_eq!(err.code(), "mixed-script");
        // One script, or digits with one, is fine.
        assert!(normalize("алиса").is_ok());
        assert!(normalize("alice2").is_ok());
    }

    #[test]
    fn look_alikes_share_a_skeleton_and_different_names_do_not() {
        assert_eq!(skeleton("rnoney"), skeleton("money"));
        assert_eq!(skeleton("a1ice"), skeleton("alice"));
        // All Cyrillic, so one script, and still a look-alike of the Latin `cape`.
        let cyrillic = normalize("\u{0441}\u{0430}\u{0440}\u{0435}").unwrap();
        assert_eq!(skeleton(&cyrillic), skeleton("cape"));
        assert_ne!(skeleton("alice"), skeleton("alicia"));
    }
}
