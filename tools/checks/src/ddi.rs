//! Drug–drug interactions: curated pairs first, then rules that infer interactions from
//! what each drug does (CYP roles, QT risk, serotonergic…), then therapeutic duplication.
//!
//! A pair is judged on its own: whatever else is on the list cannot remove or change the
//! finding for that pair, so adding a drug never hides an interaction.

use rxgate_knowledge::{
    ClassId, Condition, CuratedInteraction, DdiRule, GenericId, InteractionText, Registry, Replace, Severity, SourceId,
    Target,
};

use crate::drugs::{Drug, resolve_drugs};

/// What to check: the drugs being prescribed and the patient's current medicines.
#[derive(Debug, Clone, Default)]
pub struct DdiRequest {
    pub drugs: Vec<String>,
    pub active_medications: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// A pair written by hand in `interactions.toml`.
    Curated,
    /// Inferred by a rule over drug properties.
    Inferred,
    /// Needs three or more drugs together.
    Group,
    /// Two drugs of the same class (or the same drug twice).
    Duplication,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Curated => "curated",
            FindingKind::Inferred => "inferred",
            FindingKind::Group => "group",
            FindingKind::Duplication => "duplication",
        }
    }
}

/// A mechanism that also applies to the pair, below the one reported.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherMechanism {
    pub rule: String,
    pub severity: Severity,
    pub mechanism: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// Generic names (INN) of the drugs involved.
    pub drugs: Vec<String>,
    /// The names as the caller wrote them, same order as `drugs`.
    pub inputs: Vec<String>,
    pub severity: Severity,
    pub kind: FindingKind,
    /// Rule id, curated id, or the duplicated class.
    pub rule: String,
    pub mechanism: String,
    pub effect: String,
    pub management: String,
    pub alternatives: Vec<String>,
    pub sources: Vec<String>,
    /// False when published work classes the combination as not worth interrupting for.
    pub interruptive: bool,
    /// True when one of the drugs is a current medication rather than a new order.
    pub involves_active_medication: bool,
    pub other_mechanisms: Vec<OtherMechanism>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DdiReport {
    pub interactions: Vec<Interaction>,
    pub highest_severity: Option<Severity>,
    pub unknown: Vec<String>,
}

/// Checks the prescribed drugs against each other and against the active medications.
pub fn check(reg: &Registry, req: &DdiRequest) -> DdiReport {
    let (new, mut unknown) = resolve_drugs(reg, &req.drugs);
    let (active, unknown_active) = resolve_drugs(reg, &req.active_medications);
    for u in unknown_active {
        if !unknown.contains(&u) {
            unknown.push(u);
        }
    }
    let mut interactions = Vec::new();
    let mut memo = SeverityMemo::default();
    let everyone: Vec<(&Drug, bool)> = new.iter().map(|d| (d, false)).chain(active.iter().map(|d| (d, true))).collect();

    for (i, x) in new.iter().enumerate() {
        // New × new (each pair once) and new × active; active × active was reviewed when
        // those medicines were started.
        let partners = new.iter().skip(i + 1).map(|d| (d, false)).chain(active.iter().map(|d| (d, true)));
        for (y, y_active) in partners {
            if x.generic == y.generic {
                interactions.push(same_drug_twice(reg, x, y, y_active));
                continue;
            }
            if let Some(found) = pair_finding(reg, x.generic, y.generic) {
                let alternatives = alternatives_for(reg, &found, &everyone, &mut memo);
                interactions.push(found.into_interaction(reg, x, y, y_active, alternatives));
            }
            if let Some(class) = shared_duplication_class(reg, x.generic, y.generic) {
                interactions.push(duplication(reg, x, y, y_active, class));
            }
        }
    }
    interactions.extend(group_findings(reg, &new, &active));

    interactions
        .sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.drugs.cmp(&b.drugs)).then(a.rule.cmp(&b.rule)));
    interactions.dedup_by(|a, b| a.drugs == b.drugs && a.rule == b.rule);
    let highest_severity = interactions.iter().map(|i| i.severity).max();
    DdiReport { interactions, highest_severity, unknown }
}

/// The finding for one pair of different generics, before it is phrased for output.
pub(crate) struct PairFinding<'r> {
    /// The generic in the rule's `a` role (the perpetrator for PK rules) and the other.
    pub(crate) a: GenericId,
    pub(crate) b: GenericId,
    pub(crate) source: FindingSource<'r>,
    pub(crate) others: Vec<&'r DdiRule>,
}

