//! Loading a registry: parse → schema → referential integrity → clinical invariants.

mod dose;
mod invariants;
mod raw;
mod resolve;

use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Diagnostics, Loc, Pass};
use crate::registry::Snapshot;
use crate::toml_file::TomlFile;

/// One file of a registry folder: its name (e.g. `generics.csv`) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// Every file parsed, not yet resolved.
pub(crate) struct RawRegistry {
    pub(crate) registry: raw::RegistryToml,
    pub(crate) sources: Vec<raw::RawSource>,
    pub(crate) classes: Vec<raw::RawClass>,
    pub(crate) generics: Vec<raw::RawGeneric>,
    pub(crate) kinds: Option<raw::PropertyKindsToml>,
    pub(crate) properties: Vec<raw::RawProperty>,
    pub(crate) ddi_rules: Option<raw::DdiRulesToml>,
    pub(crate) interactions: Option<raw::InteractionsToml>,
    pub(crate) allergy: Option<raw::AllergyToml>,
    pub(crate) excipients: Vec<raw::RawExcipient>,
    pub(crate) halal_rules: Option<raw::HalalRulesToml>,
    pub(crate) products: Vec<raw::RawProduct>,
    pub(crate) stock: Vec<raw::RawStock>,
    pub(crate) recalls: Vec<raw::RawRecall>,
}

/// Loads a registry from the text of its files. Returns the snapshot, or every problem
/// found. Passes run in order and stop after the first pass that found an error, so no
/// message rests on a broken premise (an unknown generic is not also reported as a
/// generic without products).
pub fn load(files: &[SourceFile]) -> Result<Snapshot, Vec<Diagnostic>> {
    let mut d = Diagnostics::default();
    let text_of = |name: &str| files.iter().find(|f| f.name == name).map(|f| f.text.as_str());
    for (name, required) in crate::bundled::FILES {
        if *required && text_of(name).is_none() {
            d.push(Loc::new(name, 1, 1), Pass::Parse, "missing-file", format!("the registry needs a `{name}` file"));
        }
    }
    if !d.is_empty() {
        return Err(d.into_sorted());
    }
    let get = |name: &str| text_of(name).unwrap_or("");

    let registry_file = TomlFile { name: "registry.toml", text: get("registry.toml") };
    let Some(registry) = registry_file.parse::<raw::RegistryToml>(&mut d) else {
        return Err(d.into_sorted());
    };
    let toml = |name: &'static str| TomlFile { name, text: get(name) };
    let raw = RawRegistry {
        registry,
        sources: raw::sources_csv(get("sources.csv"), &mut d),
        classes: raw::classes_csv(get("classes.csv"), &mut d),
        generics: raw::generics_csv(get("generics.csv"), &mut d),
        kinds: toml("property_kinds.toml").parse(&mut d),
        properties: raw::properties_csv(get("properties.csv"), &mut d),
        ddi_rules: toml("ddi_rules.toml").parse(&mut d),
        interactions: toml("interactions.toml").parse(&mut d),
        allergy: toml("allergy.toml").parse(&mut d),
        excipients: raw::excipients_csv(get("excipients.csv"), &mut d),
        halal_rules: toml("halal_rules.toml").parse(&mut d),
        products: raw::products_csv(get("products.csv"), &mut d),
        stock: raw::inventory_csv(get("inventory.csv"), &mut d),
        recalls: raw::recalls_csv(get("recalls.csv"), &mut d),
    };
    let dose_file = TomlFile { name: dose::FILE, text: get(dose::FILE) };
    let dose_raw = dose::parse(&dose_file, text_of(dose::FILE).is_some(), &mut d);
    if !d.is_empty() {
        return Err(d.into_sorted());
    }

    let files_for_spans = resolve::Files {
        kinds: toml("property_kinds.toml"),
        ddi_rules: toml("ddi_rules.toml"),
        interactions: toml("interactions.toml"),
        allergy: toml("allergy.toml"),
        halal_rules: toml("halal_rules.toml"),
    };
    let resolved = resolve::resolve(raw, files_for_spans, &mut d);
    if !d.is_empty() {
        return Err(d.into_sorted());
    }
    let Some((mut registry, locs)) = resolved else {
        return Err(d.into_sorted());
    };
    let (dose_rules, dose_locs) = dose::resolve(&dose_raw.unwrap_or_default(), &dose_file, &registry, &mut d);
    if !d.is_empty() {
        return Err(d.into_sorted());
    }
    registry.dose = dose_rules;
    invariants::check(&registry, &locs, &mut d);
    dose::check(&registry, &registry.dose, &dose_locs, &mut d);
    if !d.is_empty() {
        return Err(d.into_sorted());
    }
    Ok(Snapshot { version: registry.version.clone(), hash: content_hash(files), registry })
}

/// SHA-256 over the registry's known files in name order, so the same content always has
/// the same hash whatever order the files were read in.
fn content_hash(files: &[SourceFile]) -> String {
    let mut known: Vec<&SourceFile> =
        files.iter().filter(|f| crate::bundled::FILES.iter().any(|(n, _)| *n == f.name)).collect();
    known.sort_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = Sha256::new();
    for file in known {
        hasher.update(file.name.as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}
