//! Every text a user reads about a request: rejections, warnings and audit annotations.
//! They are part of the interface, so they live together and are tested together. (The
//! settings and the image grammar own the text of their own errors.)

use std::fmt::Write;

use crate::decision::{DeniedImage, Exemption, ImageProblem, Rejection, Subject};
use crate::image::ImageRef;
use crate::limits::{LISTED_WARNING_ENTRIES, MAX_DISTINCT_IMAGES};
use crate::request::Unreadable;
use crate::settings::{EXEMPT_IMAGES, EXEMPT_NAMESPACES, SHORT_NAMES, SHORT_NAMES_NOT_EXEMPT};
use crate::workload::{ImageField, PodSpecLocation};

/// The audit annotation set on requests let through by an exemption. The API server
/// prefixes it with the webhook's name.
pub const EXEMPTION_AUDIT_KEY: &str = "host-network-exemption";

// The messages are built by appending to one `String`: on wasm each `format!` costs more
// than copying its text, and a rejection listing ten images would cost more than the
// decision itself.

/// Appends `Deployment default/web`, or `Kind name` for a cluster-scoped object.
fn push_subject(out: &mut String, kind: &str, namespace: &str, name: &str) {
    out.push_str(if kind.is_empty() { "object" } else { kind });
    out.push(' ');
    if !namespace.is_empty() {
        out.push_str(namespace);
        out.push('/');
    }
    out.push_str(if name.is_empty() { "(unnamed)" } else { name });
}

fn subject(kind: &str, namespace: &str, name: &str) -> String {
    let mut out = String::new();
    push_subject(&mut out, kind, namespace, name);
    out
}

/// A message that starts with who the request is about, with room for `capacity` more bytes.
fn starting_with_subject(s: &Subject<'_>, capacity: usize) -> String {
    let mut out = String::with_capacity(s.kind.len() + s.namespace.len() + s.name.len() + capacity);
    push_subject(&mut out, s.kind, s.namespace, &s.name);
    out
}

/// Appends text from the object in double quotes, as written but with control and
/// invisible characters escaped, so a crafted image or name cannot forge lines in the
/// user's terminal or hide what it is. Real images and names are printable ASCII and are
/// copied as they are.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    if text
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'"')
    {
        out.push_str(text);
    } else {
        out.extend(text.escape_debug());
    }
    out.push('"');
}

fn push_denied_image(out: &mut String, denied: &DeniedImage<'_>) {
    out.push_str(denied.field.holder());
    out.push(' ');
    push_quoted(out, denied.holder);
    match &denied.problem {
        ImageProblem::NotExempt => {
            out.push_str(" image ");
            push_quoted(out, denied.image);
        }
        ImageProblem::ShortName => {
            out.push_str(" image ");
            push_quoted(out, denied.image);
            out.push_str(" names no registry, and with ");
            out.push_str(SHORT_NAMES);
            out.push_str(": ");
            out.push_str(SHORT_NAMES_NOT_EXEMPT);
            out.push_str(" the runtime, not the image, decides where it is pulled from: write the image with its registry, such as ");
            push_quoted(out, &on_docker_hub(denied.image));
            out.push_str(" for Docker Hub");
        }
        ImageProblem::Missing if denied.field == ImageField::ImageVolumes => {
            out.push_str(" has no image reference")
        }
        ImageProblem::Missing => out.push_str(" has no image"),
        ImageProblem::NotChecked => {
            out.push_str(" image ");
            push_quoted(out, denied.image);
            let _ = write!(
                out,
                " was not checked: the pod names more than {MAX_DISTINCT_IMAGES} distinct images"
            );
        }
        ImageProblem::Invalid(why) => {
            out.push_str(" image ");
            push_quoted(out, denied.image);
            out.push(' ');
            out.push_str(why);
        }
    }
}

/// A short name written out as the policy reads it by default, on Docker Hub:
/// `docker.io/library/nginx:1.27` for `nginx:1.27`. Only listed images are described, so
/// this runs for at most [`crate::limits::LISTED_DENIED_IMAGES`] images of a rejection.
fn on_docker_hub(image: &str) -> String {
    ImageRef::parse(image).map_or_else(|_| image.to_owned(), |parsed| parsed.to_string())
}

/// Why the request was rejected, where, and how to get an exemption. Never the settings.
pub fn rejection(s: &Subject<'_>, rejection: &Rejection<'_>) -> String {
    let path = rejection.location.path();
    let denied = &rejection.denied;
    let mut message = starting_with_subject(s, 400 + 80 * denied.listed.len());
    message.push_str(" is not allowed to use the host network: ");
    message.push_str(path);
    message.push_str(".hostNetwork is true.");
    if rejection.images_configured {
        if denied.total == 0 {
            message.push_str(" The pod has no containers, so no image exemption can apply.");
        } else {
            message.push_str(" Not covered by ");
            message.push_str(EXEMPT_IMAGES);
            message.push_str(": ");
            for (at, image) in denied.listed.iter().enumerate() {
                if at > 0 {
                    message.push_str(", ");
                }
                push_denied_image(&mut message, image);
            }
            let unlisted = denied.total.saturating_sub(denied.listed.len());
            if unlisted > 0 {
                let _ = write!(message, ", and {unlisted} more");
            }
            message.push('.');
        }
    }
    if rejection.debug_container {
        push_debug_advice(&mut message, s.namespace);
    } else {
        message.push_str(" Remove ");
        message.push_str(path);
        message.push_str(".hostNetwork, or ask a cluster administrator to");
        push_exemptions(&mut message, s.namespace);
    }
    message
}

