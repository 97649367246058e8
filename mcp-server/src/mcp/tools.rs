//! The tool table: name, description, schemas and the function that runs each tool.
//! Listing and calling both read this one table, so a tool cannot be listed without being
//! callable or the other way round.

use std::sync::Arc;

use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::model::JsonObject;
use rxgate_knowledge::Snapshot;
use serde_json::Value;

use crate::wire::{self, ToolOutput, parse_args};

/// What a tool call sees besides its arguments. Built per call, at the edge, so the
/// tools themselves stay free of clocks.
pub(crate) struct CallContext {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) today: chrono::NaiveDate,
    /// Who is calling: `agent` on stdio, the bearer token's principal over HTTP. The pure
    /// checks ignore it; it is here so a tool that needs it cannot be called without one.
    #[allow(dead_code)]
    pub(crate) principal: crate::auth::Principal,
}

pub(crate) struct ToolSpec {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) input_schema: fn() -> Arc<JsonObject>,
    pub(crate) output_schema: fn() -> Arc<JsonObject>,
    pub(crate) run: fn(&CallContext, Value) -> Result<ToolOutput, String>,
}

pub(super) fn input<T: schemars::JsonSchema + 'static>() -> Arc<JsonObject> {
    // Our input types are all structs, for which rmcp's schema generation cannot fail.
    schema_for_input::<T>().unwrap_or_else(|_| Arc::new(JsonObject::new()))
}

pub(super) fn output<T: schemars::JsonSchema + 'static>() -> Arc<JsonObject> {
    schema_for_output::<T>()
}

