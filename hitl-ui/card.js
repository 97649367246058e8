// The verification card of one prescription: the patient, then one section per line with
// its findings and the pharmacist's actions. Built with DOM calls only (no innerHTML), so
// text from the server is always text.

import { getLang, t } from "./i18n.js";
import { attachScanner } from "./scanner.js";

const SEVERITY_RANK = { minor: 1, moderate: 2, major: 3, contraindicated: 4 };
const DECIDABLE_RX = ["ALERTS_RAISED", "READY_TO_DISPENSE", "HITL_REVIEW"];
const DECIDABLE_LINE = ["HITL_REVIEW", "HOLD"];
const TO_SCAN = ["APPROVED", "SUBSTITUTED", "BARCODE_SCAN"];

/** `h("p", {class: "x"}, "text", child)`: an element with attributes and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const same = (a, b) => (a || "").toLowerCase() === (b || "").toLowerCase();

/** The findings of the stored verification that concern one line. */
export function findingsFor(verification, line, item) {
  if (!verification) return { ddi: [], allergy: [], dose: [], halal: [], generics: [], summary: null };
  const generic = line.generic;
  return {
    ddi: (verification.ddi_alerts || []).filter((a) => (a.drugs || []).some((d) => same(d, generic))),
    allergy: (verification.allergy_alerts || []).filter((a) => same(a.generic, generic) || same(a.drug, item.drug)),
    dose: (verification.dose_warnings || []).filter((w) => w.line_no === line.line_no),
    halal: (verification.halal_flags || []).filter((f) => same(f.generic, generic) || same(f.drug, item.drug)),
    generics: (verification.generic_suggestions || [])
      .filter((g) => g.line_no === line.line_no)
      .flatMap((g) => g.suggestions || []),
    summary: (verification.lines || []).find((l) => l.line_no === line.line_no) || null,
  };
}

function severityChip(severity) {
  const key = severity || "none";
  return h("span", { class: `chip sev-${key}` }, t(`severity_${key}`));
}

function amount(a) {
  if (!a) return "?";
  return a.exact || String(a.value);
}

function interactionBanner(alert, line) {
  const rank = SEVERITY_RANK[alert.severity] || 0;
  const red = rank >= SEVERITY_RANK.major;
  return h(
    "div",
    { class: red ? "banner banner-red" : "banner banner-amber", role: red ? "alert" : "note", "data-testid": "ddi-banner" },
    h("p", { class: "banner-title" }, t("interaction_banner", { severity: t(`severity_${alert.severity}`).toUpperCase(), drugs: (alert.drugs || []).join(" + ") })),
    h("dl", {},
      h("dt", {}, t("interaction_effect")), h("dd", {}, alert.effect),
      h("dt", {}, t("interaction_mechanism")), h("dd", {}, alert.mechanism),
      h("dt", {}, t("interaction_management")), h("dd", {}, alert.management),
    ),
    alert.sources?.length ? h("p", { class: "sources" }, t("sources", { list: alert.sources.join(", ") })) : null,
  );
}

function halalSection(flags) {
  return flags.map((flag) => {
    const status = flag.status || "unknown";
    const concerns = [...(flag.concerns || []), ...(flag.products || []).flatMap((p) => (p.concerns || []).map((c) => ({ ...c, product: p.product })))];
    const icon = { halal: "✓", doubtful: "?", non_halal: "✕", unknown: "?" }[status] || "?";
    return h(
      "div",
      { class: `halal halal-${status}`, "data-testid": "halal" },
      h("p", {},
        h("span", { class: "halal-icon", "aria-hidden": "true" }, icon),
        " ",
        h("strong", {}, t(`halal_status_${status}`)),
        flag.certificate ? " · " + t("halal_certificate", { number: flag.certificate }) : "",
      ),
      concerns.length
        ? h("details", {},
            h("summary", {}, t("halal_sources")),
            h("ul", {}, concerns.map((c) => h("li", {}, `${c.product ? c.product + ": " : ""}${c.ingredient} — ${c.source} (${c.reason})`))),
          )
        : null,
      flag.alternatives?.length ? h("p", {}, t("halal_alternatives", { list: flag.alternatives.join(", ") })) : null,
      flag.necessity_applies ? h("p", {}, t("halal_necessity")) : null,
    );
  });
}

