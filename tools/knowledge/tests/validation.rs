//! The bundled registry validates, and a broken registry is refused with the exact place
//! of each problem.

use rxgate_knowledge::{Diagnostic, Pass, SourceFile, bundled_files, load};

fn bundled() -> Vec<SourceFile> {
    bundled_files()
}

fn with(files: &[SourceFile], name: &str, edit: impl Fn(&str) -> String) -> Vec<SourceFile> {
    files
        .iter()
        .map(|f| if f.name == name { SourceFile { name: f.name.clone(), text: edit(&f.text) } } else { f.clone() })
        .collect()
}

fn problems(files: &[SourceFile]) -> Vec<Diagnostic> {
    match load(files) {
        Ok(_) => panic!("a broken registry was accepted"),
        Err(p) => p,
    }
}

/// 1-based line of the first line containing `needle`, and the column where `needle` starts.
fn position(text: &str, needle: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i + 1, line[..col].chars().count() + 1);
        }
    }
    panic!("`{needle}` not found")
}

#[test]
fn bundled_registry_validates_with_breadth() {
    let snapshot = load(&bundled()).unwrap_or_else(|p| {
        panic!("bundled registry invalid:\n{}", p.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))
    });
    let r = &snapshot.registry;
    assert!(r.generics().len() >= 300, "only {} generics", r.generics().len());
    assert!(r.is_demo());
    assert_eq!(snapshot.hash.len(), 64);
    for (id, g) in r.generics() {
        assert!(!r.products_of(id).is_empty(), "{} has no product", g.inn);
        assert!(!g.sources.is_empty(), "{} has no source", g.inn);
    }
    for c in r.curated() {
        assert!(!c.sources.is_empty());
    }
    for rule in r.ddi_rules() {
        assert!(!rule.sources.is_empty(), "rule {} has no source", rule.id);
    }
    for x in r.cross_reactivity() {
        assert!(!x.sources.is_empty());
    }
    for h in r.halal_rules() {
        assert!(!h.sources.is_empty());
    }
}

#[test]
fn synonyms_from_the_contract_resolve_to_one_generic() {
    let snapshot = load(&bundled()).expect("valid");
    let r = &snapshot.registry;
    let pairs = [
        ("paracetamol", "acetaminophen"),
        ("ciclosporin", "cyclosporine"),
        ("glyceryl trinitrate", "nitroglycerin"),
        ("pethidine", "meperidine"),
        ("rifampicin", "rifampin"),
        ("valproic acid", "sodium valproate"),
    ];
    for (inn, synonym) in pairs {
        let a = r.resolve(inn).unwrap_or_else(|| panic!("{inn} unknown"));
        let b = r.resolve(synonym).unwrap_or_else(|| panic!("{synonym} unknown"));
        assert_eq!(a.generic, b.generic, "{inn} and {synonym} must be the same generic");
        assert_eq!(r.generic(a.generic).inn, inn);
    }
    assert_eq!(
        r.resolve("AMLODIPINE Besilate").map(|x| r.generic(x.generic).inn.clone()).as_deref(),
        Some("amlodipine")
    );
    assert!(r.resolve("no-such-drug").is_none());
    assert!(r.resolve("").is_none());
}

#[test]
fn unknown_class_in_generics_is_located_precisely() {
    let files = with(&bundled(), "generics.csv", |t| {
        let line = t.lines().find(|l| l.starts_with("amlodipine,")).expect("amlodipine row").to_string();
        let broken = line.replacen("dihydropyridine_ccb", "dihydropyridine_ccbx", 1);
        assert_ne!(line, broken, "amlodipine row names dihydropyridine_ccb");
        t.replacen(&line, &broken, 1)
    });
    let text = &files.iter().find(|f| f.name == "generics.csv").unwrap().text;
    let (line, _) = position(text, "dihydropyridine_ccbx");
    let p = problems(&files);
    let found = p.iter().find(|d| d.rule == "unknown-class").expect("an unknown-class problem");
    assert_eq!(found.loc.file, "generics.csv");
    assert_eq!(found.loc.line, line);
    assert_eq!(found.pass, Pass::Reference);
    assert!(found.to_string().starts_with(&format!("generics.csv:{line}:")), "{found}");
    assert!(found.message.contains("dihydropyridine_ccbx"));
}