pub(crate) static TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "ddi_check",
        title: "Drug–drug interaction check",
        description: "Checks drugs against each other and against the patient's active medications: curated pairs \
            (ONC high-priority list and others), interactions inferred from drug properties (CYP450 roles per the FDA \
            table, QT risk, serotonergic, CNS depression, bleeding, potassium…), and therapeutic duplication. Each \
            finding has severity (minor < moderate < major < contraindicated), mechanism, effect, management, \
            alternatives without the interaction, and sources. Drugs the registry does not know are listed in \
            `unknown` and were NOT checked.",
        input_schema: input::<wire::ddi::DdiCheckInput>,
        output_schema: output::<wire::ddi::DdiCheckOutput>,
        run: |ctx, args| wire::ddi::run(&ctx.snapshot, parse_args(args)?),
    },
    ToolSpec {
        name: "allergy_check",
        title: "Allergy and cross-reactivity check",
        description: "Checks drugs against recorded allergies: the same drug, the same allergy class, published \
            cross-reactivity with rates (e.g. penicillin–cephalosporin by R1 side chain), and non-drug allergens \
            among product excipients (e.g. gelatin). Unknown drugs or allergies are listed in `unknown`.",
        input_schema: input::<wire::allergy::AllergyCheckInput>,
        output_schema: output::<wire::allergy::AllergyCheckOutput>,
        run: |ctx, args| wire::allergy::run(&ctx.snapshot, parse_args(args)?),
    },
    ToolSpec {
        name: "halal_filter",
        title: "Halal status of products or ingredients",
        description: "Judges products (by drug, brand or product code) or an explicit ingredient list as halal, \
            doubtful, non_halal or unknown, naming each excipient of concern, its source and the reason, with halal \
            alternatives of the same generic. Preference `halal_only` blocks (except out of necessity with no \
            alternative), `warn` (default) warns.",
        input_schema: input::<wire::halal::HalalFilterInput>,
        output_schema: output::<wire::halal::HalalFilterOutput>,
        run: |ctx, args| wire::halal::run(&ctx.snapshot, parse_args(args)?, ctx.today),
    },
    ToolSpec {
        name: "barcode_verify",
        title: "Verify a scanned GS1 barcode against the expected product",
        description: "Parses a GS1 element string (bracketed or raw with FNC1/GS separators; AIs 01, 17, 10, 21 and \
            others), checks the GTIN check digit, matches the product against the expected one, and checks expiry \
            against `today` and recalled lots. `match` is true only when nothing is wrong.",
        input_schema: input::<wire::barcode::BarcodeVerifyInput>,
        output_schema: output::<wire::barcode::BarcodeVerifyOutput>,
        run: |ctx, args| wire::barcode::run(&ctx.snapshot, parse_args(args)?, ctx.today),
    },
    ToolSpec {
        name: "generic_suggest",
        title: "Cheaper bioequivalent generics",
        description: "Suggests bioequivalent products of the same generic, strength and form that cost less, with \
            the saving in percent. Narrow-therapeutic-index drugs are flagged and need a pharmacist's review.",
        input_schema: input::<wire::generics::GenericSuggestInput>,
        output_schema: output::<wire::generics::GenericSuggestOutput>,
        run: |ctx, args| wire::generics::run_suggest(&ctx.snapshot, parse_args(args)?),
    },
    ToolSpec {
        name: "stock_check",
        title: "Stock on hand",
        description: "Usable stock per product of a drug (expired and recalled lots excluded), earliest expiry, and \
            whether to reorder.",
        input_schema: input::<wire::generics::StockCheckInput>,
        output_schema: output::<wire::generics::StockCheckOutput>,
        run: |ctx, args| wire::generics::run_stock(&ctx.snapshot, parse_args(args)?, ctx.today),
    },
    ToolSpec {
        name: "dose_calc",
        title: "Dose check (paediatric, adult, renal, hepatic, BSA)",
        description: "Checks a prescribed dose against the registry's dose rules for this patient: mg/kg per dose and \
            per day with absolute maxima and age bands, adult doses, renal adjustment (Cockcroft–Gault CrCl, bedside \
            Schwartz for children, CKD-EPI 2021 eGFR), hepatic adjustment by Child–Pugh class, and mg/m² by Mosteller \
            BSA. Returns the verdict (ok, underdose, overdose, adjust, contraindicated, no_rule), the per-dose and \
            per-day ranges computed for this patient, the basis (rule and numbers) and flags.",
        input_schema: input::<wire::dose::DoseCalcInput>,
        output_schema: output::<wire::dose::DoseCalcOutput>,
        run: |ctx, args| wire::dose::run(&ctx.snapshot, parse_args(args)?),
    },
    ToolSpec {
        name: "verify_prescription",
        title: "Verify a whole prescription",
        description: "Runs every check on a prescription at once (in parallel): interactions between the lines and \
            with the patient's active medications, allergies, doses for this patient, halal status under the \
            patient's preference, and cheaper generics. `blocking` is true when any finding forbids dispensing \
            without a pharmacist's decision; `lines` gives each line's highest severity and reasons.",
        input_schema: input::<wire::verify::VerifyInput>,
        output_schema: output::<wire::verify::VerifyOutput>,
        run: |ctx, args| wire::verify::run(&ctx.snapshot, parse_args(args)?, ctx.today),
    },
    ToolSpec {
        name: "solver",
        title: "Medication order solver (GenPRES-style, exact)",
        description: "Solves a medication order written as equations over variables with units (`dose = per_kg * \
            weight`, `dose = conc * volume`, `per_day = dose * freq`): fill in any subset and get the rest, with exact \
            fractions, UCUM units, min/max (inclusive or exclusive), increments and value sets. Returns `solved` (every \
            variable one value), `partial` (with the reason; always terminates) or `infeasible` (naming the variable \
            that emptied).",
        input_schema: input::<wire::solver::SolverInput>,
        output_schema: output::<wire::solver::SolverOutput>,
        run: |ctx, args| wire::solver::run(&ctx.snapshot, parse_args(args)?),
    },
    ToolSpec {
        name: "regimen_eval",
        title: "Chemotherapy regimen check (doses, hard stops, holds)",
        description: "Evaluates one day of one cycle of a chemotherapy regimen for a patient: a bundled regimen by id \
            (CHOP-21, R-CHOP-21, carboplatin-auc5, carboplatin-paclitaxel, paed-all-consolidation) or an inline \
            `definition`; an unknown id still gets the never-event checks of its orders plus a blocking hold. \
            Doses by BSA (Mosteller, DuBois on request), Calvert carboplatin (AUC x (GFR + 25), GFR capped at 125 \
            mL/min), mg/kg and age bands for children, with caps (vincristine 2 mg). `hard_stops` can never be \
            overridden (vinca alkaloid in a syringe or by any route but IV, vinca co-signed with intrathecal \
            methotrexate/cytarabine, dose above cap); `holds` need a documented override by the named role (ANC, \
            platelets, bilirubin, GFR < 30, cumulative anthracycline, missing data); `requires` lists what the order \
            still needs (two_person_verify, re_approval, confirm_regimen_version, central_line). Neonatal PN: \
            osmolarity and glucose infusion rate.",
        input_schema: input::<wire::regimen::RegimenEvalInput>,
        output_schema: output::<wire::regimen::RegimenEvalOutput>,
        run: |ctx, args| wire::regimen::run(&ctx.snapshot, parse_args(args)?, ctx.today),
    },
];

pub(crate) fn find(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}