/// Appends the two exemptions an administrator can grant: ` exempt the namespace "ns"
/// (exempt_namespaces) or every image of the pod (exempt_images) in the … settings.`
fn push_exemptions(out: &mut String, namespace: &str) {
    out.push_str(" exempt the namespace");
    push_namespace(out, namespace);
    out.push_str(" (");
    out.push_str(EXEMPT_NAMESPACES);
    out.push_str(") or every image of the pod (");
    out.push_str(EXEMPT_IMAGES);
    out.push_str(") in the host-network policy settings.");
}

/// Appends ` "namespace"`, or nothing for a cluster-scoped object.
fn push_namespace(out: &mut String, namespace: &str) {
    if !namespace.is_empty() {
        out.push_str(" \"");
        out.push_str(namespace);
        out.push('"');
    }
}

/// `kubectl debug` adds a container to a running pod, whose `hostNetwork` cannot be
/// changed: the way out is an exempt debug image, or an exemption for this one.
fn push_debug_advice(out: &mut String, namespace: &str) {
    out.push_str(" A debug container shares the host network of the pod it joins, so it is allowed only if every image of the pod, the debug image included, is covered by ");
    out.push_str(EXEMPT_IMAGES);
    out.push_str(". Debug with an image that is (kubectl debug --image=IMAGE), or ask a cluster administrator to add your debug image to ");
    out.push_str(EXEMPT_IMAGES);
    out.push_str(", or to exempt the namespace");
    push_namespace(out, namespace);
    out.push_str(" (");
    out.push_str(EXEMPT_NAMESPACES);
    out.push_str("), in the host-network policy settings.");
}

