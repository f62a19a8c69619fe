//! Reading what `runner audit` judges: files, folders and standard input holding JSON or YAML,
//! one object or many, as `kubectl get -o json|yaml`, `helm template` and `kustomize build`
//! print them.
//!
//! Every object is kept as the JSON text it will be judged as. A JSON input's objects are
//! slices of the file itself, found without building a value tree of the dump: the top
//! level, then a `*List`'s items, are read as raw spans. A YAML document is converted to JSON
//! once, on its own. Anything that cannot be read is a [`Problem`] naming the file, the
//! document and the line, and reading goes on with the next document.

use std::borrow::Cow;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

/// Where an object, or a problem, was read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// The file, or `-` for standard input.
    pub source: String,
    /// The document's index in its file, from 1.
    pub document: usize,
    /// The line, from 1, where the document (or the List item) starts.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: document {} (line {})",
            self.source, self.document, self.line
        )
    }
}

/// An object to judge, as the JSON text the policy will read.
#[derive(Debug)]
pub struct Object<'t> {
    pub origin: Origin,
    pub json: Cow<'t, RawValue>,
    pub head: Head,
}

impl<'t> Object<'t> {
    /// An object the audit makes or keeps itself, read from no input.
    pub fn unlocated(json: &'t RawValue) -> serde_json::Result<Self> {
        Ok(Object {
            origin: Origin {
                source: String::new(),
                document: 0,
                line: 0,
            },
            json: Cow::Borrowed(json),
            head: serde_json::from_str(json.get())?,
        })
    }
}

/// What the audit reads of every object itself: its type and its name.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub uid: Option<String>,
    /// Read leniently: the audit groups by it, the policy does not read it, and a manifest
    /// whose owners are malformed must still be judged.
    #[serde(default, rename = "ownerReferences")]
    pub owner_references: Option<serde_json::Value>,
}

impl Head {
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.metadata
            .as_ref()
            .and_then(|m| m.name.as_deref())
            .unwrap_or_default()
    }

    pub fn namespace(&self) -> &str {
        self.metadata
            .as_ref()
            .and_then(|m| m.namespace.as_deref())
            .unwrap_or_default()
    }

    pub fn uid(&self) -> &str {
        self.metadata
            .as_ref()
            .and_then(|m| m.uid.as_deref())
            .unwrap_or_default()
    }

    /// The uid of the object's controller (the owner reference marked `controller: true`),
    /// which created it from its own template.
    pub fn controller_uid(&self) -> Option<&str> {
        let owners = self
            .metadata
            .as_ref()?
            .owner_references
            .as_ref()?
            .as_array()?;
        owners
            .iter()
            .find(|owner| {
                owner.get("controller").and_then(serde_json::Value::as_bool) == Some(true)
            })
            .and_then(|owner| owner.get("uid")?.as_str())
            .filter(|uid| !uid.is_empty())
    }

    /// The API group and version of `apiVersion`: `apps/v1` is `("apps", "v1")`, `v1` is the
    /// core group's.
    pub fn group_version(&self) -> (&str, &str) {
        let api_version = self.api_version.as_deref().unwrap_or_default();
        api_version.split_once('/').unwrap_or(("", api_version))
    }
}

/// Input that could not be read as objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub origin: Origin,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.reason)
    }
}

/// One input file's text, read whole: the objects of a JSON file borrow from it.
pub struct Source {
    pub name: String,
    pub text: String,
}

/// The files an INPUT argument names: `-` for standard input, a folder's YAML and JSON
/// files (recursively, in name order), or a file whatever its name.
pub fn files(input: &Path, out: &mut Vec<PathBuf>) -> Result<(), Problem> {
    let problem = |reason: String| Problem {
        origin: Origin {
            source: input.display().to_string(),
            document: 0,
            line: 0,
        },
        reason,
    };
    if input == Path::new("-") {
        out.push(input.to_owned());
        return Ok(());
    }
    let metadata = fs::metadata(input).map_err(|e| problem(format!("cannot read: {e}")))?;
    if !metadata.is_dir() {
        out.push(input.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(input)
        .map_err(|e| problem(format!("cannot list the folder: {e}")))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            files(&entry, out)?;
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(entry);
        }
    }
    Ok(())
}