pub(crate) enum FindingSource<'r> {
    Curated(&'r CuratedInteraction),
    Rule(&'r DdiRule),
}

impl PairFinding<'_> {
    pub(crate) fn severity(&self) -> Severity {
        match self.source {
            FindingSource::Curated(c) => c.severity,
            FindingSource::Rule(r) => r.severity,
        }
    }

    fn into_interaction(
        self,
        reg: &Registry,
        x: &Drug,
        y: &Drug,
        y_active: bool,
        alternatives: Vec<String>,
    ) -> Interaction {
        let (a, b) = (reg.generic(self.a).inn.as_str(), reg.generic(self.b).inn.as_str());
        let input_of = |g: GenericId| if g == x.generic { x.input.clone() } else { y.input.clone() };
        let (kind, rule, text, sources, severity, interruptive): (_, String, &InteractionText, &[SourceId], _, _) =
            match self.source {
                FindingSource::Curated(c) => (
                    FindingKind::Curated,
                    c.id.clone().unwrap_or_else(|| format!("curated:{a}+{b}")),
                    &c.text,
                    &c.sources,
                    c.severity,
                    c.interruptive,
                ),
                FindingSource::Rule(r) => (FindingKind::Inferred, r.id.clone(), &r.text, &r.sources, r.severity, true),
            };
        let mut sources = crate::citations(reg, sources);
        for other in &self.others {
            for s in crate::citations(reg, &other.sources) {
                if !sources.contains(&s) {
                    sources.push(s);
                }
            }
        }
        Interaction {
            drugs: vec![a.to_string(), b.to_string()],
            inputs: vec![input_of(self.a), input_of(self.b)],
            severity,
            kind,
            rule,
            mechanism: fill(&text.mechanism, a, b),
            effect: fill(&text.effect, a, b),
            management: fill(&text.management, a, b),
            alternatives,
            sources,
            interruptive,
            involves_active_medication: y_active,
            other_mechanisms: self
                .others
                .iter()
                .map(|r| OtherMechanism {
                    rule: r.id.clone(),
                    severity: r.severity,
                    mechanism: fill(&r.text.mechanism, a, b),
                })
                .collect(),
        }
    }
}

fn fill(template: &str, a: &str, b: &str) -> String {
    template.replace("{a}", a).replace("{b}", b)
}

/// How specific a curated side is: naming the drug beats naming its class, and a
/// narrower class beats a wider one.
fn specificity(reg: &Registry, target: &Target) -> usize {
    match target {
        Target::Generic(_) => 1000,
        Target::Class(c) => reg.class_depth(*c),
    }
}

/// The most specific curated entry for the pair, oriented so that `a` matches `x`.
fn curated_for(reg: &Registry, x: GenericId, y: GenericId) -> Option<(&CuratedInteraction, GenericId, GenericId)> {
    let mut best: Option<(usize, Severity, &CuratedInteraction, GenericId, GenericId)> = None;
    for &i in reg.curated_touching(x) {
        let c = &reg.curated()[i];
        let oriented = if reg.matches_target(x, &c.a) && reg.matches_target(y, &c.b) {
            Some((x, y))
        } else if reg.matches_target(y, &c.a) && reg.matches_target(x, &c.b) {
            Some((y, x))
        } else {
            None
        };
        let Some((a, b)) = oriented else { continue };
        let score = specificity(reg, &c.a) + specificity(reg, &c.b);
        let better = match &best {
            None => true,
            Some((s, sev, ..)) => score > *s || (score == *s && c.severity > *sev),
        };
        if better {
            best = Some((score, c.severity, c, a, b));
        }
    }
    best.map(|(_, _, c, a, b)| (c, a, b))
}

