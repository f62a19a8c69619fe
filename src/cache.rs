//! The compiled settings, cached across `validate` calls.
//!
//! Policy-server sends the settings with every request and reuses a wasm instance for many
//! requests, so compiling 100 image entries per call would cost more than the decision
//! itself. The cache keeps the last settings seen, keyed by their exact bytes: one policy
//! instance serves one set of settings, so one slot is all it needs.

use std::cell::RefCell;
use std::rc::Rc;

use crate::settings::{Exemptions, SettingsError};

pub type Compiled = Rc<Result<Exemptions, SettingsError>>;

thread_local! {
    // A wasm instance is single-threaded; natively each test thread gets its own slot.
    static LAST: RefCell<Option<(Vec<u8>, Compiled)>> = const { RefCell::new(None) };
}

/// The exemptions compiled from `settings`, compiling them only when the bytes change.
pub fn exemptions(settings: &[u8]) -> Compiled {
    LAST.with(|slot| {
        let Ok(mut slot) = slot.try_borrow_mut() else {
            // Not reachable (nothing re-enters), but never trap for it.
            return Rc::new(Exemptions::from_json(settings));
        };
        if let Some((bytes, compiled)) = slot.as_ref() {
            if same_bytes(bytes, settings) {
                return Rc::clone(compiled);
            }
        }
        let compiled = Rc::new(Exemptions::from_json(settings));
        *slot = Some((settings.to_vec(), Rc::clone(&compiled)));
        compiled
    })
}

/// Byte equality, eight bytes at a time. Slice `==` compiles to a byte-by-byte `memcmp`
/// loop on wasm32, and the settings (kilobytes with 100 entries) are compared on every call,
/// as are the images of every container with the remembered ones.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails_equal = a_words.remainder() == b_words.remainder();
    tails_equal
        && a_words.zip(b_words).all(|(x, y)| {
            let word = |bytes: &[u8]| bytes.try_into().map(u64::from_ne_bytes).ok();
            word(x) == word(y)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_reuse_the_compiled_settings() {
        let first = exemptions(br#"{"exempt_namespaces": ["kube-system"]}"#);
        let again = exemptions(br#"{"exempt_namespaces": ["kube-system"]}"#);
        assert!(Rc::ptr_eq(&first, &again));
    }

    #[test]
    fn byte_equality_covers_words_and_tails() {
        let text = b"0123456789abcdefXYZ";
        for len in 0..text.len() {
            let a = &text[..len];
            assert!(same_bytes(a, a));
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 1;
                assert!(!same_bytes(a, &b), "len {len}, flipped byte {at}");
            }
        }
        assert!(!same_bytes(b"abc", b"abcd"));
    }

    #[test]
    fn new_bytes_recompile() {
        let first = exemptions(br#"{"exempt_namespaces": ["kube-system"]}"#);
        let other = exemptions(br#"{"exempt_namespaces": ["monitoring"]}"#);
        assert!(!Rc::ptr_eq(&first, &other));
        let namespaces = &other.as_ref().as_ref().unwrap().namespaces;
        assert_eq!(namespaces.find("monitoring"), Some("monitoring"));
        assert_eq!(namespaces.find("kube-system"), None);
    }
}
