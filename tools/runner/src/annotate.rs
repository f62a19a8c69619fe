//! `runner annotate` and `runner inspect`: the two kwctl commands a release needs before it
//! pushes, so that the release steps can be dry-run where kwctl is not installed.
//!
//! kwctl stores a policy's metadata as JSON in the custom section `io.kubewarden.metadata`,
//! with the README under the annotation `io.kubewarden.policy.usage`. `annotate` writes the
//! same section; `inspect --output yaml` prints it back as YAML, as `kwctl inspect` does.
//! Neither validates the metadata against the policy as kwctl does: they exist to check what
//! the release embeds (the OCI URL, the placeholders), not to replace kwctl for publishing.

use std::fs;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};
use wasm_encoder::{CustomSection, Section};
use wasmparser::{Parser, Payload};

use crate::cli::{policy_path, AnnotateArgs, InspectArgs, InspectOutput};

/// The custom section kwctl writes the metadata into.
const METADATA_SECTION: &str = "io.kubewarden.metadata";
/// The annotation holding the README.
const USAGE_ANNOTATION: &str = "io.kubewarden.policy.usage";

pub fn annotate(args: &AnnotateArgs) -> Result<()> {
    let module = fs::read(&args.policy)
        .with_context(|| format!("cannot read policy {}", args.policy.display()))?;
    if metadata_section(&module, &args.policy)?.is_some() {
        bail!(
            "{} is already annotated: annotate the module built by `make policy.wasm`",
            args.policy.display()
        );
    }
    let text = fs::read_to_string(&args.metadata_path)
        .with_context(|| format!("cannot read metadata {}", args.metadata_path.display()))?;
    let metadata: Value = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("cannot parse {} as YAML", args.metadata_path.display()))?;
    let Value::Object(mut metadata) = metadata else {
        bail!("{} is not a YAML mapping", args.metadata_path.display());
    };
    // kwctl asks the module for its protocol version; every waPC policy built with the
    // Kubewarden SDK speaks v1.
    metadata
        .entry("protocolVersion")
        .or_insert_with(|| Value::from("v1"));
    if let Some(readme) = &args.usage_path {
        let usage = fs::read_to_string(readme)
            .with_context(|| format!("cannot read {}", readme.display()))?;
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(annotations) = annotations else {
            bail!(
                "`annotations` in {} is not a mapping",
                args.metadata_path.display()
            );
        };
        annotations.insert(USAGE_ANNOTATION.to_owned(), Value::from(usage));
    }

    let data = serde_json::to_vec(&Value::Object(metadata))?;
    let mut annotated = module;
    CustomSection {
        name: METADATA_SECTION.into(),
        data: data.into(),
    }
    .append_to(&mut annotated);
    fs::write(&args.output_path, annotated)
        .with_context(|| format!("cannot write {}", args.output_path.display()))
}

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let path = policy_path(&args.policy);
    let metadata = embedded_metadata(path)?
        .ok_or_else(|| anyhow!("{} has no Kubewarden metadata", path.display()))?;
    match args.output {
        InspectOutput::Yaml => print!("{}", serde_yaml_ng::to_string(&metadata)?),
        InspectOutput::Json => println!("{}", serde_json::to_string_pretty(&metadata)?),
    }
    Ok(())
}

/// The metadata embedded in a policy module, if it is annotated.
pub fn embedded_metadata(path: &Path) -> Result<Option<Value>> {
    let module =
        fs::read(path).with_context(|| format!("cannot read policy {}", path.display()))?;
    metadata_section(&module, path)?
        .map(|metadata| {
            serde_json::from_slice(metadata)
                .with_context(|| format!("the metadata of {} is not JSON", path.display()))
        })
        .transpose()
}

/// The bytes of the module's metadata section, if it has one.
fn metadata_section<'m>(module: &'m [u8], path: &Path) -> Result<Option<&'m [u8]>> {
    for payload in Parser::new(0).parse_all(module) {
        let payload =
            payload.with_context(|| format!("{} is not a wasm module", path.display()))?;
        if let Payload::CustomSection(section) = payload {
            if section.name() == METADATA_SECTION {
                return Ok(Some(section.data()));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The smallest valid module: the magic number and version 1.
    const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("runner-annotate-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn the_metadata_and_readme_are_embedded_and_read_back() {
        let policy = scratch("policy.wasm");
        let metadata = scratch("metadata.yml");
        let readme = scratch("README.md");
        let output = scratch("annotated.wasm");
        fs::write(&policy, EMPTY_MODULE).unwrap();
        fs::write(
            &metadata,
            "mutating: false\nannotations:\n  io.kubewarden.policy.ociUrl: ghcr.io/acme/p\n",
        )
        .unwrap();
        fs::write(&readme, "# Title\n").unwrap();
        annotate(&AnnotateArgs {
            metadata_path: metadata.clone(),
            usage_path: Some(readme),
            output_path: output.clone(),
            policy: policy.clone(),
        })
        .unwrap();

        let annotated = fs::read(&output).unwrap();
        let section = metadata_section(&annotated, &output).unwrap().unwrap();
        let embedded: Value = serde_json::from_slice(section).unwrap();
        assert_eq!(
            embedded["annotations"]["io.kubewarden.policy.ociUrl"],
            "ghcr.io/acme/p"
        );
        assert_eq!(embedded["annotations"][USAGE_ANNOTATION], "# Title\n");
        assert_eq!(embedded["protocolVersion"], "v1");
        // The module itself is unchanged: the section is appended.
        assert_eq!(annotated.get(..EMPTY_MODULE.len()), Some(EMPTY_MODULE));

        // Annotating twice would leave two metadata sections; kwctl reads one.
        let again = annotate(&AnnotateArgs {
            metadata_path: metadata,
            usage_path: None,
            output_path: scratch("twice.wasm"),
            policy: output,
        });
        assert!(again.unwrap_err().to_string().contains("already annotated"));
    }

    #[test]
    fn a_file_that_is_not_a_module_is_named() {
        let path = scratch("not-wasm.wasm");
        fs::write(&path, b"hello").unwrap();
        let error = metadata_section(b"hello", &path).unwrap_err();
        assert!(
            error.to_string().contains("is not a wasm module"),
            "{error}"
        );
    }
}
