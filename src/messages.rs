//! Every text a user reads: rejections, warnings, audit annotations and settings errors.
//! They are part of the interface, so they live together and are tested together.

use std::borrow::Cow;
use std::fmt::Write;

use crate::decision::{DeniedImage, Exemption, ImageProblem, Rejection, Subject};
use crate::request::Unreadable;
use crate::settings::{EntryError, EXEMPT_IMAGES, EXEMPT_NAMESPACES};
use crate::workload::{ContainerList, PodSpecLocation};

/// The audit annotation set on requests let through by an exemption. The API server
/// prefixes it with the webhook's name.
pub const EXEMPTION_AUDIT_KEY: &str = "host-network-exemption";

/// Warnings longer than this may be truncated by the API server; lists stop early.
const LISTED_IMAGES: usize = 5;
/// A rejection names this many offending images, then counts the rest: enough to act on,
/// without a message of thousands of images for a pod of thousands of containers.
const LISTED_DENIED_IMAGES: usize = 10;

/// `Deployment default/web`, or `Kind name` for a cluster-scoped object.
fn subject(kind: &str, namespace: &str, name: &str) -> String {
    let kind = if kind.is_empty() { "object" } else { kind };
    let name = if name.is_empty() { "(unnamed)" } else { name };
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

fn describe(s: &Subject<'_>) -> String {
    subject(s.kind, s.namespace, &s.name)
}

fn container_noun(list: ContainerList) -> &'static str {
    match list {
        ContainerList::Containers => "container",
        ContainerList::InitContainers => "initContainer",
        ContainerList::EphemeralContainers => "ephemeralContainer",
    }
}

/// Text from the object, shown as written but with control and invisible characters
/// escaped, so a crafted image or name cannot forge lines in the user's terminal or hide
/// what it is. Real images and names are printable ASCII and are copied as they are.
fn shown(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'"')
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.escape_debug().to_string())
    }
}

fn denied_image(denied: &DeniedImage<'_>) -> String {
    let noun = container_noun(denied.list);
    let container = shown(denied.container);
    match &denied.problem {
        ImageProblem::NotExempt => {
            format!("{noun} \"{container}\" image \"{}\"", shown(denied.image))
        }
        ImageProblem::Missing => format!("{noun} \"{container}\" has no image"),
        ImageProblem::Invalid(why) => {
            format!(
                "{noun} \"{container}\" image \"{}\" {why}",
                shown(denied.image)
            )
        }
    }
}

/// Why the request was rejected, where, and how to get an exemption. Never the settings.
pub fn rejection(s: &Subject<'_>, rejection: &Rejection<'_>) -> String {
    let path = rejection.location.path();
    let mut message = format!(
        "{} is not allowed to use the host network: {path}.hostNetwork is true.",
        describe(s)
    );
    if rejection.images_configured {
        if rejection.denied.is_empty() {
            message.push_str(" The pod has no containers, so no image exemption can apply.");
        } else {
            let mut images: Vec<String> = rejection
                .denied
                .iter()
                .take(LISTED_DENIED_IMAGES)
                .map(denied_image)
                .collect();
            if rejection.denied.len() > LISTED_DENIED_IMAGES {
                images.push(format!(
                    "and {} more",
                    rejection.denied.len() - LISTED_DENIED_IMAGES
                ));
            }
            let _ = write!(
                message,
                " Not covered by {EXEMPT_IMAGES}: {}.",
                images.join(", ")
            );
        }
    }
    let namespace = if s.namespace.is_empty() {
        String::new()
    } else {
        format!(" \"{}\"", s.namespace)
    };
    let _ = write!(
        message,
        " Remove {path}.hostNetwork, or ask a cluster administrator to exempt the namespace{namespace} \
         ({EXEMPT_NAMESPACES}) or every image of the pod ({EXEMPT_IMAGES}) in the host-network policy settings."
    );
    message
}

/// The warning kubectl prints when an exemption let the request through.
pub fn exemption_warning(s: &Subject<'_>, exemption: &Exemption<'_>) -> String {
    match exemption {
        Exemption::Namespace { entry } => format!(
            "{} uses the host network; allowed because namespace \"{}\" matches {EXEMPT_NAMESPACES} entry \"{entry}\"",
            describe(s),
            s.namespace
        ),
        Exemption::Images { entries } => {
            let mut listed: Vec<String> = entries
                .iter()
                .take(LISTED_IMAGES)
                .map(|used| {
                    let mut text = format!("\"{}\" by \"{}\"", shown(used.image), used.entry);
                    if used.containers > 1 {
                        let _ = write!(text, " ({} containers)", used.containers);
                    }
                    text
                })
                .collect();
            if entries.len() > LISTED_IMAGES {
                listed.push(format!("{} more entries", entries.len() - LISTED_IMAGES));
            }
            format!(
                "{} uses the host network; allowed because every image matches {EXEMPT_IMAGES}: {}",
                describe(s),
                listed.join(", ")
            )
        }
    }
}

/// The audit annotation's value: which kind of exemption, and which entries.
pub fn exemption_audit(exemption: &Exemption<'_>) -> String {
    match exemption {
        Exemption::Namespace { entry } => format!("{EXEMPT_NAMESPACES}: {entry}"),
        Exemption::Images { entries } => {
            let entries: Vec<&str> = entries.iter().map(|used| used.entry).collect();
            format!("{EXEMPT_IMAGES}: {}", entries.join(", "))
        }
    }
}

