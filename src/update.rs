//! The UPDATE rule's comparison: whether an update leaves a pod spec exactly as it was. It
//! reads the raw JSON, a second pass taken only for an UPDATE that would otherwise be
//! rejected, along the same keys as the view of the new object ([`PodSpecLocation`]).

use serde::de::{self, Deserializer};
use serde_json::value::RawValue;

use crate::view;
use crate::workload::PodSpecLocation;

/// Whether an UPDATE leaves the pod spec at `location` exactly as it was.
///
/// Reads the payload a second time: only UPDATEs that would otherwise be rejected get
/// here, so the common path never pays for keeping the raw pod specs. Identical bytes are
/// the fast answer (the API server encodes both objects the same way); otherwise the two
/// specs are compared as JSON values, so key order and white space do not count as changes.
/// Anything unreadable counts as changed, so the request is judged like a CREATE: every
/// step from the payload down to the pod spec must be an object with the key once, as the
/// view of the new object demands. An `oldObject` that is an array, a string, a number or
/// `null` is no old object.
pub fn pod_spec_unchanged(payload: &[u8], location: PodSpecLocation) -> bool {
    let Ok(payload) = serde_json::from_slice::<&RawValue>(payload) else {
        return false;
    };
    let Some(request) = raw_field(payload, "request") else {
        return false;
    };
    let pod_spec = |object_key: &str| {
        raw_field(request, object_key)
            .and_then(|object| raw_field(object, "spec"))
            .and_then(|spec| raw_pod_spec(spec, location))
    };
    match (pod_spec("object"), pod_spec("oldObject")) {
        (Some(new), Some(old)) if new.get() == old.get() => true,
        (Some(new), Some(old)) => {
            match (
                serde_json::from_str::<serde_json::Value>(new.get()),
                serde_json::from_str::<serde_json::Value>(old.get()),
            ) {
                (Ok(new), Ok(old)) => new == old,
                _ => false,
            }
        }
        _ => false,
    }
}

/// The raw pod spec at `location`, given the raw `spec` of the object: the same keys
/// [`PodSpecLocation`] walks in the view, followed in the raw JSON.
fn raw_pod_spec(spec: &RawValue, location: PodSpecLocation) -> Option<&RawValue> {
    location
        .keys_below_spec()
        .iter()
        .try_fold(spec, |object, key| raw_field(object, key))
}