/// The warning kubectl prints when an exemption let the request through.
pub fn exemption_warning(s: &Subject<'_>, exemption: &Exemption<'_>) -> String {
    let mut message = starting_with_subject(s, 200);
    message.push_str(" uses the host network; allowed because ");
    match exemption {
        Exemption::Namespace { entry } => {
            message.push_str("namespace \"");
            message.push_str(s.namespace);
            message.push_str("\" matches ");
            message.push_str(EXEMPT_NAMESPACES);
            message.push_str(" entry \"");
            message.push_str(entry);
            message.push('"');
        }
        Exemption::Images { entries } => {
            message.push_str("every image matches ");
            message.push_str(EXEMPT_IMAGES);
            message.push_str(": ");
            for (at, used) in entries.iter().take(LISTED_WARNING_ENTRIES).enumerate() {
                if at > 0 {
                    message.push_str(", ");
                }
                push_quoted(&mut message, used.image);
                message.push_str(" by \"");
                message.push_str(used.entry);
                message.push('"');
                if used.images > 1 {
                    let _ = write!(message, " ({} images)", used.images);
                }
            }
            if entries.len() > LISTED_WARNING_ENTRIES {
                let _ = write!(
                    message,
                    ", {} more entries",
                    entries.len() - LISTED_WARNING_ENTRIES
                );
            }
        }
    }
    message
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

/// The warning for an UPDATE that keeps an existing host-network pod spec unchanged. It
/// must not promise more than this one update: what controllers create from the spec is
/// new, and judged as new.
pub fn kept_warning(s: &Subject<'_>, location: PodSpecLocation) -> String {
    let mut message = starting_with_subject(s, 600);
    message.push_str(" keeps ");
    message.push_str(location.path());
    message.push_str(".hostNetwork: true; this update is allowed only because it leaves the pod spec unchanged. That does not keep the workload running: a change to the pod spec, and every ReplicaSet, Job or Pod created from it (a rollout restart, a rescheduled or deleted pod), is rejected unless an exemption applies. Ask a cluster administrator to");
    push_exemptions(&mut message, s.namespace);
    message
}

/// The rejection of a request the policy cannot read: fail closed, and say why.
pub fn unreadable(u: &Unreadable) -> String {
    format!(
        "{} cannot be checked for host network use: {}. The host-network policy rejects objects it cannot read.",
        subject(&u.kind, &u.namespace, &u.name),
        u.problem
    )
}

/// The rejection when `validate` receives settings it cannot read, or an entry that would
/// decide the pod is refused. Policy-server validates settings before serving, so this is
/// a last line of defence, failing closed.
pub fn invalid_settings(error: &crate::settings::SettingsError) -> String {
    format!("The host-network policy settings are not valid, so no pod on the host network can be exempted: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Denied, EntryUse};
    use std::borrow::Cow;

    /// Every denied image listed.
    fn all(listed: Vec<DeniedImage<'static>>) -> Denied<'static> {
        Denied {
            total: listed.len(),
            listed,
        }
    }

    /// The rejection of Deployment default/web, with image exemptions configured.
    fn listing(location: PodSpecLocation, denied: Denied<'static>) -> String {
        rejection(
            &web(),
            &Rejection {
                location,
                images_configured: true,
                debug_container: false,
                denied,
            },
        )
    }

    fn denied(
        field: ImageField,
        holder: &'static str,
        image: &'static str,
        problem: ImageProblem,
    ) -> DeniedImage<'static> {
        DeniedImage {
            field,
            holder,
            image,
            problem,
        }
    }

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
                debug_container: false,
                denied: Denied::default(),
            },
        );
        assert!(message.starts_with("Deployment default/web is not allowed to use the host network: spec.template.spec.hostNetwork is true."), "{message}");
        assert!(message.contains("exempt the namespace \"default\" (exempt_namespaces)"));
        assert!(!message.contains("Not covered"), "{message}");
    }

    #[test]
    fn rejection_lists_images_as_written() {
        let message = listing(
            PodSpecLocation::Template,
            all(vec![
                denied(
                    ImageField::Containers,
                    "sidecar",
                    "Evil.io/x:1",
                    ImageProblem::NotExempt,
                ),
                denied(
                    ImageField::InitContainers,
                    "init",
                    "",
                    ImageProblem::Missing,
                ),
            ]),
        );
        assert!(
            message.contains(r#"Not covered by exempt_images: container "sidecar" image "Evil.io/x:1", initContainer "init" has no image."#),
            "{message}"
        );
    }

    #[test]
    fn long_lists_of_images_are_counted_not_listed() {
        // The decision lists the first ten and counts them all.
        let listed: Vec<DeniedImage> = (0..10)
            .map(|_| denied(ImageField::Containers, "c", "x", ImageProblem::NotExempt))
            .collect();
        let message = listing(PodSpecLocation::Spec, Denied { listed, total: 12 });
        assert_eq!(message.matches("container \"c\"").count(), 10, "{message}");
        assert!(message.contains(", and 2 more."), "{message}");
    }

    #[test]
    fn control_characters_in_images_are_escaped() {
        let message = listing(
            PodSpecLocation::Spec,
            all(vec![denied(
                ImageField::Containers,
                "a\nWarning: fake",
                "evil\u{200b}/x\n",
                ImageProblem::NotExempt,
            )]),
        );
        assert!(!message.contains('\n'), "{message}");
        assert!(!message.contains('\u{200b}'), "{message}");
        assert!(
            message.contains(r#"container "a\nWarning: fake" image "evil\u{200b}/x\n""#),
            "{message}"
        );
    }

    #[test]
    fn image_volumes_are_named_as_volumes() {
        let message = listing(
            PodSpecLocation::Template,
            all(vec![
                denied(
                    ImageField::ImageVolumes,
                    "tools",
                    "docker.io/attacker/toolbox:1.0",
                    ImageProblem::NotExempt,
                ),
                denied(ImageField::ImageVolumes, "empty", "", ImageProblem::Missing),
            ]),
        );
        assert!(
            message.contains(r#"Not covered by exempt_images: volume "tools" image "docker.io/attacker/toolbox:1.0", volume "empty" has no image reference."#),
            "{message}"
        );
    }

    #[test]
    fn a_debug_container_is_told_how_to_debug_not_to_remove_host_network() {
        let message = rejection(
            &web(),
            &Rejection {
                location: PodSpecLocation::Spec,
                images_configured: true,
                debug_container: true,
                denied: Denied::default(),
            },
        );
        assert!(!message.contains("Remove spec.hostNetwork"), "{message}");
        assert!(message.contains("kubectl debug --image=IMAGE"), "{message}");
        assert!(
            message.contains("add your debug image to exempt_images, or to exempt the namespace \"default\" (exempt_namespaces)"),
            "{message}"
        );
    }

    #[test]
    fn the_kept_warning_promises_no_more_than_the_update() {
        let warning = kept_warning(&web(), PodSpecLocation::Template);
        assert!(
            warning
                .starts_with("Deployment default/web keeps spec.template.spec.hostNetwork: true;"),
            "{warning}"
        );
        assert!(
            warning.contains("does not keep the workload running"),
            "{warning}"
        );
        assert!(
            warning.contains("every ReplicaSet, Job or Pod created from it"),
            "{warning}"
        );
        assert!(warning.ends_with("exempt the namespace \"default\" (exempt_namespaces) or every image of the pod (exempt_images) in the host-network policy settings."), "{warning}");
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
            images: 2,
        }];
        let exemption = Exemption::Images { entries };
        let warning = exemption_warning(&web(), &exemption);
        assert_eq!(
            warning,
            r#"Deployment default/web uses the host network; allowed because every image matches exempt_images: "quay.io/cilium/cilium:v1" by "quay.io/cilium/*" (2 images)"#
        );
        assert_eq!(
            exemption_audit(&exemption),
            "exempt_images: quay.io/cilium/*"
        );
    }
}
