//! What `runner audit` prints: a table for a person, or one JSON document for a program.
//!
//! The table lists the objects that use the host network, the rejected first, each rejection
//! followed by the policy's own message; objects the policy lets through without a word are
//! only counted. The JSON has every judged object.

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
    let name = if finding.name.is_empty() {
        "(unnamed)"
    } else {
        &finding.name
    };
    if finding.namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{}/{name}", finding.namespace)
    }
}

/// The verdict column: an exemption names the entries the policy's audit annotation names.
fn verdict_text(finding: &Finding) -> String {
    match finding.verdict {
        Verdict::Exempt => {
            let entries: Vec<&str> = finding
                .audit_annotations
                .values()
                .map(String::as_str)
                .collect();
            format!("exempt by {}", entries.join("; "))
        }
        verdict => verdict.label().to_owned(),
    }
}

pub fn table(audit: &Audit, out: &mut impl Write) -> Result<()> {
    let mut shown: Vec<&Finding> = audit
        .findings
        .iter()
        .filter(|f| f.verdict != Verdict::Allowed)
        .collect();
    shown.sort_by_key(|f| f.verdict);
    if !shown.is_empty() {
        let rows: Vec<[String; 3]> = shown
            .iter()
            .map(|f| [f.kind.clone(), object_name(f), verdict_text(f)])
            .collect();
        let header = ["KIND", "NAMESPACE/NAME", "VERDICT"].map(str::to_owned);
        let width = |column: usize| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|row| row.get(column).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        };
        let (kind_width, name_width) = (width(0), width(1));
        for (row, finding) in
            std::iter::once((&header, None)).chain(rows.iter().zip(shown.iter().map(Some)))
        {
            let [kind, name, verdict] = row;
            writeln!(out, "{kind:kind_width$}  {name:name_width$}  {verdict}")?;
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
fn summary(audit: &Audit) -> String {
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
