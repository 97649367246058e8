// The console: sign-in, the live queue (left), the verification card (right), the
// counselling dialog and the bottom stats. State lives on the server; this page re-reads
// what changed when the change feed says so.

import { api, ApiError, follow, login, session, signOut } from "./api.js";
import { forgetForm, h, renderCard } from "./card.js";
import { getLang, setLang, t, translateStatic } from "./i18n.js";
import { alarm, chime, played } from "./sound.js";

const GROUPS = [
  ["ready", ["READY_TO_DISPENSE"]],
  ["verifying", ["RX_RECEIVED", "AI_VERIFYING"]],
  ["pending", ["ALERTS_RAISED", "HITL_REVIEW"]],
  ["completed", ["DISPENSED", "COUNSEL_COMPLETE", "CLOSED"]],
];

const $ = (id) => document.getElementById(id);
// `scanResults`: the last refused scan per line of the open prescription. The refusal is
// audited, so the change feed re-renders the card a moment later; the pharmacist must still
// read why the pack was refused.
const state = { queue: [], current: null, detail: null, stopFeed: null, busy: false, scanResults: new Map() };

/** Figures the browser test reads: each approve round trip, click to re-rendered card. */
window.rxgate = { approveRoundTripsMs: [], sounds: played };

function toast(message, kind = "info") {
  const el = $("toast");
  el.className = `toast toast-${kind}`;
  el.textContent = message;
}

function errorText(e) {
  if (e instanceof ApiError) return t("error", { message: e.message });
  return t("network_error");
}

function handleError(e) {
  if (e instanceof ApiError && e.status === 401) {
    signOut();
    showLogin();
    return;
  }
  toast(errorText(e), "error");
}

// ── sign-in ──────────────────────────────────────────────────────────────────────────────

function showLogin() {
  state.stopFeed?.();
  $("console").hidden = true;
  $("stats").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  $("username").focus();
}

async function onLogin(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    await login($("username").value.trim(), $("password").value);
    $("password").value = "";
    if (!toOwnPage()) start();
  } catch (e) {
    $("login-error").textContent = t("login_failed", { message: e instanceof ApiError ? e.message : t("network_error") });
  }
}

/** A physician has no pharmacy queue: their page here is the chemotherapy orders. */
function toOwnPage() {
  if (session()?.role !== "physician") return false;
  window.location.assign("/console/chemo.html");
  return true;
}

// ── queue ────────────────────────────────────────────────────────────────────────────────

function renderQueue() {
  const root = $("queue-groups");
  root.replaceChildren(
    ...GROUPS.map(([key, statuses]) => {
      const rows = state.queue.filter((rx) => statuses.includes(rx.status));
      return h(
        "section",
        { class: "queue-group", "aria-labelledby": `group-${key}` },
        h("h2", { id: `group-${key}` }, t(`group_${key}`), " ", h("span", { class: "count" }, `(${rows.length})`)),
        rows.length
          ? h("ul", {}, rows.map((rx) =>
              h("li", {},
                h("button", {
                  type: "button",
                  class: "queue-item",
                  "aria-current": state.current === rx.rx_id ? "true" : null,
                  "data-rx": rx.rx_id,
                  onclick: () => open(rx.rx_id),
                },
                h("span", { class: "rx-id" }, `Rx ${rx.rx_id}`),
                " ",
                h("span", {}, rx.items.map((i) => i.drug).join(" + ")),
                h("span", { class: `chip rx-${rx.status}` }, t(`rx_status_${rx.status}`))),
              ),
            ))
          : h("p", { class: "muted" }, t("queue_empty")),
      );
    }),
  );
}

async function refreshQueue() {
  try {
    state.queue = (await api.queue()).prescriptions;
    renderQueue();
  } catch (e) {
    handleError(e);
  }
}

// ── card ─────────────────────────────────────────────────────────────────────────────────

const handlers = {
  verify: () => verify(),
  decide: (line, decision) => decide(line, decision),
  dispense: (line, scan, quantity, resultEl) => dispense(line, scan, quantity, resultEl),
  label: (lineNo, format) => printLabel(lineNo, format),
  reverse: (line, body) => reverse(line, body),
  counsel: () => openCounselling(),
  close: () => closeRx(),
};