/// The raw value of `key` in a JSON object; `None` when it is absent, `null`, repeated, or
/// the value is no object: a pod spec that cannot be found counts as changed.
fn raw_field<'a>(object: &'a RawValue, key: &str) -> Option<&'a RawValue> {
    struct Field<'k>(&'k str);

    impl<'de> de::Visitor<'de> for Field<'_> {
        type Value = Option<&'de RawValue>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<view::Key<'de>>()? {
                if key.0.as_ref() == self.0.as_bytes() {
                    if found.is_some() {
                        return Err(de::Error::custom("repeated key"));
                    }
                    found = Some(map.next_value::<Option<&'de RawValue>>()?);
                } else {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
            Ok(found.flatten())
        }
    }

    serde_json::Deserializer::from_str(object.get())
        .deserialize_map(Field(key))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::test_payload as payload;
    use crate::workload::WorkloadObject;
    use serde_json::json;

    /// The typed walk the decision reads ([`PodSpecLocation::select`]) and the raw walk the
    /// UPDATE rule reads ([`raw_pod_spec`]) find the same pod specs, with the same
    /// `hostNetwork`, in every request of `test_data/` and of the bypass corpus that the
    /// policy can read: "kept on update" rests on their agreeing.
    #[test]
    fn the_typed_and_the_raw_walk_find_the_same_pod_specs_in_every_fixture() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
        let mut compared = 0;
        for dir in [root.clone(), root.join("bypass")] {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let Ok(document) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                let request = document.get("request").unwrap_or(&document);
                let Some(object) = request.get("object") else {
                    continue;
                };
                let (group, kind) = (
                    request
                        .pointer("/kind/group")
                        .and_then(|g| g.as_str())
                        .unwrap_or(""),
                    request
                        .pointer("/kind/kind")
                        .and_then(|k| k.as_str())
                        .unwrap_or(""),
                );
                let object_text = object.to_string();
                // What the policy cannot read it rejects as such; no walk is taken.
                let Ok(typed) = serde_json::from_str::<WorkloadObject>(&object_text) else {
                    continue;
                };
                let raw: &RawValue = serde_json::from_str(&object_text).unwrap();
                let raw_spec = raw_field(raw, "spec");
                for &location in PodSpecLocation::for_kind(group, kind) {
                    let by_view = location.select(&typed).map(|spec| spec.uses_host_network());
                    let by_raw =
                        raw_spec
                            .and_then(|spec| raw_pod_spec(spec, location))
                            .map(|spec| {
                                serde_json::from_str::<serde_json::Value>(spec.get())
                                    .ok()
                                    .and_then(|spec| spec.get("hostNetwork").cloned())
                                    == Some(json!(true))
                            });
                    assert_eq!(by_view, by_raw, "{} at {}", path.display(), location.path());
                    compared += 1;
                }
            }
        }
        assert!(compared > 100, "{compared} pod spec locations compared");
    }

    #[test]
    fn white_space_and_key_order_are_not_changes() {
        let bytes = br#"{"request": {
            "object": {"spec": {"template": {"spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "x"}]}}}},
            "oldObject": {"spec": {"template": {"spec": {"containers": [{"image": "x", "name": "a"}],   "hostNetwork": true}}}}
        }}"#;
        assert!(pod_spec_unchanged(bytes, PodSpecLocation::Template));
    }

    #[test]
    fn a_changed_image_is_a_change() {
        let bytes = payload(json!({
            "object": {"spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "evil"}]}},
            "oldObject": {"spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "x"}]}}
        }));
        assert!(!pod_spec_unchanged(&bytes, PodSpecLocation::Spec));
    }

    #[test]
    fn a_cron_job_template_is_found_and_compared() {
        let spec = json!({"jobTemplate": {"spec": {"template": {"spec": {"hostNetwork": true}}}}});
        let bytes = payload(json!({"object": {"spec": spec}, "oldObject": {"spec": spec}}));
        assert!(pod_spec_unchanged(&bytes, PodSpecLocation::JobTemplate));
        assert!(!pod_spec_unchanged(&bytes, PodSpecLocation::Template));
    }

    #[test]
    fn a_repeated_key_on_the_way_to_the_old_pod_spec_is_a_change() {
        let bytes = br#"{"request": {
            "object": {"spec": {"template": {"spec": {"hostNetwork": true}}}},
            "oldObject": {"spec": {"template": {"spec": {"hostNetwork": true}}, "template": {"spec": {"hostNetwork": true}}}}
        }}"#;
        assert!(!pod_spec_unchanged(bytes, PodSpecLocation::Template));
    }

    /// An old object of any shape but an object is no old object: the view refuses the
    /// same shapes for the new one.
    #[rstest::rstest]
    #[case::array_of_the_fields(json!([["spec", {"hostNetwork": true}]]))]
    #[case::array_of_the_object(json!([{"spec": {"hostNetwork": true}}]))]
    #[case::string(json!("{\"spec\": {\"hostNetwork\": true}}"))]
    #[case::number(json!(1))]
    #[case::null(json!(null))]
    #[case::spec_as_array(json!({"spec": [{"hostNetwork": true}]}))]
    #[case::spec_as_string(json!({"spec": "hostNetwork"}))]
    fn an_old_object_that_is_not_an_object_is_a_change(#[case] old: serde_json::Value) {
        let bytes = payload(json!({
            "object": {"spec": {"hostNetwork": true}},
            "oldObject": old
        }));
        assert!(!pod_spec_unchanged(&bytes, PodSpecLocation::Spec), "{old}");
        let request = json!({"spec": {"template": {"spec": {"hostNetwork": true}}}});
        let bytes = payload(json!({"object": request, "oldObject": [request]}));
        assert!(!pod_spec_unchanged(&bytes, PodSpecLocation::Template));
    }

    #[test]
    fn a_request_that_is_not_an_object_has_no_old_pod_spec() {
        assert!(!pod_spec_unchanged(
            br#"{"request": [["object", {"spec": {}}], ["oldObject", {"spec": {}}]]}"#,
            PodSpecLocation::Spec
        ));
        assert!(!pod_spec_unchanged(
            br#"[{"request": {"object": {"spec": {}}, "oldObject": {"spec": {}}}}]"#,
            PodSpecLocation::Spec
        ));
        assert!(pod_spec_unchanged(
            br#"{"request": {"object": {"spec": {}}, "oldObject": {"spec": {}}}}"#,
            PodSpecLocation::Spec
        ));
    }

    #[test]
    fn a_missing_old_object_is_a_change() {
        let bytes = payload(json!({"object": {"spec": {"hostNetwork": true}}}));
        assert!(!pod_spec_unchanged(&bytes, PodSpecLocation::Spec));
    }
}
