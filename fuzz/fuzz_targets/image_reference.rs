//! Bytes as an image and as an `exempt_images` entry: parsing never panics, normalisation
//! is idempotent, and an entry without wildcards matches the image spelled the same way.
#![no_main]

use host_network_policy::{ImagePattern, ImageRef};
use libfuzzer_sys::fuzz_target;

fn check(image: &str, entry: &str) {
    let parsed_image = ImageRef::parse(image);
    if let Ok(parsed) = &parsed_image {
        let printed = parsed.to_string();
        let again = ImageRef::parse(&printed);
        assert_eq!(
            again.as_ref(),
            Ok(parsed),
            "{image:?} printed as {printed:?}"
        );
        assert_eq!(again.map(|i| i.to_string()).ok(), Some(printed.clone()));
        // The registry host is case-insensitive and printed lowercase, except a host that
        // is Docker Hub's but for case, printed as written so that it never reads as Hub.
        let registry = parsed.registry();
        let hub_in_other_case = registry.eq_ignore_ascii_case("docker.io")
            || registry.eq_ignore_ascii_case("index.docker.io");
        assert!(hub_in_other_case || !registry.bytes().any(|c| c.is_ascii_uppercase()));
    }
    let parsed_entry = entry.parse::<ImagePattern>();
    if let (Ok(pattern), Ok(image)) = (&parsed_entry, &parsed_image) {
        let _ = pattern.matches(image);
    }
    // Reflexivity: a wildcard-free entry exempts the image it spells.
    if !image.contains('*') {
        if let (Ok(pattern), Ok(parsed)) = (image.parse::<ImagePattern>(), &parsed_image) {
            assert!(pattern.matches(parsed), "{image:?} does not match itself");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The whole input as both, then split at the first newline: entry, then image.
    check(text, text);
    if let Some((entry, image)) = text.split_once('\n') {
        check(image, entry);
    }
});
