//! The `validate` payload as the policy reads it: a borrowed view of the admission request
//! and the raw settings, read in one pass. The rare cases that need more (an UPDATE that
//! would be rejected, a request that cannot be read) read the bytes again, off the hot path.

use std::borrow::Cow;
use std::ops::Deref;

use serde::de::{self, Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::view::{self, json_view};
use crate::workload::WorkloadObject;

json_view! {
    /// What policy-server sends to `validate`.
    pub struct ValidationPayload<'a> {
        /// Without a request there is nothing to judge, and judging nothing must not
        /// become an accept.
        "request" => #required pub request: AdmissionRequest<'a>,
        /// Kept raw: read only when a pod spec uses the host network.
        "settings" => pub settings: Option<&'a RawValue>,
    }
}

json_view! {
    /// The admission request. `oldObject` is not read here: only an UPDATE that would be
    /// rejected needs it, and [`crate::update::pod_spec_unchanged`] reads it then.
    pub struct AdmissionRequest<'a> {
        /// Without a kind, the policy cannot know where the pod spec is.
        "kind" => #required pub kind: GroupVersionKind<'a>,
        "name" => pub name: Cow<'a, str>,
        "namespace" => pub namespace: Cow<'a, str>,
        "operation" => pub operation: Cow<'a, str>,
        /// `ephemeralcontainers` for `kubectl debug`, which adds to a running pod.
        "subResource" => pub sub_resource: Cow<'a, str>,
        "object" => pub object: Option<WorkloadObject<'a>>,
    }
}

json_view! {
    pub struct GroupVersionKind<'a> {
        "group" => pub group: Cow<'a, str>,
        "kind" => #required pub kind: KindName<'a>,
    }
}

/// The name of a kind, never empty: a request for no kind in particular would be judged as
/// a custom kind, whose `spec` is never read as a pod spec, and a Pod would get through.
#[derive(Debug, Default)]
pub struct KindName<'a>(Cow<'a, str>);

impl Deref for KindName<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for KindName<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = Cow::<'a, str>::deserialize(deserializer)?;
        if name.is_empty() {
            return Err(de::Error::invalid_value(
                de::Unexpected::Str(""),
                &"the name of a kind",
            ));
        }
        Ok(KindName(name))
    }
}

/// Whether an operation can create or change no pod, so the policy lets it through
/// unchecked: DELETE and CONNECT.
pub fn creates_no_pod(operation: &str) -> bool {
    matches!(operation, "DELETE" | "CONNECT")
}

json_view! {
    /// The operation alone, read as strictly as the full view reads it: the one thing a
    /// request the policy cannot read otherwise is still judged by.
    pub struct OperationPayload<'a> {
        "request" => #required pub request: OperationOnly<'a>,
    }
}

json_view! {
    pub struct OperationOnly<'a> {
        "operation" => #required pub operation: Cow<'a, str>,
    }
}

/// Whether a payload the full view could not read is, unambiguously, a DELETE or CONNECT.
/// Read on its own, with repeated keys refused as everywhere else: a lenient reader would
/// take the last of two `operation` keys, and a `CREATE` followed by a `DELETE` would be let
/// through on the strength of a value the API server never acted on.
pub fn unreadable_but_creates_no_pod(payload: &[u8]) -> bool {
    serde_json::from_slice::<OperationPayload>(payload)
        .is_ok_and(|read| creates_no_pod(&read.request.operation))
}

impl<'a> ValidationPayload<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}

impl AdmissionRequest<'_> {
    /// Whether the request adds a debug container to a running pod (`kubectl debug`).
    pub fn adds_debug_container(&self) -> bool {
        self.sub_resource == "ephemeralcontainers"
    }

    /// The request's `namespace`, and nothing else. The API server fills it for every
    /// namespaced object and leaves it empty for cluster-scoped ones (whose
    /// `metadata.namespace` it clears), and the audit scanner fills it from the object it
    /// replays; the object's own `metadata.namespace` is whatever the client wrote, so a
    /// cluster-scoped custom kind could claim `kube-system` there.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Who the request is about, as messages name it: see [`object_name`].
    pub fn name(&self) -> Cow<'_, str> {
        object_name(
            &self.name,
            self.metadata_field(|m| m.name.as_deref()),
            self.metadata_field(|m| m.generate_name.as_deref()),
        )
    }

    fn metadata_field<'s>(
        &'s self,
        field: impl Fn(&'s crate::workload::ObjectMeta<'_>) -> Option<&'s str>,
    ) -> Option<&'s str> {
        self.object.as_ref()?.metadata.as_ref().and_then(field)
    }
}

