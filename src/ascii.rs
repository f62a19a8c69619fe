//! Splitting and searching text at an ASCII byte.
//!
//! `str::split(char)`, `find(char)` and `split_once(char)` go through the pattern API's
//! searchers (a `memchr` set up per call), whose set-up outweighs the scan on the short
//! strings of image references, host labels and entries: with 100 image entries, settings
//! checked on every request of a pod on the host network spent a quarter of the policy's
//! time in them. A separator that is ASCII never falls inside a multi-byte character, so a
//! plain byte scan splits at the same places.

/// The byte offset of the first `separator`.
pub fn find(text: &str, separator: u8) -> Option<usize> {
    text.bytes().position(|b| b == separator)
}

/// The byte offset of the last `separator`.
pub fn rfind(text: &str, separator: u8) -> Option<usize> {
    text.bytes().rposition(|b| b == separator)
}

/// Whether `text` has `separator`.
pub fn contains(text: &str, separator: u8) -> bool {
    text.bytes().any(|b| b == separator)
}

/// The text before and after the first `separator`.
pub fn split_once(text: &str, separator: u8) -> Option<(&str, &str)> {
    let at = find(text, separator)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The text before and after the last `separator`.
pub fn rsplit_once(text: &str, separator: u8) -> Option<(&str, &str)> {
    let at = rfind(text, separator)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The pieces of `text` between `separator`s, as `str::split` gives them, from either end.
pub fn split(text: &str, separator: u8) -> Split<'_> {
    Split {
        rest: Some(text),
        separator,
    }
}

#[derive(Debug, Clone)]
pub struct Split<'a> {
    /// What is left to split; `None` once the last piece is out.
    rest: Option<&'a str>,
    separator: u8,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_once(rest, self.separator) {
            Some((piece, after)) => {
                self.rest = Some(after);
                Some(piece)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

impl<'a> DoubleEndedIterator for Split<'a> {
    fn next_back(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match rsplit_once(rest, self.separator) {
            Some((before, piece)) => {
                self.rest = Some(before);
                Some(piece)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same pieces as `str::split`, from the front, from the back, and from both
        /// ends at once, on any text, multi-byte characters included.
        #[test]
        fn splits_as_str_split_does(text in "[a/é.:]{0,12}", separator in prop::sample::select(vec![b'/', b'.', b':']), fronts in 0usize..8) {
            let expected: Vec<&str> = text.split(char::from(separator)).collect();
            prop_assert_eq!(split(&text, separator).collect::<Vec<_>>(), expected.clone());
            let mut reversed: Vec<&str> = split(&text, separator).rev().collect();
            reversed.reverse();
            prop_assert_eq!(reversed, expected.clone());
            // Some pieces from the front, the rest from the back.
            let mut pieces = split(&text, separator);
            let mut front: Vec<&str> = pieces.by_ref().take(fronts).collect();
            let mut back: Vec<&str> = pieces.rev().collect();
            back.reverse();
            front.extend(back);
            prop_assert_eq!(front, expected);
            let c = char::from(separator);
            prop_assert_eq!(split_once(&text, separator), text.split_once(c));
            prop_assert_eq!(rsplit_once(&text, separator), text.rsplit_once(c));
            prop_assert_eq!(find(&text, separator), text.find(c));
            prop_assert_eq!(rfind(&text, separator), text.rfind(c));
            prop_assert_eq!(contains(&text, separator), text.contains(c));
        }
    }
}