function doseSection(warnings) {
  return warnings
    .filter((w) => w.result && w.result.verdict !== "ok")
    .map((w) => {
      const r = w.result;
      const bad = ["overdose", "contraindicated", "adjust"].includes(r.verdict);
      return h(
        "div",
        { class: bad ? "banner banner-red" : "banner banner-amber", role: bad ? "alert" : "note", "data-testid": "dose-warning" },
        h("p", { class: "banner-title" }, t("dose_warning", { verdict: t(`dose_verdict_${r.verdict}`) })),
        r.per_dose ? h("p", {}, t("dose_range_per_dose", { min: amount(r.per_dose.min), max: amount(r.per_dose.max), unit: r.per_dose.unit })) : null,
        r.per_day ? h("p", {}, t("dose_range_per_day", { min: amount(r.per_day.min), max: amount(r.per_day.max), unit: r.per_day.unit })) : null,
        (r.flags || []).map((f) => h("p", {}, f.message)),
        r.basis ? h("p", { class: "muted" }, t("dose_basis", { basis: r.basis })) : null,
      );
    });
}

function genericSection(suggestions) {
  return suggestions.slice(0, 2).map((s) =>
    h(
      "div",
      { class: "note-box", "data-testid": "generic-suggestion" },
      h("p", {}, t("generic_suggestion", { brand: s.brand, product: s.product, cost: "RM " + Number(s.unit_cost).toFixed(2), saving: Math.round(s.saving_pct) })),
      !s.bioequivalent ? h("p", { class: "muted" }, t("generic_not_bioequivalent")) : null,
      s.narrow_therapeutic_index ? h("p", { class: "muted" }, t("generic_nti")) : null,
    ),
  );
}

function aiBlock(title, text, facts, byModel = true) {
  return h(
    "div",
    { class: "ai-box", "data-testid": "ai-written" },
    h("p", {}, h("span", { class: "chip chip-ai" }, byModel ? t("ai_written") : t("template_written")), " ", h("strong", {}, title)),
    h("p", {}, text),
    facts ? h("details", {}, h("summary", {}, t("ai_facts")), h("pre", {}, typeof facts === "string" ? facts : JSON.stringify(facts, null, 2))) : null,
  );
}

// The reason forms open on the card, by line: a re-render (the live feed, the language
// toggle) opens them again, so a pharmacist half-way through a reason does not lose it.
const openForms = { rx: null, byLine: new Map() };

/** Forgets the open form of a line (its action went through). */
export function forgetForm(lineNo) {
  openForms.byLine.delete(lineNo);
}