/// The name messages give the object: the request's `name`, else the object's
/// `metadata.name`, else, for a `generateName` object whose name the API server has not yet
/// made, its prefix followed by `*`. The one rule for requests read in full and for those
/// read leniently because they could not be.
fn object_name<'s>(
    request_name: &'s str,
    metadata_name: Option<&'s str>,
    generate_name: Option<&str>,
) -> Cow<'s, str> {
    if !request_name.is_empty() {
        return Cow::Borrowed(request_name);
    }
    if let Some(name) = metadata_name.filter(|name| !name.is_empty()) {
        return Cow::Borrowed(name);
    }
    match generate_name.filter(|prefix| !prefix.is_empty()) {
        Some(prefix) => Cow::Owned(format!("{prefix}*")),
        None => Cow::Borrowed(""),
    }
}

/// Who a request that could not be read is about, recovered leniently for the message.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// What is wrong, with the JSON path of the offending field.
    pub problem: String,
}

impl Unreadable {
    /// Works out who the request is about and what is wrong with it. Cold path: the
    /// payload is read generically, then again with path tracking to locate the error.
    pub fn describe(payload: &[u8]) -> Self {
        let problem = match view::with_string_keys(|| {
            serde_path_to_error::deserialize::<_, ValidationPayload>(
                &mut serde_json::Deserializer::from_slice(payload),
            )
        }) {
            Err(e) => {
                let path = e.path().to_string();
                let path = path
                    .strip_prefix("request.object.")
                    .or_else(|| path.strip_prefix("request."))
                    .unwrap_or(&path)
                    .to_owned();
                if path.is_empty() || path == "." {
                    e.inner().to_string()
                } else {
                    format!("{path}: {}", e.inner())
                }
            }
            Ok(_) => "the request could not be read".to_owned(),
        };
        let value: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
        let request = value.get("request");
        let text = |path: &[&str]| {
            let mut at = request;
            for key in path {
                at = at.and_then(|v| v.get(key));
            }
            at.and_then(serde_json::Value::as_str)
        };
        let name = object_name(
            text(&["name"]).unwrap_or_default(),
            text(&["object", "metadata", "name"]),
            text(&["object", "metadata", "generateName"]),
        )
        .into_owned();
        Unreadable {
            kind: text(&["kind", "kind"]).unwrap_or_default().to_owned(),
            // The namespace as the decision reads it: the request's alone.
            namespace: text(&["namespace"]).unwrap_or_default().to_owned(),
            name,
            problem,
        }
    }
}