/// Reads one file (or standard input for `-`) whole.
pub fn read(path: &Path) -> Result<Source, Problem> {
    let name = path.display().to_string();
    let problem = |reason: String| Problem {
        origin: Origin {
            source: name.clone(),
            document: 0,
            line: 0,
        },
        reason,
    };
    let bytes = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| problem(format!("cannot read standard input: {e}")))?;
        bytes
    } else {
        fs::read(path).map_err(|e| problem(format!("cannot read: {e}")))?
    };
    let text = String::from_utf8(bytes).map_err(|e| problem(format!("is not UTF-8 text: {e}")))?;
    Ok(Source { name, text })
}

/// The objects of one source, and the problems met reading it.
pub fn objects<'t>(source: &'t Source, out: &mut Vec<Object<'t>>, problems: &mut Vec<Problem>) {
    let text = source.text.as_str();
    if text.trim_start().starts_with(['{', '[']) {
        json_documents(source, out, problems);
    } else {
        yaml_documents(source, out, problems);
    }
}

/// Concatenated JSON values, as `kubectl get -o json` prints one or a List.
fn json_documents<'t>(source: &'t Source, out: &mut Vec<Object<'t>>, problems: &mut Vec<Problem>) {
    let text = source.text.as_str();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    let mut lines = Lines::new(text);
    let mut document = 0;
    loop {
        let start = stream.byte_offset();
        let Some(next) = stream.next() else { break };
        document += 1;
        let origin = Origin {
            source: source.name.clone(),
            document,
            line: lines.at(start + leading_space(text.get(start..).unwrap_or_default())),
        };
        match next {
            Ok(raw) => expand(Cow::Borrowed(raw), origin, false, &mut lines, out, problems),
            Err(error) => {
                problems.push(Problem {
                    origin: Origin {
                        line: error.line(),
                        ..origin
                    },
                    reason: format!("is not JSON: {error}"),
                });
                // A JSON stream cannot be resynchronised after a syntax error.
                break;
            }
        }
    }
}

/// YAML documents. A line starting with `---` or `...` always ends a document (YAML 1.2,
/// "c-forbidden"), so the stream is split there first, and a document that cannot be read
/// does not keep the next ones from being read.
fn yaml_documents<'t>(source: &'t Source, out: &mut Vec<Object<'t>>, problems: &mut Vec<Problem>) {
    let mut document = 0;
    for (first_line, chunk) in yaml_chunks(&source.text) {
        let origin_line = first_line + 1;
        let meaningful = chunk.lines().any(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#') && !line.starts_with('%')
        });
        if !meaningful {
            continue;
        }
        document += 1;
        let origin = Origin {
            source: source.name.clone(),
            document,
            line: origin_line,
        };
        match serde_yaml_ng::from_str::<serde_json::Value>(chunk) {
            Ok(serde_json::Value::Null) => document -= 1,
            Ok(value) => match serde_json::value::to_raw_value(&value) {
                Ok(json) => expand(
                    Cow::Owned(json),
                    origin,
                    false,
                    &mut Lines::new(""),
                    out,
                    problems,
                ),
                Err(error) => problems.push(Problem {
                    origin,
                    reason: format!("cannot be written as JSON: {error}"),
                }),
            },
            Err(error) => {
                let line = error
                    .location()
                    .map_or(origin_line, |l| first_line + l.line());
                problems.push(Problem {
                    origin: Origin { line, ..origin },
                    reason: format!(
                        "is not YAML: {}",
                        shift_lines(&error.to_string(), first_line)
                    ),
                });
            }
        }
    }
}

