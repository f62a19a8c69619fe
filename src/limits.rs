//! Every bound the policy puts on its input and its messages, in one place: the README's
//! Limits section and the tests cite these, and `tests/packaging.rs` checks the README's
//! figures against them.
//!
//! policy-server interrupts an evaluation after 2 s, and every admission request of the
//! cluster waits on the same few workers, so no request may keep the policy busy whoever
//! sends it. Judging an image costs up to a comparison with every entry, and matching one
//! is linear in the two lengths, so the first three bounds together bound any request's
//! work, whatever the settings, far below that timeout.

/// The most entries either settings list may have: real settings have a few dozen.
pub const MAX_ENTRIES: usize = 128;

/// The most distinct images judged in one pod spec. A pod of more, which no workload has,
/// is not exempt by its images, and the rejection says so.
pub const MAX_DISTINCT_IMAGES: usize = 128;

/// The longest valid image reference, in bytes: an image or entry longer than this is
/// refused before it is read further.
pub use crate::image::MAX_REFERENCE_LEN;

/// A rejection describes this many of the images that are not exempt, and counts the
/// rest: enough to act on, without a message of thousands of images for a pod of thousands
/// of containers.
pub const LISTED_DENIED_IMAGES: usize = 10;

/// An exemption warning names this many of the entries that exempted the pod, and counts
/// the rest: the API server may truncate long warnings.
pub const LISTED_WARNING_ENTRIES: usize = 5;