/// A `validate` payload around `request`, a Pod's unless it names its kind: for the tests
/// of the modules that read requests.
#[cfg(test)]
pub fn test_payload(request: serde_json::Value) -> Vec<u8> {
    let mut request = request;
    if request.get("kind").is_none() {
        request["kind"] = serde_json::json!({"group": "", "version": "v1", "kind": "Pod"});
    }
    serde_json::to_vec(&serde_json::json!({ "request": request, "settings": {} }))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::test_payload as payload;

    #[test]
    fn request_namespace_wins_over_object_namespace() {
        let bytes = payload(json!({
            "namespace": "default",
            "object": {"metadata": {"namespace": "kube-system"}}
        }));
        let parsed = ValidationPayload::parse(&bytes).unwrap();
        assert_eq!(parsed.request.namespace(), "default");
    }

    #[test]
    fn without_a_request_namespace_the_object_is_cluster_scoped() {
        // The API server clears `metadata.namespace` of cluster-scoped objects; a value
        // there is the client's claim, and exempts nothing.
        let bytes = payload(json!({"object": {"metadata": {"namespace": "kube-system"}}}));
        let parsed = ValidationPayload::parse(&bytes).unwrap();
        assert_eq!(parsed.request.namespace(), "");
        assert_eq!(
            Unreadable::describe(
                br#"{"request": {"object": {"metadata": {"namespace": "kube-system"}}}}"#
            )
            .namespace,
            ""
        );
    }

    #[test]
    fn generated_names_show_their_prefix() {
        let bytes = payload(json!({"object": {"metadata": {"generateName": "web-7d4b9-"}}}));
        let parsed = ValidationPayload::parse(&bytes).unwrap();
        assert_eq!(parsed.request.name(), "web-7d4b9-*");
    }

    /// A request read in full and one the policy could not read name their object alike.
    #[rstest::rstest]
    #[case::request_name(json!({"name": "web", "object": {"metadata": {"name": "other"}}}), "web")]
    #[case::metadata_name(json!({"object": {"metadata": {"name": "web", "generateName": "x-"}}}), "web")]
    #[case::generate_name(json!({"object": {"metadata": {"generateName": "web-7d4b9-"}}}), "web-7d4b9-*")]
    #[case::empty_names(json!({"name": "", "object": {"metadata": {"name": "", "generateName": ""}}}), "")]
    fn unreadable_requests_are_named_as_readable_ones(
        #[case] request: serde_json::Value,
        #[case] name: &str,
    ) {
        let readable = payload(request.clone());
        let parsed = ValidationPayload::parse(&readable).unwrap();
        assert_eq!(parsed.request.name(), name);
        let mut unreadable = request;
        unreadable["object"]["spec"] = json!({"hostNetwork": "true"});
        let unreadable = payload(unreadable);
        assert!(ValidationPayload::parse(&unreadable).is_err());
        assert_eq!(Unreadable::describe(&unreadable).name, name);
    }

    #[test]
    fn a_payload_without_a_request_is_unreadable() {
        assert!(ValidationPayload::parse(br#"{"settings": {}}"#).is_err());
        let unreadable = Unreadable::describe(br#"{"settings": {}}"#);
        assert!(
            unreadable.problem.contains("missing field `request`"),
            "{}",
            unreadable.problem
        );
    }

    #[rstest::rstest]
    #[case::delete(r#"{"request": {"operation": "DELETE", "object": []}}"#, true)]
    #[case::connect(r#"{"request": {"operation": "CONNECT"}}"#, true)]
    #[case::create_then_delete(
        r#"{"request": {"operation": "CREATE", "operation": "DELETE"}}"#,
        false
    )]
    #[case::delete_then_create(
        r#"{"request": {"operation": "DELETE", "operation": "CREATE"}}"#,
        false
    )]
    #[case::two_requests(
        r#"{"request": {"operation": "DELETE"}, "request": {"operation": "CREATE"}}"#,
        false
    )]
    #[case::no_operation(r#"{"request": {}}"#, false)]
    #[case::lowercase(r#"{"request": {"operation": "delete"}}"#, false)]
    #[case::truncated(r#"{"request": {"operation": "DELETE", "object": {"#, false)]
    fn only_an_unambiguous_delete_or_connect_is_let_through_unread(
        #[case] payload: &str,
        #[case] let_through: bool,
    ) {
        assert_eq!(
            unreadable_but_creates_no_pod(payload.as_bytes()),
            let_through,
            "{payload}"
        );
    }

    #[rstest::rstest]
    #[case::no_kind(json!({"operation": "CREATE", "object": {}}), "missing field `kind`")]
    #[case::no_kind_name(
        json!({"kind": {"group": ""}, "operation": "CREATE", "object": {}}),
        "missing field `kind`"
    )]
    #[case::empty_kind_name(
        json!({"kind": {"group": "", "kind": ""}, "operation": "CREATE", "object": {}}),
        "kind.kind: invalid value: string \"\", expected the name of a kind"
    )]
    fn a_request_without_a_kind_is_unreadable(
        #[case] request: serde_json::Value,
        #[case] problem: &str,
    ) {
        let bytes = serde_json::to_vec(&json!({ "request": request })).unwrap();
        assert!(ValidationPayload::parse(&bytes).is_err());
        let unreadable = Unreadable::describe(&bytes);
        assert!(
            unreadable.problem.contains(problem),
            "{}",
            unreadable.problem
        );
    }

    #[test]
    fn unreadable_requests_name_the_object_and_the_field() {
        let bytes = payload(json!({
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "namespace": "default",
            "operation": "CREATE",
            "object": {"metadata": {"name": "web"}, "spec": {"template": {"spec": {"hostNetwork": "true"}}}}
        }));
        assert!(ValidationPayload::parse(&bytes).is_err());
        let unreadable = Unreadable::describe(&bytes);
        assert_eq!(unreadable.kind, "Deployment");
        assert_eq!(unreadable.namespace, "default");
        assert_eq!(unreadable.name, "web");
        assert!(
            unreadable
                .problem
                .starts_with("spec.template.spec.hostNetwork: invalid type: string \"true\""),
            "{}",
            unreadable.problem
        );
    }
}
