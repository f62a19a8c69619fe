//! `--policy-manifest`: audit with exactly what will be deployed. A ClusterAdmissionPolicy
//! or AdmissionPolicy gives the settings, the rules, and which namespaces it sees: an
//! AdmissionPolicy its own namespace only, a `namespaceSelector` the namespaces it selects.
//!
//! A namespace's labels are not in a dump of workloads, but the API server sets
//! `kubernetes.io/metadata.name` on every namespace, so a selector on that label alone (as
//! every example of this policy has) is evaluated from the object's namespace. A selector on
//! any other label is not evaluated: every namespace is judged, and the audit says so.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use super::rules::Rules;

/// The label the API server sets on every namespace, to its name.
const NAME_LABEL: &str = "kubernetes.io/metadata.name";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyDocument {
    kind: String,
    #[serde(default)]
    metadata: PolicyMetadata,
    #[serde(default)]
    spec: PolicySpec,
}

#[derive(Debug, Default, Deserialize)]
struct PolicyMetadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicySpec {
    #[serde(default)]
    settings: Option<Value>,
    #[serde(default)]
    rules: Option<Value>,
    #[serde(default)]
    namespace_selector: Option<Selector>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    #[serde(default)]
    match_labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    match_expressions: Vec<Requirement>,
}

#[derive(Debug, Deserialize)]
struct Requirement {
    key: String,
    operator: String,
    #[serde(default)]
    values: Vec<String>,
}

/// What a policy manifest says about the audit.
#[derive(Debug)]
pub struct Manifest {
    /// `metadata.name`.
    pub name: String,
    pub settings: Value,
    pub rules: Option<Rules>,
    /// An AdmissionPolicy's namespace: the only one it sees.
    namespace: Option<String>,
    selector: Option<Selector>,
    /// What the audit cannot reproduce, to be said before the results.
    pub caveats: Vec<String>,
}

/// The ClusterAdmissionPolicy and AdmissionPolicy documents of a YAML stream.
fn policy_documents(text: &str) -> Result<Vec<PolicyDocument>> {
    let mut policies = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document)
            .with_context(|| format!("document {} is not YAML", index + 1))?;
        if value.is_null() {
            continue;
        }
        let policy: PolicyDocument = serde_json::from_value(value)
            .with_context(|| format!("document {} is not a policy", index + 1))?;
        if matches!(
            policy.kind.as_str(),
            "ClusterAdmissionPolicy" | "AdmissionPolicy"
        ) {
            policies.push(policy);
        }
    }
    Ok(policies)
}

/// The settings of every policy in a YAML stream.
pub fn settings_of_policies(text: &str) -> Result<Vec<Value>> {
    Ok(policy_documents(text)?
        .into_iter()
        .filter_map(|policy| policy.spec.settings)
        .collect())
}

impl Manifest {
    /// The policies of a manifest file, in order: one, or several, as a file that scopes
    /// image exemptions by namespace holds.
    pub fn read_all(path: &Path) -> Result<Vec<Self>> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read policy manifest {}", path.display()))?;
        let policies = policy_documents(&text)
            .with_context(|| format!("policy manifest {}", path.display()))?;
        if policies.is_empty() {
            bail!(
                "{} holds no ClusterAdmissionPolicy or AdmissionPolicy",
                path.display()
            );
        }
        policies
            .into_iter()
            .map(|policy| {
                Self::from_policy(policy)
                    .with_context(|| format!("policy manifest {}", path.display()))
            })
            .collect()
    }

    fn from_policy(policy: PolicyDocument) -> Result<Self> {
        let namespace = match policy.kind.as_str() {
            "AdmissionPolicy" => Some(policy.metadata.namespace.clone().with_context(|| {
                format!(
                    "AdmissionPolicy {} has no metadata.namespace, the only namespace it sees",
                    policy.metadata.name
                )
            })?),
            _ => None,
        };
        let mut caveats = Vec::new();
        // Evaluated only when it reads the one label every namespace has.
        let selector = match policy.spec.namespace_selector {
            Some(selector)
                if selector
                    .match_labels
                    .keys()
                    .chain(selector.match_expressions.iter().map(|r| &r.key))
                    .any(|key| key != NAME_LABEL) =>
            {
                caveats.push(format!(
                    "the namespaceSelector of {} selects on labels other than {NAME_LABEL}, which a dump of workloads does not hold: every namespace is judged",
                    policy.metadata.name
                ));
                None
            }
            selector => selector,
        };
        let rules = policy
            .spec
            .rules
            .map(|rules| Rules::from_value(&rules))
            .transpose()?;
        Ok(Self {
            name: policy.metadata.name,
            settings: match policy.spec.settings {
                None | Some(Value::Null) => Value::Object(Default::default()),
                Some(settings) => settings,
            },
            rules,
            namespace,
            selector,
            caveats,
        })
    }

    /// Whether the policy sees objects of this namespace (empty for a cluster-scoped one).
    pub fn sees(&self, namespace: &str) -> bool {
        if let Some(own) = &self.namespace {
            return own == namespace;
        }
        match &self.selector {
            // A namespaceSelector does not apply to cluster-scoped objects.
            Some(selector) if !namespace.is_empty() => selector.selects(namespace),
            _ => true,
        }
    }
}

