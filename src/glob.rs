//! `*` wildcards over one string: the matcher behind namespace entries, and behind each
//! label of an entry's registry host, each segment of its path and its tag (the image side
//! is split first, so a star can never cross a dot of the host or a slash of the path).
//!
//! Written by hand because the only wildcard we support is `*`; a glob crate would bring
//! `?`, classes and escapes that users could write by accident, plus code size in the wasm.
//! Patterns are matched as written, without compiling them: policy-server makes a fresh
//! instance for every request, so anything compiled would be compiled per request.

use crate::ascii;

/// Whether the pattern has no star, so it matches exactly one string.
pub fn is_literal(pattern: &str) -> bool {
    !ascii::contains(pattern, b'*')
}

/// The length of the pattern's literal text: the shortest string it can match.
pub fn literal_len(pattern: &str) -> usize {
    pattern.len() - pattern.bytes().filter(|&b| b == b'*').count()
}

/// Whether `pattern`, in which `*` matches any run of characters (none included), matches
/// the whole of `text`.
///
/// Linear in `text` and `pattern`, whatever the stars: star-only patterns need no
/// backtracking. Anchoring the first and last pieces and taking the leftmost occurrence of
/// each middle piece finds a match whenever one exists, and `str::find` (two-way search) is
/// linear itself.
pub fn matches(pattern: &str, text: &str) -> bool {
    let Some((first, after_first)) = ascii::split_once(pattern, b'*') else {
        return pattern == text;
    };
    let (middle, last) = ascii::rsplit_once(after_first, b'*').unwrap_or(("", after_first));
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let Some(mut rest) = text.get(first.len()..text.len() - last.len()) else {
        return false;
    };
    for piece in ascii::split(middle, b'*').filter(|piece| !piece.is_empty()) {
        match find(rest, piece).and_then(|at| rest.get(at + piece.len()..)) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    true
}

/// Where `piece` first occurs in `text`. Short pieces, the usual ones, are found by a plain
/// scan, which is linear for a bounded piece and saves the set-up of `str::find`'s two-way
/// search, measured to dominate matching an image against hundreds of entries; longer
/// pieces use `str::find`, linear whatever the piece.
fn find(text: &str, piece: &str) -> Option<usize> {
    const SHORT: usize = 8;
    if piece.len() > SHORT {
        return text.find(piece);
    }
    let (haystack, needle) = (text.as_bytes(), piece.as_bytes());
    let first = *needle.first()?;
    (0..=haystack.len().checked_sub(needle.len())?).find(|&at| {
        haystack.get(at) == Some(&first) && haystack.get(at..at + needle.len()) == Some(needle)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::exact("kube-system", "kube-system", true)]
    #[case::exact_is_not_prefix("kube-system", "kube-system-evil", false)]
    #[case::exact_is_not_suffix("system", "kube-system", false)]
    #[case::trailing_star("monitoring-*", "monitoring-prod", true)]
    #[case::trailing_star_needs_its_literal("monitoring-*", "monitoring", false)]
    #[case::trailing_star_matches_empty("monitoring-*", "monitoring-", true)]
    #[case::leading_star("*-system", "kube-system", true)]
    #[case::middle_star("team-*-prod", "team-a-prod", true)]
    #[case::middle_star_anchors_both_ends("team-*-prod", "team-a-prod-2", false)]
    #[case::overlapping_pieces("a*ab", "aab", true)]
    #[case::overlap_not_double_counted("ab*ba", "aba", false)]
    #[case::two_stars("*a*", "bab", true)]
    #[case::middle_pieces_in_order("*a*b*", "xbxa", false)]
    #[case::middle_pieces_found_leftmost("*ab*ab*", "abab", true)]
    #[case::star_alone("*", "", true)]
    #[case::long_middle_piece("*abcdefghij*", "xxabcdefghijxx", true)]
    #[case::long_middle_piece_absent("*abcdefghij*", "xxabcdefghixx", false)]
    #[case::short_piece_at_the_end("*ab*", "xxab", true)]
    #[case::piece_longer_than_the_text("*abc*", "ab", false)]
    fn matching(#[case] pattern: &str, #[case] text: &str, #[case] expected: bool) {
        assert_eq!(matches(pattern, text), expected, "{pattern} ~ {text}");
    }

    #[test]
    fn literal_only_without_star() {
        assert!(is_literal("nginx"));
        assert!(!is_literal("ngin*"));
        assert_eq!(literal_len("a*b*"), 2);
    }
}