/// The stream's documents, each with the index of its first line (from 0), split at lines
/// that open (`---`) or close (`...`) a document.
fn yaml_chunks(text: &str) -> Vec<(usize, &str)> {
    let is_marker = |line: &str, marker: &str| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut start_line = 0;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches('\n');
        if is_marker(bare, "---") || is_marker(bare, "...") {
            chunks.push((start_line, text.get(start..offset).unwrap_or_default()));
            // What follows `--- ` on its line belongs to the new document.
            let content = if is_marker(bare, "---") {
                3
            } else {
                line.len()
            };
            start = offset + content.min(line.len());
            start_line = index;
        }
        offset += line.len();
    }
    chunks.push((start_line, text.get(start..).unwrap_or_default()));
    chunks
}

/// A YAML error's text with its "line N" counted in the file rather than in the document,
/// which the parser was given alone.
fn shift_lines(message: &str, by: usize) -> String {
    const LINE: &str = "line ";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(LINE) {
        let (before, after) = rest.split_at(at + LINE.len());
        out.push_str(before);
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (number, tail) = after.split_at(digits);
        match number.parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(number),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// What the audit reads of a document, in one pass: its head, and the span of its `items`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Peek<'a> {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default, borrow)]
    items: Option<&'a RawValue>,
}

/// A document's head, and its items when it is a `List` or `*List` (a List's item is never
/// expanded again); `None` when it is a problem, which is recorded.
fn peek<'a>(
    raw: &'a RawValue,
    origin: &Origin,
    item: bool,
    problems: &mut Vec<Problem>,
) -> Option<(Head, Option<Vec<&'a RawValue>>)> {
    let mut problem = |reason: String| {
        problems.push(Problem {
            origin: origin.clone(),
            reason,
        });
        None
    };
    if !raw.get().starts_with('{') {
        return problem(if item {
            "is a List item that is not an object".to_owned()
        } else {
            "is not an object".to_owned()
        });
    }
    let peek = match serde_json::from_str::<Peek<'a>>(raw.get()) {
        Ok(peek) => peek,
        Err(error) => {
            return problem(format!(
                "has an unreadable `kind`, `apiVersion` or `metadata`: {error}"
            ))
        }
    };
    let head = Head {
        api_version: peek.api_version,
        kind: peek.kind,
        metadata: peek.metadata,
    };
    let is_list = !item && head.kind().ends_with("List");
    match peek.items.filter(|_| is_list) {
        Some(items) => match serde_json::from_str::<Vec<&'a RawValue>>(items.get()) {
            Ok(items) => Some((head, Some(items))),
            Err(error) => problem(format!("is a List whose `items` is not an array: {error}")),
        },
        None if head.kind().is_empty() => problem("is an object without `kind`".to_owned()),
        None => Some((head, None)),
    }
}

/// One document: an object, or the items of a `List` or `*List`, each its own object.
/// `lines` counts in the text a borrowed document is a slice of, to give an item its own line.
fn expand<'t>(
    json: Cow<'t, RawValue>,
    origin: Origin,
    item: bool,
    lines: &mut Lines<'t>,
    out: &mut Vec<Object<'t>>,
    problems: &mut Vec<Problem>,
) {
    match json {
        Cow::Borrowed(raw) => match peek(raw, &origin, item, problems) {
            None => {}
            Some((head, None)) => out.push(Object { origin, json, head }),
            Some((_, Some(items))) => {
                for member in items {
                    let origin = Origin {
                        line: lines.at(offset_in(lines.text, member.get())),
                        ..origin.clone()
                    };
                    expand(Cow::Borrowed(member), origin, true, lines, out, problems);
                }
            }
        },
        Cow::Owned(raw) => {
            let members: Vec<Box<RawValue>> = match peek(&raw, &origin, item, problems) {
                None => return,
                Some((head, None)) => {
                    out.push(Object {
                        origin,
                        json: Cow::Owned(raw),
                        head,
                    });
                    return;
                }
                Some((_, Some(items))) => items.into_iter().map(ToOwned::to_owned).collect(),
            };
            for member in members {
                expand(
                    Cow::Owned(member),
                    origin.clone(),
                    true,
                    lines,
                    out,
                    problems,
                );
            }
        }
    }
}