function renderDetail() {
  if (!state.detail) return;
  // A re-render (someone else's change, or ours) must not lose what is being typed: keep
  // every field's value, the focus and the caret.
  const typed = new Map();
  const ticked = new Set();
  for (const el of $("card-body").querySelectorAll("input[id], textarea[id], select[id]")) {
    if (el.type === "checkbox") {
      if (el.checked) ticked.add(el.id);
    } else if (el.value) {
      typed.set(el.id, el.value);
    }
  }
  const active = document.activeElement;
  const focused = active?.id && $("card-body").contains(active) ? active.id : null;
  const caret = focused && typeof active.selectionStart === "number" ? [active.selectionStart, active.selectionEnd] : null;
  renderCard($("card-body"), state.detail, handlers);
  for (const [lineNo, message] of state.scanResults) {
    const el = $(`scan-result-${lineNo}`);
    if (el) {
      el.textContent = message;
      el.classList.add("scan-bad");
    }
  }
  for (const [id, value] of typed) {
    const el = $(id);
    // A select always has a value: restore it whenever it differs.
    if (el && (!el.value || el.tagName === "SELECT")) {
      el.value = value;
      el.dispatchEvent(new Event("input"));
    }
  }
  for (const id of ticked) {
    const el = $(id);
    if (el) el.checked = true;
  }
  if (focused && $(focused)) {
    $(focused).focus();
    if (caret) $(focused).setSelectionRange?.(caret[0], caret[1]);
  }
}

async function loadDetail() {
  if (state.current === null) return;
  const rx = state.current;
  const detail = await api.detail(rx);
  if (state.current !== rx) return;
  state.detail = detail;
  renderDetail();
}

async function open(rxId) {
  state.current = rxId;
  state.detail = null;
  state.scanResults.clear();
  renderQueue();
  $("card-body").replaceChildren(h("p", { class: "muted" }, t("loading")));
  try {
    await loadDetail();
    if (state.detail?.status === "RX_RECEIVED") await verify();
    $("card-title")?.focus();
    // The first scan field, when there is one, is where a scanner's keystrokes should go.
    document.querySelector("#card-body .scan")?.focus();
  } catch (e) {
    handleError(e);
  }
}

async function verify() {
  toast(t("verifying"));
  try {
    await api.verify(state.current);
    await loadDetail();
    toast("");
  } catch (e) {
    handleError(e);
  }
}

async function decide(line, decision) {
  if (state.busy) return;
  state.busy = true;
  const started = performance.now();
  const vline = (state.detail.verification?.lines || []).find((l) => l.line_no === line.line_no);
  const body = { line_no: line.line_no, ...decision };
  if (vline?.view_hash) body.view_hash = vline.view_hash;
  try {
    await api.approve(state.current, [body]);
    forgetForm(line.line_no);
    await loadDetail();
    const ms = Math.round(performance.now() - started);
    window.rxgate.approveRoundTripsMs.push(ms);
    toast(t("approved_toast", { n: line.line_no, action: t(`action_${decision.action}`), ms }), "ok");
    document.querySelector(`#card-body [data-line="${line.line_no}"] .scan`)?.focus();
  } catch (e) {
    handleError(e);
  } finally {
    state.busy = false;
  }
}

async function dispense(line, scan, quantity, resultEl) {
  try {
    const out = await api.dispense(state.current, { line_no: line.line_no, barcode: scan, quantity });
    state.scanResults.delete(line.line_no);
    chime();
    const message = t("scan_match", { n: line.line_no, quantity });
    await loadDetail();
    toast(message, "ok");
    // The next line still to scan, if any.
    document.querySelector("#card-body .scan")?.focus();
    return out;
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      alarm();
      const reasons = e.details?.problems?.length ? `${e.message} (${e.details.problems.join(", ")})` : e.message;
      const message = t("scan_mismatch", { n: line.line_no, reason: reasons });
      state.scanResults.set(line.line_no, message);
      // The feed may have re-rendered the card while the request was out: write to the
      // line's result as it is now, not to the element the scan came from.
      const shown = $(`scan-result-${line.line_no}`) || resultEl;
      shown.textContent = message;
      shown.classList.add("scan-bad");
      toast(message, "error");
      return null;
    }
    handleError(e);
    return null;
  }
}

async function reverse(line, body) {
  if (state.busy) return;
  state.busy = true;
  try {
    await api.reverseDispense(state.current, body);
    forgetForm(line.line_no);
    await loadDetail();
    toast(t("reversed_toast", { n: line.line_no }), "ok");
  } catch (e) {
    handleError(e);
  } finally {
    state.busy = false;
  }
}