#[test]
fn toml_syntax_error_is_located() {
    let files = with(&bundled(), "interactions.toml", |t| format!("{t}\n[[interaction]\na = \"x\"\n"));
    let text = &files.iter().find(|f| f.name == "interactions.toml").unwrap().text;
    let broken_line = text.lines().position(|l| l == "[[interaction]").expect("the broken header") + 1;
    let p = problems(&files);
    assert!(
        p.iter().any(|d| d.rule == "toml-syntax" && d.loc.file == "interactions.toml" && d.loc.line == broken_line),
        "{p:?}"
    );
}

#[test]
fn a_fact_without_a_known_source_is_refused() {
    let files = with(&bundled(), "properties.csv", |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        lines.push("clarithromycin,nephrotoxic,yes,no-such-source,".to_string());
        lines.join("\n") + "\n"
    });
    let p = problems(&files);
    assert!(p.iter().any(|d| d.rule == "unknown-source" && d.loc.file == "properties.csv"), "{p:?}");
    let files = with(&bundled(), "properties.csv", |t| t.to_string() + "clarithromycin,nephrotoxic,yes,,\n");
    assert!(problems(&files).iter().any(|d| d.rule == "missing-source"));
}

#[test]
fn a_curated_interaction_with_an_unknown_drug_is_refused() {
    let files = with(&bundled(), "interactions.toml", |t| {
        format!(
            "{t}\n[[interaction]]\na = \"amlodipinex\"\nb = \"clarithromycin\"\nseverity = \"major\"\nmechanism = \"m\"\neffect = \"e\"\nmanagement = \"m\"\nsources = [\"gandhi-jama-2013\"]\n"
        )
    });
    let p = problems(&files);
    let d = p.iter().find(|d| d.rule == "unknown-generic").expect("unknown-generic");
    assert_eq!(d.loc.file, "interactions.toml");
    let text = &files.iter().find(|f| f.name == "interactions.toml").unwrap().text;
    assert_eq!(d.loc.line, text.lines().count() - 6);
}

#[test]
fn a_name_meaning_two_drugs_is_refused() {
    let files = with(&bundled(), "generics.csv", |t| {
        let line = t.lines().find(|l| l.starts_with("paracetamol,")).expect("paracetamol row").to_string();
        // Give paracetamol the brand of another drug.
        let cols: Vec<&str> = line.split(',').collect();
        let mut broken = cols.clone();
        broken[4] = "Norvasc";
        t.replacen(&line, &broken.join(","), 1)
    });
    let p = problems(&files);
    assert!(p.iter().any(|d| d.rule == "ambiguous-name" && d.message.contains("norvasc")), "{p:?}");
}

#[test]
fn the_hash_follows_content_not_file_order() {
    let files = bundled();
    let a = load(&files).expect("valid");
    let mut reversed = files.clone();
    reversed.reverse();
    let b = load(&reversed).expect("valid");
    assert_eq!(a.hash, b.hash);
    let edited = with(&files, "sources.csv", |t| t.to_string() + "\n");
    let c = load(&edited).expect("valid");
    assert_ne!(a.hash, c.hash);
}

#[test]
fn missing_and_unknown_columns_are_schema_errors() {
    let files = with(&bundled(), "products.csv", |t| t.replacen("unit_price_myr", "unit_price", 1));
    let p = problems(&files);
    assert!(p.iter().any(|d| d.rule == "missing-column" && d.loc.file == "products.csv" && d.loc.line == 1));
    assert!(p.iter().any(|d| d.rule == "unknown-column" && d.message.contains("unit_price")));
}

// ---- dose_rules.toml ---------------------------------------------------------------------

fn dose_problem(extra: &str, rule: &str) -> (Diagnostic, usize) {
    let files = with(&bundled(), "dose_rules.toml", |t| format!("{t}\n{extra}"));
    let text = &files.iter().find(|f| f.name == "dose_rules.toml").unwrap().text;
    let first_new_line = text.lines().count() - extra.lines().count() + 1;
    let p = problems(&files);
    let found = p.iter().find(|d| d.rule == rule).unwrap_or_else(|| panic!("no {rule} problem in {p:?}")).clone();
    assert_eq!(found.loc.file, "dose_rules.toml", "{found}");
    assert!(found.loc.line >= first_new_line, "{found} should point into the added rule (line {first_new_line}+)");
    (found, first_new_line)
}

const RULE_HEAD: &str =
    "[[dose]]\nid = \"test-rule\"\ngeneric = \"paracetamol\"\nroutes = [\"oral\"]\nbands = [\"adult\"]\n";

