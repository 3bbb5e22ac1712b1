//! The reference held to the loader and to README.

use std::collections::BTreeSet;
use std::path::Path;

use serde::de::{self, DeserializeOwned, Visitor};

use super::super::auth::OktaSection;
use super::super::daemon::{LogSection, MetricsSection};
use super::super::hook::HookSection;
use super::super::sync::{PollerSection, SyncSection};
use super::super::{Config, FileConfig, STREAMS};
use super::{DefaultValue, KEYS, markdown_table};

/// The field names serde asks for when it deserializes `T`: the keys the loader accepts.
fn fields<T: DeserializeOwned>() -> BTreeSet<&'static str> {
    match T::deserialize(Introspect) {
        Err(Found(fields)) => fields.iter().copied().collect(),
        Ok(_) => BTreeSet::new(),
    }
}

/// A deserializer that only records the fields of the struct asked for.
struct Introspect;

#[derive(Debug)]
struct Found(&'static [&'static str]);

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fields {:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl de::Error for Found {
    fn custom<T: std::fmt::Display>(_: T) -> Found {
        Found(&[])
    }
}

impl<'de> de::Deserializer<'de> for Introspect {
    type Error = Found;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        Err(Found(&[]))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        Err(Found(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Every key the loader accepts, `pollers.<stream>.…` for the per-poller ones.
fn accepted_keys() -> BTreeSet<String> {
    let sections = [
        ("okta", fields::<OktaSection>()),
        ("sync", fields::<SyncSection>()),
        ("pollers.<stream>", fields::<PollerSection>()),
        ("metrics", fields::<MetricsSection>()),
        ("log", fields::<LogSection>()),
        ("hook", fields::<HookSection>()),
    ];
    let tops: BTreeSet<&str> = sections
        .iter()
        .map(|(s, _)| s.split('.').next().unwrap_or(s))
        .collect();
    assert_eq!(
        tops,
        fields::<FileConfig>(),
        "a section of FileConfig is missing here"
    );
    sections
        .iter()
        .flat_map(|(section, keys)| keys.iter().map(move |k| format!("{section}.{k}")))
        .collect()
}

/// Keys of one stream (`pollers.system_log.filter`, `pollers.groups.reconcile`) are listed under
/// that stream.
fn listed_keys() -> BTreeSet<String> {
    KEYS.iter()
        .map(|k| {
            STREAMS.iter().fold(k.key.to_owned(), |key, s| {
                key.replace(&format!("pollers.{s}."), "pollers.<stream>.")
            })
        })
        .collect()
}

#[test]
fn the_reference_lists_exactly_the_keys_the_loader_accepts() {
    let accepted = accepted_keys();
    let listed = listed_keys();
    let missing: Vec<&String> = accepted.difference(&listed).collect();
    let unknown: Vec<&String> = listed.difference(&accepted).collect();
    assert!(
        missing.is_empty(),
        "keys to add to config::reference::KEYS: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "keys the loader does not accept: {unknown:?}"
    );
}

/// Every `env("NAME")` the loader calls, read from its source.
fn env_in_source() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![dir.join("config.rs")];
    for entry in std::fs::read_dir(dir.join("config")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    let mut names = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for piece in code.split("env(\"").skip(1) {
            if let Some((name, _)) = piece.split_once('"') {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn the_reference_names_exactly_the_environment_variables_the_loader_reads() {
    let listed: BTreeSet<String> = KEYS
        .iter()
        .flat_map(|k| k.env.split(", "))
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(listed, env_in_source());
}

#[test]
fn the_documented_defaults_load_to_the_same_settings_as_an_empty_file() {
    let mut toml = String::new();
    for k in KEYS {
        let (section, key) = k.key.rsplit_once('.').unwrap();
        let values: Vec<(String, &str)> = match k.default {
            DefaultValue::Toml(v) if section == "pollers.<stream>" => STREAMS
                .iter()
                .map(|s| (format!("pollers.{s}"), v))
                .collect(),
            DefaultValue::Toml(v) => vec![(section.to_owned(), v)],
            DefaultValue::PerStream(values) => values
                .iter()
                .map(|(s, v)| (format!("pollers.{s}"), *v))
                .collect(),
            DefaultValue::Text(_) => continue,
        };
        for (section, value) in values {
            toml.push_str(&format!("[{section}]\n{key} = {value}\n"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (documented, empty) = (
        dir.path().join("documented.toml"),
        dir.path().join("empty.toml"),
    );
    std::fs::write(&documented, merge_sections(&toml)).unwrap();
    std::fs::write(&empty, "").unwrap();
    let env = |k: &str| match k {
        "OKTA_DOMAIN" => Some("dev-12345.okta.com".to_owned()),
        "OKTA_API_TOKEN" => Some("t".to_owned()),
        _ => None,
    };
    let load = |p: &Path| format!("{:?}", Config::load(Some(p), &env).unwrap());
    assert_eq!(load(&documented), load(&empty), "{toml}");
}

/// Puts repeated `[section]` headers' keys under one header each (TOML forbids repeats).
fn merge_sections(toml: &str) -> String {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    let mut current = String::new();
    for line in toml.lines() {
        if let Some(name) = line.strip_prefix('[') {
            current = name.trim_end_matches(']').to_owned();
        } else if let Some(entry) = sections.iter_mut().find(|(s, _)| *s == current) {
            entry.1.push(line.to_owned());
        } else {
            sections.push((current.clone(), vec![line.to_owned()]));
        }
    }
    sections
        .iter()
        .map(|(s, lines)| format!("[{s}]\n{}\n", lines.join("\n")))
        .collect()
}

const BEGIN: &str = "<!-- config-reference:begin (generated from src/config/reference.rs) -->\n";
const END: &str = "<!-- config-reference:end -->";

#[test]
fn readme_carries_the_reference_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("README.md lacks the markers {BEGIN:?} … {END:?}");
    };
    let table = markdown_table();
    let shown = &readme[start + BEGIN.len()..end];
    if shown != table && std::env::var_os("OKTASYNC_BLESS").is_some() {
        let updated = format!("{}{BEGIN}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        shown, table,
        "README's configuration table is stale: run OKTASYNC_BLESS=1 cargo test --lib config::reference"
    );
}