/** The decision controls of a line still awaiting a pharmacist. */
function actions(line, item, severity, alternatives, on) {
  const wrap = h("div", { class: "actions" });
  const form = h("div", { class: "action-form" });
  const contraindicated = severity === "contraindicated";
  const major = severity === "major";
  const label = `${t("line", { n: line.line_no })} ${line.generic}`;

  const buttons = h("div", { class: "button-row" });
  if (contraindicated) {
    buttons.append(h("p", { class: "refusal", role: "note" }, t("no_approve_contraindicated")));
  } else if (major) {
    const id = `just-${line.line_no}`;
    const text = h("textarea", { id, rows: 2, required: true, "aria-required": "true" });
    const button = h("button", { class: "primary", type: "button", disabled: true, "aria-label": `${t("approve_with_justification")}: ${label}` }, t("approve_with_justification"));
    text.addEventListener("input", () => (button.disabled = !text.value.trim()));
    button.addEventListener("click", () => on.decide(line, { action: "dispense", reason: "", justification: text.value.trim() }));
    wrap.append(h("label", { for: id }, t("justification_label")), text);
    buttons.append(button);
  } else {
    buttons.append(
      h("button", { class: "primary", type: "button", "aria-label": `${t("approve")}: ${label}`, "data-testid": "approve", onclick: () => on.decide(line, { action: "dispense", reason: "" }) }, t("approve")),
    );
  }

  const close = () => {
    forgetForm(line.line_no);
    form.replaceChildren();
  };
  const open = (kind) => {
    openForms.byLine.set(line.line_no, kind);
    form.replaceChildren(reasonForm(kind, line, alternatives, on, close));
    form.querySelector("input, select, textarea")?.focus();
  };
  const reopen = openForms.byLine.get(line.line_no);
  if (["substitute", "hold", "cancel"].includes(reopen)) form.replaceChildren(reasonForm(reopen, line, alternatives, on, close));
  buttons.append(
    h("button", { type: "button", "aria-label": `${t("substitute")}: ${label}`, onclick: () => open("substitute") }, t("substitute")),
    h("button", { type: "button", "aria-label": `${t("hold")}: ${label}`, onclick: () => open("hold") }, t("hold")),
    h("button", { type: "button", class: "danger", "aria-label": `${t("cancel_line")}: ${label}`, onclick: () => open("cancel") }, t("cancel_line")),
  );
  wrap.append(buttons, form);
  return wrap;
}

function reasonForm(kind, line, alternatives, on, close) {
  const n = line.line_no;
  const reasonId = `reason-${kind}-${n}`;
  const reason = h("input", { id: reasonId, type: "text", required: true, "aria-required": "true", autocomplete: "off" });
  const error = h("p", { class: "field-error", role: "alert" });
  const fields = [];
  let drug = null;
  if (kind === "substitute") {
    const drugId = `subst-${n}`;
    drug = h("input", { id: drugId, type: "text", list: `alts-${n}`, required: true, "aria-required": "true", autocomplete: "off", value: alternatives[0] || "" });
    fields.push(h("label", { for: drugId }, t("substitute_drug")), drug, h("datalist", { id: `alts-${n}` }, alternatives.map((a) => h("option", { value: a }))));
  }
  const reasonLabel = { substitute: "substitute_reason", hold: "hold_reason", cancel: "cancel_reason" }[kind];
  const confirm = { substitute: "substitute_confirm", hold: "hold_confirm", cancel: "cancel_confirm" }[kind];
  const action = kind === "cancel" ? "cancel" : kind;
  const submit = (event) => {
    event.preventDefault();
    if (!reason.value.trim() || (drug && !drug.value.trim())) {
      error.textContent = t("reason_required");
      return;
    }
    const decision = { action, reason: reason.value.trim() };
    if (drug) decision.replacement = drug.value.trim();
    on.decide(line, decision);
  };
  return h(
    "form",
    { class: "reason-form", onsubmit: submit, "aria-label": t(confirm) },
    fields,
    h("label", { for: reasonId }, t(reasonLabel)),
    reason,
    error,
    h("div", { class: "button-row" },
      h("button", { type: "submit", class: kind === "cancel" ? "danger" : "primary" }, t(confirm)),
      h("button", { type: "button", onclick: close }, t("close_form")),
    ),
  );
}