#[test]
fn dose_rule_with_an_unparseable_unit_is_located() {
    let (found, _) = dose_problem(
        &format!(
            "{RULE_HEAD}indication = \"x\"\nper_dose = {{ max = 1, unit = \"mg/kgg\" }}\nsources = [\"bnf-2025\"]\n"
        ),
        "bad-unit",
    );
    assert!(found.message.contains("kgg"), "{found}");
    assert!(found.to_string().starts_with("dose_rules.toml:"), "{found}");
}

#[test]
fn per_kg_rule_whose_unit_is_not_per_kg_is_refused() {
    let (found, _) = dose_problem(
        &format!(
            "{RULE_HEAD}indication = \"x\"\nbasis = \"weight\"\nper_dose = {{ max = 15, unit = \"mg\" }}\nsources = [\"bnf-2025\"]\n"
        ),
        "basis-unit-mismatch",
    );
    assert!(found.message.contains("per kg"), "{found}");
}

#[test]
fn absolute_maximum_in_the_wrong_unit_is_refused() {
    let (found, _) = dose_problem(
        &format!(
            "{RULE_HEAD}indication = \"x\"\nper_dose = {{ max = 15, unit = \"mg/kg\", abs_max = \"1 mL\" }}\nsources = [\"bnf-2025\"]\n"
        ),
        "bad-unit",
    );
    assert!(found.message.contains("1 mL"), "{found}");
}

#[test]
fn dose_rule_for_an_unknown_generic_is_located() {
    let extra = "[[dose]]\nid = \"test-rule\"\ngeneric = \"paracetamoll\"\nroutes = [\"oral\"]\nper_dose = { max = 1, unit = \"mg\" }\nsources = [\"bnf-2025\"]\n";
    let (found, first) = dose_problem(extra, "unknown-generic");
    assert_eq!(found.loc.line, first + 2, "{found}");
    assert_eq!(found.pass, Pass::Reference);
}

#[test]
fn dose_rule_synonym_gets_a_hint() {
    let extra = "[[dose]]\nid = \"test-rule\"\ngeneric = \"acetaminophen\"\nroutes = [\"oral\"]\nper_dose = { max = 1, unit = \"mg\" }\nsources = [\"bnf-2025\"]\n";
    let (found, _) = dose_problem(extra, "unknown-generic");
    assert!(found.message.contains("paracetamol"), "{found}");
}

#[test]
fn overlapping_dose_rules_are_refused() {
    let extra = "[[dose]]\nid = \"test-rule\"\ngeneric = \"paracetamol\"\nroutes = [\"iv\"]\nweight_kg = { above = 60 }\nper_dose = { max = 1000, unit = \"mg\" }\nsources = [\"smpc-paracetamol-iv\"]\n";
    let (found, _) = dose_problem(extra, "overlapping-rules");
    assert!(found.message.contains("paracetamol-iv-over-50-kg"), "{found}");
    assert_eq!(found.pass, Pass::Clinical);
}

#[test]
fn dose_minimum_above_maximum_and_unknown_band_are_refused() {
    dose_problem(
        &format!(
            "{RULE_HEAD}indication = \"x\"\nper_dose = {{ min = 20, max = 15, unit = \"mg/kg\" }}\nsources = [\"bnf-2025\"]\n"
        ),
        "min-above-max",
    );
    dose_problem(
        "[[dose]]\nid = \"test-rule\"\ngeneric = \"paracetamol\"\nroutes = [\"oral\"]\nbands = [\"toddler\"]\nper_dose = { max = 1, unit = \"mg\" }\nsources = [\"bnf-2025\"]\n",
        "unknown-band",
    );
}

#[test]
fn bundled_dose_rules_have_sources_and_exact_numbers() {
    let snapshot = load(&bundled()).expect("valid");
    let rules = snapshot.registry.dose_rules();
    assert!(rules.doses.len() >= 150, "{} dose rules", rules.doses.len());
    for r in &rules.doses {
        assert!(!r.sources.is_empty(), "{} has no source", r.id);
    }
    let seed = rules.doses.iter().find(|r| r.id == "paracetamol-iv-up-to-10-kg").expect("IV paracetamol ≤10 kg");
    let per_dose = seed.per_dose.as_ref().expect("per dose");
    assert_eq!(per_dose.max.as_ref().map(|n| n.to_exact_string()).as_deref(), Some("15/2"));
    assert_eq!(per_dose.unit.to_string(), "mg/kg");
}
