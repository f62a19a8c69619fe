//! Borrowed views of JSON objects: structs that read the few fields the policy needs and
//! skip everything else unparsed, in the same pass.
//!
//! Why not `#[derive(Deserialize)]`:
//! - derived structs also accept a JSON array of their fields, so `[["app", "nginx"]]` was
//!   read as a container and could be exempted (found by the bypass corpus). Kubernetes never
//!   sends that shape; the views accept objects only, and anything else is unreadable;
//! - derived fields check every key, and every string read, for UTF-8. Here keys are compared
//!   as raw bytes (escapes still decoded, as the API server decodes them), and the strings
//!   read for every container are checked only when used ([`LazyText`]), since every
//!   container of every request is read.
//!
//! Repeated keys are refused, as derived structs refuse them.
//!
//! What this machinery buys, measured against the same structs with `#[derive(Deserialize)]`
//! (`runner bench-suite` with one as the other's baseline, fresh instance per request): the
//! derived module is 44 KB larger and takes 4-5 % longer on a pod of 300 containers, 0-2 %
//! on smaller requests, and it lets five attacks of the bypass corpus through to the wrong
//! verdict or message, one of them accepted. Refusing arrays with derived structs would need
//! a wrapping `Deserializer` around every nested value, more code than this module.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

thread_local! {
    static STRING_KEYS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read` with keys read as strings. `serde_path_to_error` records only string keys,
/// so the cold path that explains an unreadable request reads it this way to name the
/// field at fault.
pub fn with_string_keys<T>(read: impl FnOnce() -> T) -> T {
    STRING_KEYS.with(|flag| flag.set(true));
    let result = read();
    STRING_KEYS.with(|flag| flag.set(false));
    result
}

/// An object key, or a string value checked for UTF-8 only when it is used, borrowed from
/// the input unless it had escapes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Key<'de>(pub Cow<'de, [u8]>);

/// A string value read without checking it for UTF-8: container images and names are read
/// for every container of every pod, and looked at only when an image exemption is
/// consulted or a message names them.
pub type LazyText<'de> = Key<'de>;

impl Key<'_> {
    /// The text, if it is valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_vec())))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v.as_bytes())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.as_bytes().to_vec())))
            }
        }
        if STRING_KEYS.with(Cell::get) {
            deserializer.deserialize_str(KeyVisitor)
        } else {
            deserializer.deserialize_bytes(KeyVisitor)
        }
    }
}

/// Declares a view struct and its `Deserialize`: each field is read from one JSON key, a
/// repeated key is an error (so `"hostNetwork": false, "hostNetwork": true` can never be
/// read as `false` while the API server keeps `true`), other keys are skipped, and missing
/// fields keep their `Default`, except those marked `#required`, whose absence is an error.
macro_rules! json_view {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<$lt:lifetime> {
            $(
                $(#[$field_meta:meta])*
                $key:literal => $(#$required:ident)? pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $name<$lt> {
            $(
                $(#[$field_meta])*
                pub $field: $ty,
            )*
        }

        impl<'de: $lt, $lt> ::serde::Deserialize<'de> for $name<$lt> {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ViewVisitor<$lt>(::std::marker::PhantomData<&$lt ()>);
                impl<'de: $lt, $lt> ::serde::de::Visitor<'de> for ViewVisitor<$lt> {
                    type Value = $name<$lt>;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("an object")
                    }
                    #[allow(non_snake_case)]
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        let mut view = $name::default();
                        $( let mut $field = false; )*
                        while let Some(key) = map.next_key::<$crate::view::Key<'de>>()? {
                            $(
                                if key.0.as_ref() == $key.as_bytes() {
                                    if $field {
                                        return Err(<A::Error as ::serde::de::Error>::duplicate_field($key));
                                    }
                                    $field = true;
                                    view.$field = map.next_value()?;
                                    continue;
                                }
                            )*
                            map.next_value::<::serde::de::IgnoredAny>()?;
                        }
                        $($(
                            // `#required`: a missing key is an error, not a default.
                            let _ = stringify!($required);
                            if !$field {
                                return Err(<A::Error as ::serde::de::Error>::missing_field($key));
                            }
                        )?)*
                        Ok(view)
                    }
                }
                deserializer.deserialize_map(ViewVisitor(::std::marker::PhantomData))
            }
        }
    };
}

pub(crate) use json_view;
