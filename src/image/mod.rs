//! Container images: references as the runtime resolves them, the patterns of
//! `exempt_images`, and the index that finds the entry exempting an image.

mod exemptions;
mod grammar;
mod pattern;
mod reference;

pub use exemptions::{ImageExemptions, ImageVerdict, ShortNames};
pub use grammar::MAX_REFERENCE_LEN;
pub use pattern::ImagePattern;
pub use reference::{ImageRef, ImageRefError};
