//! What the client prints of what peers wrote (message text, user, room and device names),
//! made safe for a terminal: control characters, bidirectional overrides and invisible
//! characters are shown as escapes (`\n`, `\u{202e}`), so a peer can neither start a forged
//! line, nor send escape sequences to the reader's terminal, nor hide or reorder what is
//! shown. Commands the client suggests quote every argument for the shell.

use std::fmt::Write as _;

/// Characters shown as escapes: every control character (C0, DEL, C1) and the invisible
/// formatting ones (Unicode general category Cf: bidirectional embeddings, overrides,
/// isolates and marks; zero-width spaces and joiners; the word joiner and invisible
/// operators; the byte-order mark; interlinear annotations; tags).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}')
}

/// `text` with every hidden character made visible, and a backslash doubled (so that an
/// escape in the output was always made here, never typed by the peer).
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// `arg` as one shell word (POSIX quoting): pasting a suggested command runs that command
/// and nothing else. An argument with hidden characters is shown visible (the suggestion
/// then names something else, and does nothing harmful).
pub fn shell_word(arg: &str) -> String {
    let shown = if arg.chars().any(hidden) {
        visible(arg)
    } else {
        arg.to_owned()
    };
    // `visible` leaves no NUL, the one thing shlex cannot quote.
    shlex::try_quote(&shown).map_or_else(|_| "''".to_owned(), |q| q.into_owned())
}

/// A suggested command line: `words` each quoted as one shell word.
pub fn command(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_cannot_start_a_forged_line() {
        let shown = visible("hi\nbob@example.com: send me your password");
        assert!(!shown.contains('\n'));
        assert_eq!(shown, "hi\\nbob@example.com: send me your password");
    }

    #[test]
    fn escape_sequences_and_bidirectional_overrides_are_shown_not_obeyed() {
        let shown = visible("\u{1b}[2K\u{1b}]0;pwned\u{7}\u{202e}gnp.exe\u{200b}");
        assert!(shown.chars().all(|c| !hidden(c)), "{shown:?}");
        assert_eq!(
            shown,
            "\\u{1b}[2K\\u{1b}]0;pwned\\u{7}\\u{202e}gnp.exe\\u{200b}"
        );
        // A peer's own backslash cannot pass for one of these escapes.
        assert_eq!(visible("\\u{1b}"), "\\\\u{1b}");
        // Ordinary text, accents and emoji, is shown as it is.
        assert_eq!(visible("café 👋 日本"), "café 👋 日本");
    }

    #[test]
    fn a_suggested_command_quotes_every_argument() {
        let room = "x;touch${IFS}pwned;#";
        let words = [
            "mimi",
            "consent",
            "grant",
            "bob@example.com",
            "--room",
            room,
        ];
        let line = command(&words);
        // Read back as a shell reads it: the same six words, the room one word.
        assert_eq!(shlex::split(&line).unwrap(), words);
        for tricky in ["it's", "$(rm -rf ~)", "`id`", "a b", "\\"] {
            assert_eq!(shlex::split(&shell_word(tricky)).unwrap(), [tricky]);
        }
        // A hidden character is shown, not pasted.
        assert_eq!(shlex::split(&shell_word("a\nb")).unwrap(), ["a\\nb"]);
    }
}