async function printLabel(lineNo, format) {
  try {
    const body = { format };
    if (lineNo !== null) body.line_no = lineNo;
    const { blob, name } = await api.label(state.current, body);
    const url = URL.createObjectURL(blob);
    if (format === "pdf") {
      window.open(url, "_blank");
    } else {
      const a = h("a", { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
    }
    window.rxgate.lastLabel = { name, type: blob.type, size: blob.size };
    toast(t("label_ready", { name }), "ok");
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) {
    handleError(e);
  }
}

// ── counselling ──────────────────────────────────────────────────────────────────────────

function openCounselling() {
  const dialog = $("counsel");
  const items = state.detail.counselling_items || [];
  $("counsel-error").textContent = "";
  $("counsel-items").replaceChildren(
    ...items.map((item) =>
      h("li", {},
        h("input", { type: "checkbox", id: `ci-${item}`, value: item, name: "counsel" }),
        h("label", { for: `ci-${item}` }, t(`counsel_item_${item}`)),
      ),
    ),
  );
  dialog.showModal();
  dialog.querySelector("input")?.focus();
}

async function submitCounselling(event) {
  event.preventDefault();
  const all = [...document.querySelectorAll("#counsel-items input")];
  const done = all.filter((c) => c.checked).map((c) => c.value);
  if (done.length !== all.length) {
    $("counsel-error").textContent = t("counsel_incomplete");
    return;
  }
  try {
    await api.counselDone(state.current, done);
    $("counsel").close();
    toast(t("closed", { rx_id: state.current }), "ok");
    await loadDetail();
    $("card-title")?.focus();
  } catch (e) {
    $("counsel-error").textContent = errorText(e);
  }
}

async function closeRx() {
  try {
    await api.close(state.current);
    toast(t("closed", { rx_id: state.current }), "ok");
    await loadDetail();
  } catch (e) {
    handleError(e);
  }
}

// ── stats and live feed ─────────────────────────────────────────────────────────────────

function seconds(s) {
  if (s === null || s === undefined) return t("stats_none");
  const m = Math.floor(s / 60);
  return t("minutes_seconds", { m, s: Math.round(s - m * 60) });
}

async function refreshStats() {
  try {
    const s = await api.stats();
    $("stat-total").textContent = s.total_today;
    $("stat-average").textContent = seconds(s.average_seconds_to_dispense);
    $("stat-pending").textContent = s.pending_approvals;
  } catch (e) {
    handleError(e);
  }
}

let refreshTimer = null;
let currentChanged = false;
function onChange(type, data) {
  if (type !== "change") return;
  if (data.rx_id === state.current) currentChanged = true;
  // Several entries arrive together for one action: one refresh for the burst.
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    await refreshQueue();
    refreshStats();
    if (currentChanged && !state.busy) {
      currentChanged = false;
      loadDetail().catch(handleError);
    }
  }, 150);
}

let feedConnected = false;
function onFeedState(connected, error) {
  feedConnected = connected;
  $("live").textContent = connected ? t("live_connected") : t("live_reconnecting");
  $("live").className = connected ? "live live-on" : "live live-off";
  if (error instanceof ApiError && error.status === 401) handleError(error);
}

// ── start ────────────────────────────────────────────────────────────────────────────────

function applyLanguage() {
  translateStatic();
  $("lang").textContent = t("language_toggle");
  $("lang").setAttribute("aria-label", t("language_toggle_label"));
  $("live").textContent = feedConnected ? t("live_connected") : t("live_reconnecting");
  const s = session();
  if (s) $("who-name").textContent = t("signed_in_as", { sub: s.sub });
  renderQueue();
  renderDetail();
  if (!state.detail) $("card-body").replaceChildren(h("p", { class: "muted" }, t("no_selection")));
}

function start() {
  $("login").hidden = true;
  $("console").hidden = false;
  $("stats").hidden = false;
  $("who").hidden = false;
  applyLanguage();
  refreshQueue();
  refreshStats();
  state.stopFeed?.();
  state.stopFeed = follow(onChange, onFeedState);
}

document.addEventListener("DOMContentLoaded", () => {
  setLang(getLang());
  $("login-form").addEventListener("submit", onLogin);
  $("lang").addEventListener("click", () => {
    setLang(getLang() === "en" ? "ms" : "en");
    applyLanguage();
  });
  $("sign-out").addEventListener("click", () => {
    signOut();
    state.current = null;
    state.detail = null;
    showLogin();
  });
  $("counsel-form").addEventListener("submit", submitCounselling);
  $("counsel-cancel").addEventListener("click", () => $("counsel").close());
  translateStatic();
  $("lang").textContent = t("language_toggle");
  if (session()) {
    if (!toOwnPage()) start();
  } else {
    showLogin();
  }
});
