// The chemotherapy page: orders from `/api/v1/chemo/orders` with their hard stops, holds,
// doses as computed when ordered, two-person checks and what still blocks the label and the
// administration; the signed-in pharmacist or physician signs a check here. The rules are the
// server's (`rxgate-regimen`): this page only shows them and passes the signature on.

import { callJson, session } from "/console/api.js";
import { h as el } from "/console/card.js";

const $ = (id) => document.getElementById(id);

const call = (method, path, body) => callJson(method, "/chemo" + path, body);

/** One word for where an order stands, from the server's own blockers. */
function stateOf(o) {
  if (o.hard_stops.length) return ["Blocked", "banner-red"];
  if (o.administered) return ["Administered", "ok"];
  if (o.holds.some((h) => !h.overridden_by)) return ["On hold", "banner-amber"];
  if (o.label_blocked_because) return ["Checks needed", "muted"];
  return ["Ready to label", "ok"];
}

let orders = [];
let current = null;

function renderList() {
  $("orders").replaceChildren(...orders.map((o) => {
    const [state] = stateOf(o);
    return el("tr", { "data-order": o.order_id },
      el("td", {}, `#${o.order_id}`),
      el("td", {}, o.patient_id),
      el("td", {}, `${o.regimen.id} v${o.regimen.version}`),
      el("td", {}, `${o.cycle} / ${o.day}`),
      el("td", {}, state),
      el("td", {}, el("button", { type: "button", "aria-label": `Open order ${o.order_id}`, onclick: () => open(o.order_id) }, "Open")),
    );
  }));
}

function dose(d) {
  const amount = d.dose ? `${d.dose.exact ?? d.dose.value} ${d.dose.unit}` : "—";
  return el("tr", {},
    el("td", {}, d.drug),
    el("td", {}, amount, d.capped ? " (capped)" : ""),
    el("td", {}, d.route),
    el("td", {}, d.basis),
  );
}

function renderOrder() {
  const o = orders.find((x) => x.order_id === current);
  if (!o) return;
  const [state, kind] = stateOf(o);
  $("order").hidden = false;
  $("order-title").textContent = `Order #${o.order_id}: ${o.regimen.id} v${o.regimen.version}, cycle ${o.cycle} day ${o.day}, patient ${o.patient_id}`;
  const sign = (check) => el("button", { type: "button", class: "primary", "data-testid": `sign-${check}`, onclick: () => act(o, { action: "sign", check }) },
    check === "prescribing" ? "Sign the prescribing check" : "Sign the compounding check");
  const parts = [
    el("p", {}, el("span", { class: `chip ${kind}`, "data-testid": "chemo-state" }, state), o.bsa_m2 ? ` · BSA ${o.bsa_m2.value} m²` : ""),
    ...o.hard_stops.map((h) => el("div", { class: "banner banner-red", role: "alert", "data-testid": "hard-stop" },
      el("p", { class: "banner-title" }, `Hard stop: ${h.code}`), el("p", {}, h.message), el("p", {}, "No one can override a hard stop: the order must be rewritten."))),
    ...o.holds.map((h) => el("div", { class: "banner banner-amber", "data-testid": "hold" },
      el("p", { class: "banner-title" }, `Hold: ${h.code}`), el("p", {}, h.message),
      el("p", {}, h.overridden_by ? `Overridden by ${h.overridden_by}.` : `Needs the override of a ${h.override_by || "physician"}.`),
      h.overridden_by || o.hard_stops.length ? null : overrideForm(o, h))),
    o.doses
      ? el("table", { "data-testid": "doses" },
          el("caption", {}, "Doses as computed when ordered"),
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Drug"), el("th", { scope: "col" }, "Dose"), el("th", { scope: "col" }, "Route"), el("th", { scope: "col" }, "Basis"))),
          el("tbody", {}, o.doses.map(dose)))
      : el("p", { class: "muted" }, "This order was stored before doses were kept with it."),
    el("dl", { class: "kpis" },
      el("div", {}, el("dt", {}, "Prescribing check"), el("dd", { "data-testid": "prescribing-check" }, o.prescribing_check.join(", ") || "not signed")),
      el("div", {}, el("dt", {}, "Compounding check"), el("dd", { "data-testid": "compounding-check" }, o.compounding_check.join(", ") || "not signed")),
      el("div", {}, el("dt", {}, "Label"), el("dd", {}, o.label_printed ? "printed" : o.label_blocked_because ? `blocked: ${o.label_blocked_because}` : "may be printed")),
      el("div", {}, el("dt", {}, "Administration"), el("dd", {}, o.administered ? "done" : o.administration_blocked_because ? `blocked: ${o.administration_blocked_because}` : "may go ahead")),
    ),
    o.hard_stops.length || o.administered ? null : el("div", { class: "button-row" }, sign("prescribing"), sign("compounding")),
    o.gravimetric
      ? el("p", { "data-testid": "gravimetric" }, `Gravimetric check: deviation ${o.gravimetric.deviation_pct} %, `,
          o.gravimetric.within_tolerance ? "within tolerance" : o.gravimetric.overridden_by ? `outside tolerance, overridden by ${o.gravimetric.overridden_by}` : "outside tolerance: a supervisor must override before the label")
      : null,
    o.hard_stops.length || o.administered ? null : steps(o),
  ];
  $("order-body").replaceChildren(...parts.filter((p) => p !== null));
}