/// Where `part`, a slice of `whole`, starts in it; 0 when it is not one.
fn offset_in(whole: &str, part: &str) -> usize {
    let whole_start = whole.as_ptr() as usize;
    let part_start = part.as_ptr() as usize;
    if part_start >= whole_start && part_start + part.len() <= whole_start + whole.len() {
        part_start - whole_start
    } else {
        0
    }
}

fn leading_space(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

/// Lines of a text, counted forward: asking for increasing offsets, as a reader of the text
/// does, costs one pass over it in all, however many objects a dump holds.
struct Lines<'t> {
    text: &'t str,
    offset: usize,
    line: usize,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// The line, from 1, of byte `offset`.
    fn at(&mut self, offset: usize) -> usize {
        if offset < self.offset {
            (self.offset, self.line) = (0, 1);
        }
        let between = self
            .text
            .as_bytes()
            .get(self.offset..offset)
            .unwrap_or_default();
        self.line += between.iter().filter(|&&b| b == b'\n').count();
        self.offset = offset.max(self.offset);
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> (Vec<(String, usize, usize)>, Vec<Problem>) {
        let source = Source {
            name: "in".to_owned(),
            text: text.to_owned(),
        };
        let mut out = Vec::new();
        let mut problems = Vec::new();
        objects(&source, &mut out, &mut problems);
        let found = out
            .iter()
            .map(|o| (o.head.name().to_owned(), o.origin.document, o.origin.line))
            .collect();
        (found, problems)
    }

    #[test]
    fn multi_document_yaml_gives_every_object_with_its_line() {
        let (found, problems) = read_text(
            "# a comment\n---\nkind: Pod\nmetadata: {name: a}\n---\n---\nkind: Deployment\nmetadata:\n  name: b\n...\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(found, vec![("a".to_owned(), 1, 2), ("b".to_owned(), 2, 6)]);
    }

    #[test]
    fn a_broken_yaml_document_is_reported_and_the_next_is_read() {
        let (found, problems) = read_text(
            "kind: Pod\nmetadata: {name: a}\n---\nkind: [\n---\nkind: Pod\nmetadata: {name: c}\n",
        );
        assert_eq!(
            found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            ["a", "c"]
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].origin.document, 2);
        assert!(
            problems[0].reason.starts_with("is not YAML"),
            "{}",
            problems[0]
        );
        // The parser fails where the next document starts: a line of the file, in the
        // origin and in the parser's own text.
        assert_eq!(problems[0].origin.line, 5, "{}", problems[0]);
        assert!(
            problems[0].reason.contains("at line 5 column 1"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_json_list_gives_its_items_as_slices_of_the_file() {
        let text = "{\"apiVersion\":\"v1\",\"items\":[\n{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}},\n  {\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}],\"kind\":\"List\"}";
        let source = Source {
            name: "in".to_owned(),
            text: text.to_owned(),
        };
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        objects(&source, &mut out, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0].json, Cow::Borrowed(_)));
        assert_eq!(
            out[1].json.get(),
            "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}"
        );
        assert_eq!(out[1].origin.line, 3);
    }

    #[test]
    fn a_yaml_list_gives_its_items() {
        let (found, problems) = read_text(
            "apiVersion: v1\nkind: PodList\nitems:\n- kind: Pod\n  metadata: {name: a}\n- kind: Pod\n  metadata: {name: b}\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn documents_that_are_not_objects_or_lack_kind_are_named() {
        let (found, problems) = read_text("- a\n- b\n---\nmetadata: {name: x}\n---\nkind: Pod\n");
        assert_eq!(found.len(), 1);
        let reasons: Vec<&str> = problems.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(reasons, ["is not an object", "is an object without `kind`"]);
    }

    #[test]
    fn concatenated_json_objects_are_documents() {
        let (found, problems) = read_text(
            "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n{\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}\n{\"kind\":",
        );
        assert_eq!(found.len(), 2);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].origin.document, 3);
        assert!(
            problems[0].reason.starts_with("is not JSON"),
            "{}",
            problems[0]
        );
    }
}