function scanSection(line, on) {
  const n = line.line_no;
  const scanId = `scan-${n}`;
  const qtyId = `qty-${n}`;
  const qty = h("input", { id: qtyId, type: "number", min: 1, step: 1, inputmode: "numeric", class: "qty", required: true, "aria-required": "true" });
  const scan = h("input", { id: scanId, type: "text", class: "scan", autocomplete: "off", spellcheck: "false", "aria-describedby": `scan-hint-${n}`, "data-testid": "scan" });
  const result = h("p", { class: "scan-result", role: "status", "aria-live": "assertive", id: `scan-result-${n}` });
  attachScanner(scan, (code) => {
    if (!(Number(qty.value) > 0)) {
      result.textContent = t("quantity_required");
      qty.focus();
      return;
    }
    scan.value = "";
    on.dispense(line, code, Number(qty.value), result);
  });
  return h(
    "div",
    { class: "scan-box" },
    h("div", { class: "field" }, h("label", { for: qtyId }, t("quantity")), qty),
    h("div", { class: "field grow" }, h("label", { for: scanId }, t("scan_label", { n })), scan, h("p", { class: "muted", id: `scan-hint-${n}` }, t("scan_hint"))),
    result,
  );
}

function lineSection(detail, line, on) {
  const item = detail.prescription.items.find((i) => i.line_no === line.line_no) || {};
  const f = findingsFor(detail.verification, line, item);
  const severity = line.severity || f.summary?.highest_severity || null;
  const alternatives = (detail.substitutes || {})[String(line.line_no)] || [];
  // The hand-over that stands: a reversed one is history, not what the patient holds.
  const dispense = (detail.dispenses || []).find((d) => d.line_no === line.line_no && !d.reversed);
  const canDecide = DECIDABLE_RX.includes(detail.status) && DECIDABLE_LINE.includes(line.status) && detail.verification;

  const dose = item.dose ? `${item.dose.value} ${item.dose.unit} ${item.frequency} ${item.route}${item.duration_days ? " × " + item.duration_days + " d" : ""}` : "";
  // The pharmacist's explanations of this line's findings, in the language on screen when
  // there is one, else in the other.
  const lineExplanations = (detail.explanations || []).filter((e) => e.line_no === line.line_no && e.audience === "pharmacist");
  const inLang = lineExplanations.filter((e) => e.language === getLang());
  const explanations = inLang.length ? inLang : lineExplanations;

  return h(
    "section",
    { class: `line sev-border-${severity || "none"}`, "aria-labelledby": `line-title-${line.line_no}`, "data-line": line.line_no },
    h("header", { class: "line-head" },
      h("h3", { id: `line-title-${line.line_no}` }, `${t("line", { n: line.line_no })}: ${item.drug || line.generic}`, item.drug && !same(item.drug, line.generic) ? ` (${line.generic})` : "", line.replacement ? ` → ${line.replacement}` : ""),
      h("p", { class: "muted" }, dose),
      h("p", {}, h("span", { class: "chip" }, t(`line_status_${line.status}`)), " ", severityChip(severity)),
    ),
    f.ddi.map((a) => interactionBanner(a, line)),
    alternatives.length && canDecide
      ? h("div", { class: "alt-card", "data-testid": "alternatives" },
          h("p", { class: "banner-title" }, t("alternatives")),
          h("div", { class: "button-row" }, alternatives.map((alt) =>
            h("button", { type: "button", "data-testid": "substitute-with", onclick: () => on.decide(line, { action: "substitute", replacement: alt, reason: `${t("substitute_with", { drug: alt })}: ${f.ddi.map((a) => a.drugs.join(" + ")).join("; ")}` }) }, t("substitute_with", { drug: alt })),
          )),
        )
      : null,
    f.allergy.map((a) =>
      h("div", { class: (SEVERITY_RANK[a.severity] || 0) >= 3 ? "banner banner-red" : "banner banner-amber", role: "alert", "data-testid": "allergy-banner" },
        h("p", { class: "banner-title" }, t("allergy_banner", { severity: t(`severity_${a.severity}`), drug: a.generic || a.drug, allergy: a.allergy })),
        a.note ? h("p", {}, a.note) : null,
      ),
    ),
    doseSection(f.dose),
    halalSection(f.halal),
    genericSection(f.generics),
    line.proposal ? aiBlock(t("proposal", { action: t(`action_${line.proposal.action}`) }), line.proposal.rationale, null) : null,
    explanations.map((e) => aiBlock(t("explanations"), e.text, { finding: e.finding_key, source: e.source, model: e.model, prompt_version: e.prompt_version, facts_sha256: e.facts_hash }, e.source === "llm")),
    line.decision
      ? h("p", { class: "decision" }, t("decision", { action: t(`action_${line.decision.action}`), by: line.decision.by }),
          line.replacement ? " · " + t("decision_replacement", { drug: line.replacement }) : "",
          line.decision.justification ? ` · “${line.decision.justification}”` : "",
        )
      : null,
    canDecide ? actions(line, item, severity, alternatives, on) : null,
    TO_SCAN.includes(line.status) ? scanSection(line, on) : null,
    dispense ? dispensedSection(detail, line, dispense, on) : null,
    reversedSection(detail, line),
  );
}

