//! What `runner audit` prints: a table for a person, or one JSON document for a program.
//!
//! The table lists the workloads that use the host network, the rejected first, each
//! rejection followed by the policy's own message; objects the policy lets through without a
//! word, and those reported under their owner, are only counted. The JSON has every judged
//! object.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::input::Origin;
use super::{Audit, Finding, Verdict};

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Exempt => "exempt",
            Self::AllowedWithWarning => "allowed with a warning",
            Self::Allowed => "not host network",
            Self::Error => "not judged: error",
        }
    }
}

fn object_name(finding: &Finding) -> String {
    let name = finding.namespaced_name();
    match finding.members.get("Pod") {
        Some(1) => format!("{name} (1 pod)"),
        Some(pods) => format!("{name} ({pods} pods)"),
        None => name,
    }
}

/// The verdict column: an exemption names the entries the policy's audit annotation names.
fn verdict_text(finding: &Finding) -> String {
    let text = match finding.verdict {
        Verdict::Exempt => {
            let entries: Vec<&str> = finding
                .audit_annotations
                .values()
                .map(String::as_str)
                .collect();
            format!("exempt by {}", entries.join("; "))
        }
        verdict => verdict.label().to_owned(),
    };
    match &finding.policy {
        Some(policy) => format!("{text} [{policy}]"),
        None => text,
    }
}

/// The images that keep a rejected object out, each once, as written; a holder that names
/// no image is named itself.
fn not_exempt(finding: &Finding) -> String {
    let mut shown: Vec<String> = Vec::new();
    for held in &finding.not_exempt {
        let text = match &held.image {
            Some(image) => image.clone(),
            None => format!("({} {:?}: no image)", held.holder, held.name),
        };
        if !shown.contains(&text) {
            shown.push(text);
        }
    }
    shown.join(", ")
}

pub fn table(audit: &Audit, out: &mut impl Write) -> Result<()> {
    let mut shown: Vec<&Finding> = audit
        .findings
        .iter()
        .filter(|f| f.verdict != Verdict::Allowed && f.grouped_under.is_none())
        .collect();
    shown.sort_by_key(|f| f.verdict);
    if !shown.is_empty() {
        let rows: Vec<[String; 4]> = shown
            .iter()
            .map(|f| {
                [
                    f.kind.clone(),
                    object_name(f),
                    verdict_text(f),
                    not_exempt(f),
                ]
            })
            .collect();
        let imaged = rows.iter().any(|[.., images]| !images.is_empty());
        let header = [
            "KIND",
            "NAMESPACE/NAME",
            "VERDICT",
            if imaged { "NOT EXEMPT" } else { "" },
        ]
        .map(str::to_owned);
        // A verdict is padded only as far as the rows with images after it need: an
        // exemption's verdict, which names entries, is the last text of its row.
        let width = |column: usize, imaged_only: bool| {
            rows.iter()
                .filter(|row| !imaged_only || row.get(3).is_some_and(|c| !c.is_empty()))
                .chain(std::iter::once(&header))
                .map(|row| row.get(column).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        };
        let (kind_width, name_width, verdict_width) =
            (width(0, false), width(1, false), width(2, true));
        for (row, finding) in
            std::iter::once((&header, None)).chain(rows.iter().zip(shown.iter().map(Some)))
        {
            let [kind, name, verdict, images] = row;
            let line = format!(
                "{kind:kind_width$}  {name:name_width$}  {verdict:verdict_width$}  {images}"
            );
            writeln!(out, "{}", line.trim_end())?;
            if let Some(finding) = finding {
                let text = match finding.verdict {
                    Verdict::Rejected | Verdict::Error => finding.message.as_deref(),
                    _ => None,
                };
                if let Some(text) = text {
                    writeln!(out, "    {text}")?;
                }
            }
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", summary(audit))?;
    Ok(())
}

/// One line: how many objects were judged, by verdict, and what was not judged.
pub fn summary(audit: &Audit) -> String {
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for finding in &audit.findings {
        *counts.entry(finding.verdict).or_default() += 1;
    }
    let by_verdict: Vec<String> = counts
        .iter()
        .map(|(verdict, n)| format!("{n} {}", verdict.label()))
        .collect();
    let mut line = format!("{} judged", audit.findings.len());
    if !by_verdict.is_empty() {
        line.push_str(&format!(": {}", by_verdict.join(", ")));
    }
    let grouped = audit
        .findings
        .iter()
        .filter(|f| f.grouped_under.is_some())
        .count();
    if grouped > 0 {
        line.push_str(&format!(
            ". {grouped} listed under their controller, whose template they agree with"
        ));
    }
    let skipped: usize = audit.not_judged.values().sum();
    if skipped > 0 {
        let kinds: Vec<String> = audit
            .not_judged
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        line.push_str(&format!(
            ". {skipped} of kinds the policy does not judge ({})",
            kinds.join(", ")
        ));
    }
    if audit.unseen > 0 {
        line.push_str(&format!(
            ". {} in namespaces the policy does not see",
            audit.unseen
        ));
    }
    if !audit.problems.is_empty() {
        line.push_str(&format!(
            ". {} unreadable (listed on standard error)",
            audit.problems.len()
        ));
    }
    line.push('.');
    line
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    results: &'a [Finding],
    not_judged: &'a BTreeMap<String, usize>,
    not_seen: usize,
    problems: Vec<JsonProblem<'a>>,
    summary: String,
}

#[derive(Serialize)]
struct JsonProblem<'a> {
    #[serde(flatten)]
    origin: &'a Origin,
    reason: &'a str,
}

pub fn json(audit: &Audit, out: &mut impl Write) -> Result<()> {
    let report = JsonReport {
        results: &audit.findings,
        not_judged: &audit.not_judged,
        not_seen: audit.unseen,
        problems: audit
            .problems
            .iter()
            .map(|p| JsonProblem {
                origin: &p.origin,
                reason: &p.reason,
            })
            .collect(),
        summary: summary(audit),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)?;
    Ok(())
}
