//! The registry shipped with rxgate, compiled into the binary so that a fresh install has a
//! working formulary without any file lookup.

use crate::load::SourceFile;

/// Every file a registry folder may hold, in load order. Files marked optional may be absent.
pub const FILES: &[(&str, bool)] = &[
    ("registry.toml", true),
    ("sources.csv", true),
    ("classes.csv", true),
    ("generics.csv", true),
    ("property_kinds.toml", true),
    ("properties.csv", true),
    ("ddi_rules.toml", true),
    ("interactions.toml", true),
    ("allergy.toml", true),
    ("excipients.csv", true),
    ("halal_rules.toml", true),
    ("products.csv", true),
    ("inventory.csv", true),
    ("recalls.csv", true),
    ("dose_rules.toml", false),
];

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        vec![$(SourceFile { name: $name.to_string(), text: include_str!(concat!("../data/", $name)).to_string() }),*]
    };
}

/// The text of the registry in `tools/knowledge/data/`, as it was when rxgate was built.
pub fn bundled_files() -> Vec<SourceFile> {
    bundled![
        "registry.toml",
        "sources.csv",
        "classes.csv",
        "generics.csv",
        "property_kinds.toml",
        "properties.csv",
        "ddi_rules.toml",
        "interactions.toml",
        "allergy.toml",
        "excipients.csv",
        "halal_rules.toml",
        "products.csv",
        "inventory.csv",
        "recalls.csv",
        "dose_rules.toml",
    ]
}