function dispensedSection(detail, line, dispense, on) {
  const n = line.line_no;
  const form = h("div", { class: "reverse-slot" });
  // A hand-over can be undone until the prescription is closed (the server refuses after).
  const reversible = line.status === "DISPENSED" && detail.status !== "CLOSED";
  const close = () => {
    forgetForm(n);
    form.replaceChildren();
  };
  if (reversible && openForms.byLine.get(n) === "reverse") form.replaceChildren(reverseForm(line, on, close));
  return h("div", { class: "dispensed" },
    h("p", {}, "✓ ", t("dispensed_line", { quantity: dispense.quantity, by: dispense.by }), ` · ${dispense.product} · ${dispense.dispense_id}`),
    h("div", { class: "button-row" },
      h("button", { type: "button", "data-testid": "label-pdf", "aria-label": `${t("print_label_pdf")}: ${t("line", { n })}`, onclick: () => on.label(n, "pdf") }, t("print_label_pdf")),
      h("button", { type: "button", "data-testid": "label-zpl", "aria-label": `${t("print_label_zpl")}: ${t("line", { n })}`, onclick: () => on.label(n, "zpl") }, t("print_label_zpl")),
      reversible
        ? h("button", { type: "button", class: "danger", "data-testid": "reverse-open", "aria-label": `${t("reverse")}: ${t("line", { n })}`, onclick: () => {
            openForms.byLine.set(n, "reverse");
            form.replaceChildren(reverseForm(line, on, close));
            form.querySelector("select")?.focus();
          } }, t("reverse"))
        : null,
    ),
    form,
  );
}

function reverseForm(line, on, close) {
  const n = line.line_no;
  const code = h("select", { id: `reverse-code-${n}`, required: true },
    ["declined", "entered_in_error"].map((c) => h("option", { value: c }, t(`reverse_${c}`))));
  const reason = h("input", { id: `reverse-reason-${n}`, type: "text", required: true, "aria-required": "true", autocomplete: "off" });
  const restock = h("input", { id: `reverse-restock-${n}`, type: "checkbox" });
  const error = h("p", { class: "field-error", role: "alert" });
  const submit = (event) => {
    event.preventDefault();
    if (!reason.value.trim()) {
      error.textContent = t("reason_required");
      return;
    }
    on.reverse(line, { line_no: n, reason_code: code.value, reason: reason.value.trim(), restock: restock.checked });
  };
  return h("form", { class: "reason-form", onsubmit: submit, "aria-label": t("reverse_confirm"), "data-testid": "reverse-form" },
    h("label", { for: code.id }, t("reverse_code")), code,
    h("label", { for: reason.id }, t("reverse_reason")), reason,
    h("p", {}, restock, " ", h("label", { for: restock.id }, t("reverse_restock"))),
    error,
    h("div", { class: "button-row" },
      h("button", { type: "submit", class: "danger" }, t("reverse_confirm")),
      h("button", { type: "button", onclick: close }, t("close_form")),
    ),
  );
}

