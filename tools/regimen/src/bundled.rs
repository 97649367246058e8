//! The regimens and rules shipped with rxgate, compiled into the binary.

use rxgate_knowledge::SourceFile;

macro_rules! regimens {
    ($($name:literal),* $(,)?) => {
        vec![$(SourceFile { name: $name.to_string(), text: include_str!(concat!("../data/regimens/", $name)).to_string() }),*]
    };
}

/// Every bundled regimen file, by file name.
pub fn bundled_regimen_files() -> Vec<SourceFile> {
    regimens![
        "chop-21.toml",
        "r-chop-21.toml",
        "carboplatin-auc5.toml",
        "carboplatin-paclitaxel.toml",
        "paed-all-consolidation.toml"
    ]
}

/// `data/rules.toml`.
pub fn bundled_rules_text() -> &'static str {
    include_str!("../data/rules.toml")
}
