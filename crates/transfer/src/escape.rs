//! Formula-injection escaping for spreadsheet cells (CSV and XLSX, not JSON).
//!
//! A text cell that a spreadsheet could take for a formula (it starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return) is written with a leading apostrophe. So that the
//! round trip is exact, text that already starts with an apostrophe followed by one of
//! those characters or by another apostrophe gets one more apostrophe. On import, a
//! leading apostrophe followed by one of those characters (or an apostrophe) is removed.
//! The two functions are inverse: `unescape(&escape(s)) == s` for every `s`.

/// Characters that make a spreadsheet read a cell as a formula.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn is_trigger(c: char) -> bool {
    TRIGGERS.contains(&c)
}

/// True when `s` is of the form `'` + (trigger or `'`) + rest: the shape of escaped text.
fn looks_escaped(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next() == Some('\'') && chars.next().is_some_and(|c| c == '\'' || is_trigger(c))
}

/// The text to write into a spreadsheet cell for `s`.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    let needs = s.chars().next().is_some_and(is_trigger) || looks_escaped(s);
    if needs { format!("'{s}").into() } else { s.into() }
}

/// The text that [`escape`] turned into `s`.
pub fn unescape(s: &str) -> &str {
    if looks_escaped(s) { &s[1..] } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_are_prefixed_and_restored() {
        for (plain, written) in [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+86 591", "'+86 591"),
            ("-5", "'-5"),
            ("@cmd", "'@cmd"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("''", "'''"),
            ("'abc", "'abc"),
            ("'", "'"),
            ("", ""),
            ("农业", "农业"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(escape(plain), written, "{plain:?}");
            assert_eq!(unescape(written), plain, "{written:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn escape_is_inverted_by_unescape(s in "['=+@\\-\t\ra-z农]{0,6}") {
            let written = escape(&s);
            proptest::prop_assert_eq!(unescape(&written), s.as_str());
        }
    }
}