impl Selector {
    /// Evaluated on the one label every namespace has, the only one it reads.
    fn selects(&self, namespace: &str) -> bool {
        let label = |key: &str| (key == NAME_LABEL).then_some(namespace);
        let labels_match = self
            .match_labels
            .iter()
            .all(|(key, value)| label(key) == Some(value.as_str()));
        labels_match
            && self.match_expressions.iter().all(|r| {
                let value = label(&r.key);
                match r.operator.as_str() {
                    "In" => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
                    "NotIn" => !value.is_some_and(|v| r.values.iter().any(|x| x == v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    // The API server refuses any other operator.
                    _ => false,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name)
    }

    #[test]
    fn a_cluster_policy_gives_its_settings_rules_and_selected_namespaces() {
        let [manifest] = Manifest::read_all(&example("monitor-mode-cluster-admission-policy.yaml"))
            .unwrap()
            .try_into()
            .unwrap();
        assert!(manifest.settings.get("exempt_namespaces").is_some());
        let rules = manifest.rules.as_ref().unwrap();
        assert!(rules.cover("apps", "v1", "DaemonSet"));
        assert!(manifest.sees("default"));
        assert!(!manifest.sees("kubewarden"));
        assert!(manifest.caveats.is_empty());
    }

    #[test]
    fn an_admission_policy_sees_its_own_namespace_only() {
        let [manifest] = Manifest::read_all(&example("namespaced-admission-policy.yaml"))
            .unwrap()
            .try_into()
            .unwrap();
        assert!(manifest.sees("team-a"));
        assert!(!manifest.sees("team-b"));
        assert!(!manifest.sees(""));
    }

    #[test]
    fn a_file_of_several_policies_gives_each_with_the_namespaces_it_sees() {
        let manifests = Manifest::read_all(&example(
            "per-namespace-images-cluster-admission-policies.yaml",
        ))
        .unwrap();
        let names: Vec<&str> = manifests.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["host-network-kube-system", "host-network"]);
        let seeing = |namespace: &str| -> Vec<&str> {
            manifests
                .iter()
                .filter(|m| m.sees(namespace))
                .map(|m| m.name.as_str())
                .collect()
        };
        assert_eq!(seeing("kube-system"), ["host-network-kube-system"]);
        assert_eq!(seeing("default"), ["host-network"]);
    }

    #[test]
    fn a_selector_on_other_labels_is_a_caveat_and_selects_everything() {
        let policy: PolicyDocument = serde_json::from_value(serde_json::json!({
            "kind": "ClusterAdmissionPolicy",
            "metadata": {"name": "p"},
            "spec": {"namespaceSelector": {"matchLabels": {"team": "a"}}},
        }))
        .unwrap();
        let manifest = Manifest::from_policy(policy).unwrap();
        assert_eq!(manifest.caveats.len(), 1);
        assert!(manifest.sees("anything"));
        assert_eq!(manifest.settings, serde_json::json!({}));
    }
}