/// Every inference rule that fires for the pair, oriented, in file order.
fn rules_for(reg: &Registry, x: GenericId, y: GenericId) -> Vec<(&DdiRule, GenericId, GenericId)> {
    let mut fired: Vec<(usize, GenericId, GenericId)> = Vec::new();
    for (a, b) in [(x, y), (y, x)] {
        let (ra, rb) = (reg.rules_as_a(a), reg.rules_as_b(b));
        // Both lists are sorted: a merge walk finds the rules where `a` meets side a and `b`
        // meets side b.
        let (mut i, mut j) = (0, 0);
        while i < ra.len() && j < rb.len() {
            match ra[i].cmp(&rb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    if !fired.iter().any(|(r, ..)| *r == ra[i]) {
                        fired.push((ra[i], a, b));
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
    }
    fired.sort_by_key(|(r, ..)| *r);
    fired.into_iter().map(|(r, a, b)| (&reg.ddi_rules()[r], a, b)).collect()
}

/// The interaction for a pair of different generics: the curated entry when there is one,
/// else the most severe inferred rule with the others kept as further mechanisms.
pub(crate) fn pair_finding(reg: &Registry, x: GenericId, y: GenericId) -> Option<PairFinding<'_>> {
    if let Some((c, a, b)) = curated_for(reg, x, y) {
        return Some(PairFinding { a, b, source: FindingSource::Curated(c), others: Vec::new() });
    }
    let mut fired = rules_for(reg, x, y);
    // Most severe first; among equals the rule written first in the file, for stable output.
    fired.sort_by_key(|p| std::cmp::Reverse(p.0.severity));
    let mut iter = fired.into_iter();
    let (rule, a, b) = iter.next()?;
    let others = iter.map(|(r, ..)| r).filter(|r| r.text.mechanism != rule.text.mechanism).collect();
    Some(PairFinding { a, b, source: FindingSource::Rule(rule), others })
}

/// Candidates that treat the same condition without the interaction: the curated list,
/// else the drug's ATC level-4 group; each candidate must have no moderate-or-worse
/// interaction with anything else the patient takes.
fn alternatives_for(
    reg: &Registry,
    found: &PairFinding<'_>,
    everyone: &[(&Drug, bool)],
    memo: &mut SeverityMemo,
) -> Vec<String> {
    let sides: Vec<GenericId> = match &found.source {
        FindingSource::Curated(c) if !c.alternatives.is_empty() => {
            let mut out: Vec<String> = Vec::new();
            for &alt in &c.alternatives {
                // The alternative replaces the side it is an alternative to: the one in its
                // ATC therapeutic subgroup (e.g. azithromycin replaces clarithromycin, J01F).
                let replaced = [found.a, found.b].into_iter().find(|&side| same_subgroup(reg, side, alt));
                if is_clean_alternative(reg, alt, replaced, everyone, memo) {
                    out.push(reg.generic(alt).inn.clone());
                }
            }
            return out;
        }
        FindingSource::Curated(_) => vec![found.a, found.b],
        FindingSource::Rule(r) => match r.replace {
            Replace::A => vec![found.a],
            Replace::B => vec![found.b],
            Replace::Both => vec![found.a, found.b],
        },
    };
    let mut out = Vec::new();
    for replaced in sides {
        let Some(group) = reg.generic(replaced).atc_group() else { continue };
        for &candidate in reg.generics_in_atc_group(group) {
            if candidate == replaced || out.contains(&reg.generic(candidate).inn) {
                continue;
            }
            if is_clean_alternative(reg, candidate, Some(replaced), everyone, memo) {
                out.push(reg.generic(candidate).inn.clone());
            }
            if out.len() >= 5 {
                return out;
            }
        }
    }
    out
}

/// Same ATC therapeutic subgroup (level 3, e.g. `J01F` macrolides and lincosamides).
fn same_subgroup(reg: &Registry, a: GenericId, b: GenericId) -> bool {
    let level3 = |g: GenericId| reg.generic(g).atc.first().and_then(|c| c.get(..4)).map(str::to_string);
    level3(a).is_some() && level3(a) == level3(b)
}

/// Pair severities already worked out during one check: the same candidate alternative
/// is tried against the same drugs for several findings.
#[derive(Default)]
struct SeverityMemo(std::collections::HashMap<(GenericId, GenericId), Option<Severity>>);

impl SeverityMemo {
    fn severity(&mut self, reg: &Registry, x: GenericId, y: GenericId) -> Option<Severity> {
        let key = if x <= y { (x, y) } else { (y, x) };
        *self.0.entry(key).or_insert_with(|| pair_finding(reg, x, y).map(|f| f.severity()))
    }
}

fn is_clean_alternative(
    reg: &Registry,
    candidate: GenericId,
    replaced: Option<GenericId>,
    everyone: &[(&Drug, bool)],
    memo: &mut SeverityMemo,
) -> bool {
    everyone.iter().all(|(d, _)| {
        if Some(d.generic) == replaced {
            return true;
        }
        if d.generic == candidate {
            return false;
        }
        memo.severity(reg, candidate, d.generic).is_none_or(|s| s < Severity::Moderate)
    })
}

/// The narrowest class flagged for duplication that both generics belong to.
fn shared_duplication_class(reg: &Registry, x: GenericId, y: GenericId) -> Option<ClassId> {
    let ys = reg.classes_of(y);
    reg.classes_of(x)
        .iter()
        .filter(|c| reg.class(**c).duplication && ys.binary_search(c).is_ok())
        .max_by_key(|c| specificity(reg, &Target::Class(**c)))
        .copied()
}

fn duplication(reg: &Registry, x: &Drug, y: &Drug, y_active: bool, class: ClassId) -> Interaction {
    let class = reg.class(class);
    let (a, b) = (reg.generic(x.generic).inn.clone(), reg.generic(y.generic).inn.clone());
    let mut pair = [(a, x.input.clone()), (b, y.input.clone())];
    pair.sort();
    Interaction {
        drugs: pair.iter().map(|p| p.0.clone()).collect(),
        inputs: pair.iter().map(|p| p.1.clone()).collect(),
        severity: Severity::Moderate,
        kind: FindingKind::Duplication,
        rule: format!("duplication:{}", class.id),
        mechanism: format!(
            "Therapeutic duplication: {} and {} are both {}.",
            pair[0].0,
            pair[1].0,
            class.name.to_lowercase()
        ),
        effect: "Additive effect and adverse effects of the same class, usually without added benefit.".to_string(),
        management: "Confirm that both are intended; otherwise stop one.".to_string(),
        alternatives: Vec::new(),
        sources: crate::citations(reg, &class.sources),
        interruptive: true,
        involves_active_medication: y_active,
        other_mechanisms: Vec::new(),
    }
}

fn same_drug_twice(reg: &Registry, x: &Drug, y: &Drug, y_active: bool) -> Interaction {
    let inn = reg.generic(x.generic).inn.clone();
    let (mechanism, management) = if y_active {
        (format!("The patient already takes {inn}."), "Check that this order replaces, not adds to, the current one.")
    } else {
        (format!("{inn} is ordered twice."), "Check for a duplicate order; keep one.")
    };
    Interaction {
        drugs: vec![inn.clone(), inn],
        inputs: vec![x.input.clone(), y.input.clone()],
        severity: Severity::Moderate,
        kind: FindingKind::Duplication,
        rule: "duplication:same-drug".to_string(),
        mechanism,
        effect: "Double dosing of the same medicine.".to_string(),
        management: management.to_string(),
        alternatives: Vec::new(),
        sources: crate::citations(reg, &reg.generic(x.generic).sources),
        interruptive: true,
        involves_active_medication: y_active,
        other_mechanisms: Vec::new(),
    }
}

/// Group rules need distinct drugs for every member, at least one of them newly ordered.
fn group_findings(reg: &Registry, new: &[Drug], active: &[Drug]) -> Vec<Interaction> {
    let all: Vec<&Drug> = new.iter().chain(active).collect();
    let mut out = Vec::new();
    for rule in reg.group_rules() {
        let mut chosen: Vec<usize> = Vec::new();
        if !assign(reg, &rule.members, &all, &mut chosen) {
            continue;
        }
        if !chosen.iter().any(|&i| i < new.len()) {
            continue;
        }
        // Report every drug that plays a part, not just the first assignment found, so the
        // finding does not depend on the order the drugs were written in.
        let mut involved: Vec<usize> =
            (0..all.len()).filter(|&i| rule.members.iter().any(|m| reg.all_hold(all[i].generic, m))).collect();
        involved.sort_by(|&i, &j| reg.generic(all[i].generic).inn.cmp(&reg.generic(all[j].generic).inn));
        involved.dedup_by(|i, j| all[*i].generic == all[*j].generic);
        let chosen = involved;
        let names: Vec<String> = chosen.iter().map(|&i| reg.generic(all[i].generic).inn.clone()).collect();
        let joined = names.join(" + ");
        out.push(Interaction {
            drugs: names,
            inputs: chosen.iter().map(|&i| all[i].input.clone()).collect(),
            severity: rule.severity,
            kind: FindingKind::Group,
            rule: rule.id.clone(),
            mechanism: rule.text.mechanism.replace("{drugs}", &joined),
            effect: rule.text.effect.replace("{drugs}", &joined),
            management: rule.text.management.replace("{drugs}", &joined),
            alternatives: Vec::new(),
            sources: crate::citations(reg, &rule.sources),
            interruptive: true,
            involves_active_medication: chosen.iter().any(|&i| i >= new.len()),
            other_mechanisms: Vec::new(),
        });
    }
    out
}

/// Backtracking assignment of distinct drugs to members (groups are tiny: 3 members).
fn assign(reg: &Registry, members: &[Vec<Condition>], all: &[&Drug], chosen: &mut Vec<usize>) -> bool {
    let Some(member) = members.get(chosen.len()) else { return true };
    for (i, d) in all.iter().enumerate() {
        let distinct = chosen.iter().all(|&c| all[c].generic != d.generic);
        if distinct && reg.all_hold(d.generic, member) {
            chosen.push(i);
            if assign(reg, members, all, chosen) {
                return true;
            }
            chosen.pop();
        }
    }
    false
}
