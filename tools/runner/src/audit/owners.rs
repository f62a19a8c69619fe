//! A dump of a live cluster read as workloads: an object created by a controller in the
//! input (a Pod by its ReplicaSet, a ReplicaSet by its Deployment, a Job by its CronJob) is
//! reported under it when it agrees with the controller's template on what the policy
//! judges: the verdict, whether the host network is used, and the images. Fields the API
//! server, the scheduler and the kubelet fill in (`nodeName`, defaults, the service-account
//! token volume, tolerations) are none of those, so they never set a pod apart. A pod that
//! was edited or debugged, or a ReplicaSet a Deployment has since moved on from, is reported
//! on its own, and so are the pods created from it.

use std::collections::{HashMap, HashSet};

use super::Finding;

/// Sets `grouped_under` of every finding reported under an owner, and `members` of each
/// owner.
pub fn group(findings: &mut [Finding]) {
    let roots = roots(findings);
    let labels: Vec<Option<String>> = roots
        .iter()
        .map(|root| root.and_then(|r| findings.get(r)).map(Finding::workload))
        .collect();
    for (at, (root, label)) in roots.iter().zip(labels).enumerate() {
        let (Some(root), Some(label)) = (root, label) else {
            continue;
        };
        let kind = findings.get(at).map(|f| f.kind.clone()).unwrap_or_default();
        if let Some(owner) = findings.get_mut(*root) {
            *owner.members.entry(kind).or_default() += 1;
        }
        if let Some(finding) = findings.get_mut(at) {
            finding.grouped_under = Some(label);
        }
    }
}

/// Whether `member` reads as a pod created from `owner`'s current template.
fn agrees(member: &Finding, owner: &Finding) -> bool {
    member.verdict == owner.verdict
        && member.identity.host_network == owner.identity.host_network
        && member.identity.images == owner.identity.images
}

/// For each finding, the top-level owner it is reported under, if any.
fn roots(findings: &[Finding]) -> Vec<Option<usize>> {
    let mut by_uid: HashMap<&str, usize> = HashMap::new();
    for (at, finding) in findings.iter().enumerate() {
        if !finding.identity.uid.is_empty() {
            by_uid.entry(finding.identity.uid.as_str()).or_insert(at);
        }
    }
    let parent: Vec<Option<usize>> = findings
        .iter()
        .map(|finding| {
            let owner = *by_uid.get(finding.identity.controller.as_deref()?)?;
            findings
                .get(owner)
                .filter(|o| agrees(finding, o))
                .map(|_| owner)
        })
        .collect();
    (0..findings.len())
        .map(|at| {
            let mut seen = HashSet::from([at]);
            let mut root = at;
            while let Some(next) = parent.get(root).copied().flatten() {
                // Ownership has no cycles in a cluster; in hand-written input, one groups
                // nothing.
                if !seen.insert(next) {
                    return None;
                }
                root = next;
            }
            (root != at).then_some(root)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Identity, Verdict};
    use super::*;
    use std::collections::BTreeMap;

    fn finding(kind: &str, uid: &str, controller: Option<&str>, images: &[&str]) -> Finding {
        let head: super::super::input::Head = serde_json::from_value(serde_json::json!({
            "kind": kind, "metadata": {"name": uid, "namespace": "default"},
        }))
        .unwrap();
        let mut finding = Finding::unjudged(
            super::super::input::Origin {
                source: String::new(),
                document: 1,
                line: 1,
            },
            &head,
            Identity {
                uid: uid.to_owned(),
                controller: controller.map(str::to_owned),
                host_network: true,
                images: images.iter().map(|i| (*i).to_owned()).collect(),
            },
        );
        finding.verdict = Verdict::Rejected;
        finding
    }

    fn under(findings: &[Finding]) -> Vec<Option<&str>> {
        findings
            .iter()
            .map(|f| f.grouped_under.as_deref())
            .collect()
    }

    #[test]
    fn pods_are_reported_under_the_deployment_their_replica_set_agrees_with() {
        let mut findings = vec![
            finding("Pod", "p1", Some("rs"), &["nginx:1"]),
            finding("Deployment", "web", None, &["nginx:1"]),
            finding("ReplicaSet", "rs", Some("web"), &["nginx:1"]),
            finding("Pod", "p2", Some("rs"), &["nginx:1"]),
        ];
        group(&mut findings);
        let web = Some("Deployment default/web");
        assert_eq!(under(&findings), [web, None, web, web]);
        assert_eq!(
            findings[1].members,
            BTreeMap::from([("Pod".to_owned(), 2), ("ReplicaSet".to_owned(), 1)])
        );
    }

    #[test]
    fn an_old_replica_set_and_an_edited_pod_are_their_own_owners() {
        let mut findings = vec![
            finding("Deployment", "web", None, &["nginx:2"]),
            finding("ReplicaSet", "old", Some("web"), &["nginx:1"]),
            finding("Pod", "p1", Some("old"), &["nginx:1"]),
            finding("Pod", "debugged", Some("old"), &["nginx:1", "busybox"]),
        ];
        group(&mut findings);
        assert_eq!(
            under(&findings),
            [None, None, Some("ReplicaSet default/old"), None]
        );
        assert!(findings[0].members.is_empty());
    }

    #[test]
    fn a_different_verdict_sets_a_pod_apart_and_an_absent_owner_groups_nothing() {
        let mut exempt = finding("Pod", "p1", Some("ds"), &["cilium"]);
        exempt.verdict = Verdict::Exempt;
        let mut findings = vec![
            finding("DaemonSet", "ds", None, &["cilium"]),
            exempt,
            finding("Pod", "p2", Some("gone"), &["cilium"]),
        ];
        group(&mut findings);
        assert_eq!(under(&findings), [None, None, None]);
    }

    #[test]
    fn an_ownership_cycle_groups_nothing() {
        let mut findings = vec![
            finding("ReplicaSet", "a", Some("b"), &["x"]),
            finding("ReplicaSet", "b", Some("a"), &["x"]),
        ];
        group(&mut findings);
        assert_eq!(under(&findings), [None, None]);
    }
}
