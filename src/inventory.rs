//! What an object's pods would run, read by the same walk the decision reads, for tools that
//! report on many objects at once (`runner audit`): which pod specs use the host network,
//! which images they name, and the `exempt_images` entry that would name one image.
//!
//! Nothing here decides: whether an image is exempt is for the policy to say, on a request.

use crate::image::ImageRef;
use crate::workload::{PodSpecLocation, WorkloadObject};

/// One pod spec of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSpecImages {
    /// Its field path, as messages print it: `spec.template.spec`.
    pub path: &'static str,
    pub host_network: bool,
    /// Every image of the pod, in the order the decision reads them.
    pub images: Vec<NamedImage>,
}

/// An image as the pod spec writes it, with what holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedImage {
    /// `container`, `initContainer`, `ephemeralContainer` or `volume`.
    pub holder_kind: &'static str,
    /// The container's or volume's name; empty when it has none.
    pub holder: String,
    /// `None` when the holder names no image.
    pub image: Option<String>,
}

/// The pod specs of an object of this group and kind, where the policy looks for them.
/// An object the policy could not read is an error, with serde's reason.
pub fn pod_specs(group: &str, kind: &str, object: &[u8]) -> Result<Vec<PodSpecImages>, String> {
    let object: WorkloadObject<'_> =
        serde_json::from_slice(object).map_err(|error| error.to_string())?;
    let text = |lazy: Option<&crate::view::LazyText<'_>>| {
        lazy.map(|text| String::from_utf8_lossy(&text.0).into_owned())
    };
    Ok(PodSpecLocation::for_kind(group, kind)
        .iter()
        .filter_map(|&location| {
            let spec = location.select(&object)?;
            Some(PodSpecImages {
                path: location.path(),
                host_network: spec.uses_host_network(),
                images: spec
                    .images()
                    .iter()
                    .map(|image| NamedImage {
                        holder_kind: image.field.holder(),
                        holder: text(image.holder).unwrap_or_default(),
                        image: text(image.image),
                    })
                    .collect(),
            })
        })
        .collect())
}

/// How much of an image an `exempt_images` entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryScope {
    /// The digest when the image is pinned by one, else its tag (`latest` when it has none):
    /// the narrowest entry the image allows.
    Pinned,
    /// The repository, any tag or digest.
    Repository,
}

/// The `exempt_images` entry naming `image`, written in full (`nginx` is
/// `docker.io/library/nginx:latest`), so that it reads the same under either `short_names`.
/// `None` for what no entry can name: an image ID, or text that is not a reference.
pub fn exemption_entry(image: &str, scope: EntryScope) -> Option<String> {
    let image = ImageRef::parse(image).ok()?;
    let repository = format!("{}/{}", image.registry(), image.repository());
    Some(match (scope, image.digest(), image.tag()) {
        (EntryScope::Pinned, Some(digest), _) => format!("{repository}@{digest}"),
        (EntryScope::Pinned, None, Some(tag)) => format!("{repository}:{tag}"),
        _ => repository,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[rstest]
    #[case::short_name_gets_its_registry_and_tag(
        "nginx",
        EntryScope::Pinned,
        "docker.io/library/nginx:latest"
    )]
    #[case::tag_kept(
        "quay.io/cilium/cilium:v1.15.1",
        EntryScope::Pinned,
        "quay.io/cilium/cilium:v1.15.1"
    )]
    #[case::digest_over_tag(&format!("busybox:1.36@{DIGEST}"), EntryScope::Pinned, &format!("docker.io/library/busybox@{DIGEST}"))]
    #[case::repository(
        "registry.k8s.io/kube-proxy:v1.30.0",
        EntryScope::Repository,
        "registry.k8s.io/kube-proxy"
    )]
    #[case::registry_host_lowercased(
        "Quay.IO/cilium/cilium:v1",
        EntryScope::Repository,
        "quay.io/cilium/cilium"
    )]
    fn an_entry_names_the_image_as_the_runtime_reads_it(
        #[case] image: &str,
        #[case] scope: EntryScope,
        #[case] entry: &str,
    ) {
        assert_eq!(exemption_entry(image, scope).as_deref(), Some(entry));
    }

    #[rstest]
    #[case::image_id(DIGEST)]
    #[case::not_a_reference("Nginx latest")]
    fn no_entry_names_what_is_not_a_reference(#[case] image: &str) {
        assert_eq!(exemption_entry(image, EntryScope::Pinned), None);
    }

    #[test]
    fn a_cronjob_is_read_at_its_job_template() {
        let object = br#"{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"hostNetwork":true,
            "containers":[{"name":"c","image":"busybox"}],"volumes":[{"name":"v","image":{"reference":"tools:1"}},{"name":"e","emptyDir":{}}]}}}}}}"#;
        let specs = pod_specs("batch", "CronJob", object).unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].path, "spec.jobTemplate.spec.template.spec");
        assert!(specs[0].host_network);
        let images: Vec<_> = specs[0]
            .images
            .iter()
            .map(|i| (i.holder_kind, i.holder.as_str(), i.image.as_deref()))
            .collect();
        assert_eq!(
            images,
            [
                ("container", "c", Some("busybox")),
                ("volume", "v", Some("tools:1"))
            ]
        );
    }

    #[test]
    fn an_object_the_policy_cannot_read_is_an_error() {
        assert!(pod_specs("", "Pod", br#"{"spec":{"containers":"no"}}"#).is_err());
    }
}
