//! Which objects the policy judges: the `rules` of its metadata, as Kubewarden registers them
//! with the API server. The audit replays objects as CREATE requests, so a rule counts only
//! where it names CREATE.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default)]
    api_groups: Vec<String>,
    #[serde(default)]
    api_versions: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    operations: Vec<String>,
}

#[derive(Debug)]
pub struct Rules(Vec<Rule>);

impl Rules {
    pub fn from_metadata_file(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read metadata {}", path.display()))?;
        let metadata: Value = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("cannot parse {} as YAML", path.display()))?;
        Self::from_metadata(&metadata).with_context(|| format!("metadata {}", path.display()))
    }

    pub fn from_metadata(metadata: &Value) -> Result<Self> {
        let Some(rules) = metadata.get("rules") else {
            bail!("the metadata has no `rules`");
        };
        Self::from_value(rules).context("the metadata's `rules`")
    }

    /// A list of rules, as metadata.yml and a policy's `spec.rules` write them.
    pub fn from_value(rules: &Value) -> Result<Self> {
        Ok(Self(serde_json::from_value(rules.clone())?))
    }

    /// Whether a CREATE of an object of this group, version and kind reaches the policy.
    pub fn cover(&self, group: &str, version: &str, kind: &str) -> bool {
        let resource = plural(kind);
        let any = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
        self.0.iter().any(|rule| {
            any(&rule.operations, "CREATE")
                && any(&rule.api_groups, group)
                && any(&rule.api_versions, version)
                && any(&rule.resources, &resource)
        })
    }
}

/// The resource name of a kind, as the API server's REST mapper guesses it
/// (`UnsafeGuessKindToResource` in `k8s.io/apimachinery/pkg/api/meta`): lowercase, then
/// `es` after a final `s`, `ies` in place of a final `y`, else `s`. Right for every kind the
/// policy's rules name.
fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.is_empty() {
        lower
    } else if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn this_policys_rules() -> Rules {
        Rules::from_metadata_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../metadata.yml"))
            .unwrap()
    }

    #[test]
    fn the_workload_kinds_of_metadata_yml_are_covered() {
        let rules = this_policys_rules();
        for (group, kind) in [
            ("", "Pod"),
            ("", "ReplicationController"),
            ("apps", "Deployment"),
            ("apps", "ReplicaSet"),
            ("apps", "StatefulSet"),
            ("apps", "DaemonSet"),
            ("batch", "Job"),
            ("batch", "CronJob"),
        ] {
            assert!(rules.cover(group, "v1", kind), "{group}/{kind}");
        }
        assert!(!rules.cover("", "v1", "ConfigMap"));
        assert!(!rules.cover("apps", "v1beta1", "Deployment"));
        assert!(!rules.cover("extensions", "v1", "Deployment"));
    }

    #[test]
    fn plurals_follow_the_api_servers_guess() {
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural("DaemonSet"), "daemonsets");
    }
}