/** A small form: labelled text fields, one submit button; `send(values)` on submit. */
function stepForm(testid, legend, fields, button, send) {
  const inputs = fields.map(([name, label]) => [name, label, el("input", { id: `${testid}-${name}`, type: "text", required: true, "aria-required": "true", autocomplete: "off" })]);
  const submit = (event) => {
    event.preventDefault();
    send(Object.fromEntries(inputs.map(([name, , input]) => [name, input.value.trim()])));
  };
  return el("form", { class: "reason-form", onsubmit: submit, "data-testid": testid, "aria-label": legend },
    el("p", { class: "banner-title" }, legend),
    inputs.flatMap(([, label, input]) => [el("label", { for: input.id }, label), input]),
    el("div", { class: "button-row" }, el("button", { type: "submit" }, button)));
}

/** The steps after the checks, in order; the server refuses a step out of turn and says why. */
function steps(o) {
  const id = o.order_id;
  const deviation = o.gravimetric && !o.gravimetric.within_tolerance && !o.gravimetric.overridden_by;
  return el("div", { class: "chemo-steps" },
    stepForm("gravimetric-form", "Gravimetric check (pharmacist or technician)", [["expected_g", "Expected weight (g)"], ["measured_g", "Measured weight (g)"]],
      "Record the weights", (v) => act(o, { action: "gravimetric", ...v }, `Recorded the gravimetric check of order #${id}.`)),
    deviation
      ? stepForm("gravimetric-override", "Gravimetric deviation (supervisor)", [["reason", "Reason for accepting the deviation"]],
          "Override as supervisor", (v) => act(o, { action: "override_gravimetric", acting_as: "supervisor", ...v }, `Overrode the gravimetric deviation of order #${id}.`))
      : null,
    el("div", { class: "button-row" },
      el("button", { type: "button", "data-testid": "print-label", onclick: () => act(o, { action: "print_label" }, `Label of order #${id} printed.`) }, "Record the label printed")),
    stepForm("bcma-form", "Bedside scan (BCMA)", [["wristband", "Wristband"], ["product_scan", "Product barcode"], ["drug", "Drug"]],
      "Check the scans", (v) => act(o, { action: "bcma", ...v }, `Bedside scan of order #${id} checked.`)),
    el("p", { "data-testid": "bcma" }, o.bcma_matched ? "Bedside scan: wristband and product match the order." : "Bedside scan: no match recorded."),
    el("div", { class: "button-row" },
      el("button", { type: "button", class: "primary", "data-testid": "administer", onclick: () => act(o, { action: "administer" }, `Order #${id} administered.`) }, "Record administration")),
  );
}

/** A documented override of one hold, by the person the hold names (the server checks who). */
function overrideForm(o, hold) {
  const id = `override-${o.order_id}-${hold.code}`;
  const who = hold.override_by || "physician";
  const reason = el("input", { id, type: "text", required: true, "aria-required": "true", autocomplete: "off" });
  const submit = (event) => {
    event.preventDefault();
    const action = { action: "override_hold", code: hold.code, reason: reason.value.trim() };
    // Qualifications no token role carries are claimed explicitly and checked by the server.
    if (["supervisor", "cardiologist"].includes(who)) action.acting_as = who;
    act(o, action, `Overrode hold ${hold.code} of order #${o.order_id}.`);
  };
  return el("form", { class: "reason-form", onsubmit: submit, "data-testid": "override-hold" },
    el("label", { for: id }, `Reason for overriding (${who} only)`), reason,
    el("div", { class: "button-row" }, el("button", { type: "submit" }, `Override as ${who}`)));
}

async function act(o, action, done = `Signed the ${action.check} check of order #${o.order_id}.`) {
  try {
    await call("POST", `/orders/${o.order_id}/actions`, action);
    $("status").textContent = done;
    await load();
  } catch (e) {
    // The server's refusal (e.g. one person signing twice) is the message to read.
    $("status").textContent = `Refused: ${e.message}`;
  }
}

async function open(id) {
  current = id;
  renderOrder();
  $("order-title").focus();
}

async function load() {
  orders = (await call("GET", "/orders?limit=100")).orders;
  renderList();
  renderOrder();
}

if (!session()) {
  $("signed-out").hidden = false;
} else {
  load().catch((e) => ($("status").textContent = e.message));
}