/** The hand-overs of this line that were undone: history the pharmacist must still see. */
function reversedSection(detail, line) {
  const reversed = (detail.dispenses || []).filter((d) => d.line_no === line.line_no && d.reversed);
  if (!reversed.length) return null;
  return h("ul", { class: "reversals", "data-testid": "reversals" }, reversed.map((d) =>
    h("li", {}, "↺ ", t("reversed_line", {
      quantity: d.quantity, product: d.product, dispense_id: d.dispense_id,
      why: t(`reverse_${d.reversed.reason_code}`), by: d.reversed.by, reason: d.reversed.reason,
    }), " · ", t(d.reversed.restocked ? "reversed_restocked" : "reversed_not_restocked")),
  ));
}

/** Renders the whole card for `detail` into `root`. */
export function renderCard(root, detail, on) {
  if (openForms.rx !== detail.prescription.rx_id) {
    openForms.rx = detail.prescription.rx_id;
    openForms.byLine.clear();
  }
  const p = detail.patient_card || {};
  const v = detail.verification;
  const rx = detail.prescription;
  const allergies = (p.allergies || []).join(", ") || t("none_recorded");
  const meds = (p.active_medications || []).join(", ") || t("none_recorded");
  const renal = [p.egfr_ml_min_1_73m2 != null ? `eGFR ${p.egfr_ml_min_1_73m2}` : null, p.crcl_ml_min != null ? `CrCl ${p.crcl_ml_min} mL/min` : null].filter(Boolean).join(" · ");
  const dispensedAny = (detail.lines || []).some((l) => l.status === "DISPENSED");
  const allStopped = (detail.lines || []).every((l) => ["CANCELLED", "HOLD"].includes(l.status));

  const parts = [
    h("header", { class: "card-head" },
      h("h2", { id: "card-title", tabindex: "-1" }, t("rx_title", { rx_id: rx.rx_id })),
      h("p", {}, h("span", { class: `chip rx-${detail.status}` }, t(`rx_status_${detail.status}`)), " ", v ? severityChip(v.highest_severity) : null),
    ),
    h("section", { class: "patient", "aria-label": t("patient") },
      h("p", {}, h("strong", {}, t("patient") + ": "), t("patient_summary", { name: p.name, initials: p.initials, age: p.age_years ?? "?", sex: p.sex ? t(`sex_${p.sex}`) : "?", weight: p.weight_kg ?? "?" })),
      h("p", {}, h("strong", {}, t("allergies") + ": "), allergies),
      h("p", {}, h("strong", {}, t("active_meds") + ": "), meds),
      h("p", {}, h("strong", {}, t("halal_preference") + ": "), t(`halal_pref_${p.halal_preference || "none"}`)),
      renal ? h("p", {}, h("strong", {}, t("renal") + ": "), renal) : null,
    ),
    v
      ? h("p", { class: "muted" }, t("verified_at", { at: new Date(v.verified_at).toLocaleString(), version: v.knowledge_version || v.knowledge?.version || "" }))
      : h("div", { class: "button-row" }, h("button", { type: "button", class: "primary", onclick: on.verify }, t("verify_now"))),
    v?.unknown?.length ? h("div", { class: "banner banner-red", role: "alert" }, t("unknown_inputs", { list: v.unknown.join(", ") })) : null,
    (detail.lines || []).map((line) => lineSection(detail, line, on)),
    h("footer", { class: "card-foot button-row" },
      dispensedAny ? h("button", { type: "button", onclick: () => on.label(null, "pdf") }, t("print_all_pdf")) : null,
      detail.status === "DISPENSED" ? h("button", { type: "button", class: "primary", "data-testid": "counsel-open", onclick: on.counsel }, t("counsel_open")) : null,
      DECIDABLE_RX.includes(detail.status) && allStopped ? h("button", { type: "button", onclick: on.close }, t("close_rx")) : null,
    ),
  ];
  root.replaceChildren(...parts.flat().filter(Boolean));
}
