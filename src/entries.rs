//! One settings list as the administrator wrote it, each entry checked the first time a
//! decision could rest on it.
//!
//! policy-server checks the settings with `validate_settings` when it loads the policy and
//! refuses to serve settings with a refused entry, and it makes a fresh instance for every
//! request, so nothing checked survives a request. On the request path an entry is
//! therefore checked only when it might exempt something: a namespace entry whose text
//! matches the namespace, an image entry whose registry is the image's. An entry is never
//! used before it is checked, and one that does not check rejects the pod it would decide.

use std::borrow::Cow;
use std::cell::OnceCell;

/// An entry type of a settings list.
pub trait Entry<'s>: Sized {
    /// Checks the entry as written; the error says what is wrong with it.
    fn check(text: Cow<'s, str>) -> Result<Self, String>;
}

/// One refused entry of a settings list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub key: &'static str,
    pub index: usize,
    pub entry: String,
    pub problem: String,
}

/// An entry's check, done at most once: the entry, or what is wrong with it.
type Checked<T> = OnceCell<Result<T, String>>;

/// The entries of one list, in the order written, each checked at most once.
#[derive(Debug, Clone)]
pub struct Entries<'s, T> {
    key: &'static str,
    entries: Vec<(Cow<'s, str>, Checked<T>)>,
}

impl<'s, T: Entry<'s>> Entries<'s, T> {
    /// The entries of the list `key`, not yet checked.
    pub fn new(key: &'static str, texts: Vec<Cow<'s, str>>) -> Self {
        Entries {
            key,
            entries: texts
                .into_iter()
                .map(|text| (text, OnceCell::new()))
                .collect(),
        }
    }

    /// The list `key` of owned entries, for the tests of the lists' users.
    #[cfg(test)]
    pub fn of(key: &'static str, texts: &[&str]) -> Self {
        Self::new(
            key,
            texts.iter().map(|t| Cow::Owned((*t).to_owned())).collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each entry's index and text as written.
    pub fn texts(&self) -> impl Iterator<Item = (usize, &str)> {
        self.entries
            .iter()
            .enumerate()
            .map(|(index, (text, _))| (index, text.as_ref()))
    }

    /// The entry at `index`, checked; `None` past the end of the list.
    pub fn checked(&self, index: usize) -> Option<Result<&T, EntryError>> {
        let (text, checked) = self.entries.get(index)?;
        Some(
            checked
                .get_or_init(|| T::check(text.clone()))
                .as_ref()
                .map_err(|problem| EntryError {
                    key: self.key,
                    index,
                    entry: text.to_string(),
                    problem: problem.clone(),
                }),
        )
    }

    /// Every entry checked; the refused ones, in order.
    pub fn check_all(&self) -> Vec<EntryError> {
        (0..self.entries.len())
            .filter_map(|index| self.checked(index)?.err())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// An entry that counts its checks and refuses "bad".
    #[derive(Debug)]
    struct Counted;

    thread_local! {
        static CHECKS: Cell<usize> = const { Cell::new(0) };
    }

    impl<'s> Entry<'s> for Counted {
        fn check(text: Cow<'s, str>) -> Result<Self, String> {
            CHECKS.with(|checks| checks.set(checks.get() + 1));
            if text == "bad" {
                Err("is bad".to_owned())
            } else {
                Ok(Counted)
            }
        }
    }

    #[test]
    fn an_entry_is_checked_once_and_only_when_asked() {
        CHECKS.with(|checks| checks.set(0));
        let entries: Entries<Counted> =
            Entries::new("list", vec!["good".into(), "bad".into(), "other".into()]);
        assert_eq!(CHECKS.with(Cell::get), 0);
        assert!(entries.checked(0).is_some_and(|checked| checked.is_ok()));
        assert!(entries.checked(0).is_some_and(|checked| checked.is_ok()));
        assert_eq!(CHECKS.with(Cell::get), 1);
        let refused = entries.checked(1).and_then(Result::err);
        assert_eq!(
            refused,
            Some(EntryError {
                key: "list",
                index: 1,
                entry: "bad".to_owned(),
                problem: "is bad".to_owned(),
            })
        );
        assert!(entries.checked(3).is_none());
        assert_eq!(entries.check_all().len(), 1);
        assert_eq!(CHECKS.with(Cell::get), 3);
    }
}