/// The warning for an UPDATE that keeps an existing host-network pod spec unchanged.
pub fn kept_warning(s: &Subject<'_>, location: PodSpecLocation) -> String {
    format!(
        "{} keeps {}.hostNetwork: true, allowed only because this update leaves the pod spec unchanged; \
         any change to the pod spec will be rejected unless an exemption applies",
        describe(s),
        location.path()
    )
}

/// The rejection of a request the policy cannot read: fail closed, and say why.
pub fn unreadable(u: &Unreadable) -> String {
    format!(
        "{} cannot be checked for host network use: {}. The host-network policy rejects objects it cannot read.",
        subject(&u.kind, &u.namespace, &u.name),
        u.problem
    )
}

/// The rejection when `validate` receives settings that do not compile. Policy-server
/// validates settings before serving, so this is a last line of defence, failing closed.
pub fn invalid_settings(error: &crate::settings::SettingsError) -> String {
    format!("The host-network policy settings are not valid, so every request is rejected: {error}")
}

/// All refused entries of the settings, each with its key, index and text.
pub fn entry_errors(errors: &[EntryError]) -> String {
    let described: Vec<String> = errors
        .iter()
        .map(|e| format!("{}[{}] \"{}\" {}", e.key, e.index, e.entry, e.problem))
        .collect();
    described.join("; ")
}

/// A settings document of the wrong shape, with the path of the offending value.
pub fn malformed_settings(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = error.path().to_string();
    if path.is_empty() || path == "." {
        format!("settings: {}", error.inner())
    } else {
        format!("{path}: {}", error.inner())
    }
}

/// Text after the settings document.
pub fn malformed_settings_tail(error: &serde_json::Error) -> String {
    format!("settings: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::EntryUse;

    fn web() -> Subject<'static> {
        Subject {
            kind: "Deployment",
            namespace: "default",
            name: Cow::Borrowed("web"),
        }
    }

    #[test]
    fn rejection_names_kind_object_field_and_the_way_out() {
        let message = rejection(
            &web(),
            &Rejection {
                location: PodSpecLocation::Template,
                images_configured: false,
                denied: vec![],
            },
        );
        assert!(message.starts_with("Deployment default/web is not allowed to use the host network: spec.template.spec.hostNetwork is true."), "{message}");
        assert!(message.contains("exempt the namespace \"default\" (exempt_namespaces)"));
        assert!(!message.contains("Not covered"), "{message}");
    }

    #[test]
    fn rejection_lists_images_as_written() {
        let message = rejection(
            &web(),
            &Rejection {
                location: PodSpecLocation::Template,
                images_configured: true,
                denied: vec![
                    DeniedImage {
                        list: ContainerList::Containers,
                        container: "sidecar",
                        image: "Evil.io/x:1",
                        problem: ImageProblem::NotExempt,
                    },
                    DeniedImage {
                        list: ContainerList::InitContainers,
                        container: "init",
                        image: "",
                        problem: ImageProblem::Missing,
                    },
                ],
            },
        );
        assert!(
            message.contains(r#"Not covered by exempt_images: container "sidecar" image "Evil.io/x:1", initContainer "init" has no image."#),
            "{message}"
        );
    }

    #[test]
    fn long_lists_of_images_are_counted_not_listed() {
        let denied: Vec<DeniedImage> = (0..12)
            .map(|_| DeniedImage {
                list: ContainerList::Containers,
                container: "c",
                image: "x",
                problem: ImageProblem::NotExempt,
            })
            .collect();
        let message = rejection(
            &web(),
            &Rejection {
                location: PodSpecLocation::Spec,
                images_configured: true,
                denied,
            },
        );
        assert_eq!(message.matches("container \"c\"").count(), 10, "{message}");
        assert!(message.contains(", and 2 more."), "{message}");
    }

    #[test]
    fn control_characters_in_images_are_escaped() {
        let message = rejection(
            &web(),
            &Rejection {
                location: PodSpecLocation::Spec,
                images_configured: true,
                denied: vec![DeniedImage {
                    list: ContainerList::Containers,
                    container: "a\nWarning: fake",
                    image: "evil\u{200b}/x\n",
                    problem: ImageProblem::NotExempt,
                }],
            },
        );
        assert!(!message.contains('\n'), "{message}");
        assert!(!message.contains('\u{200b}'), "{message}");
        assert!(
            message.contains(r#"container "a\nWarning: fake" image "evil\u{200b}/x\n""#),
            "{message}"
        );
    }

    #[test]
    fn cluster_scoped_subjects_have_no_slash() {
        assert_eq!(subject("Widget", "", "w"), "Widget w");
    }

    #[test]
    fn image_warning_names_each_entry_once() {
        let entries = vec![EntryUse {
            entry: "quay.io/cilium/*",
            image: "quay.io/cilium/cilium:v1",
            containers: 2,
        }];
        let exemption = Exemption::Images { entries };
        let warning = exemption_warning(&web(), &exemption);
        assert_eq!(
            warning,
            r#"Deployment default/web uses the host network; allowed because every image matches exempt_images: "quay.io/cilium/cilium:v1" by "quay.io/cilium/*" (2 containers)"#
        );
        assert_eq!(
            exemption_audit(&exemption),
            "exempt_images: quay.io/cilium/*"
        );
    }
}
