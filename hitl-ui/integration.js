// The integration panel: sync queues, the event stream and unmapped codes, from
// `/api/v1/interop/*`, with the console's session (api.js keeps the token per tab).

import { callJson, session } from "/console/api.js";

const $ = (id) => document.getElementById(id);

const call = (method, path, body) => callJson(method, "/interop" + path, body);

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "—";
  return td;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function percent(x) {
  return x === null || x === undefined ? "—" : (x * 100).toFixed(1) + " %";
}

function renderKpis(s) {
  const kpis = [
    ["Last sync to the EHR", when(s.last_sync)],
    ["Delivery success", percent(s.success_rate)],
    ["Latency (median)", s.latency_ms_p50 === null ? "—" : s.latency_ms_p50 + " ms"],
    ["Waiting to send", s.queue.pending],
    ["Failed at least once", s.queue.retrying],
    ["Manual action needed", s.queue.dead_letter],
    ["Orders waiting for codes", s.queue.needs_mapping],
    ["Unmapped codes", s.unresolved_mappings],
    ["CDS card override rate", percent(s.cds.override_rate)],
  ];
  const dl = $("kpis");
  dl.replaceChildren();
  for (const [label, value] of kpis) {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = label;
    dd.textContent = String(value);
    div.append(dt, dd);
    dl.append(div);
  }
}

function renderMappings(mappings) {
  const body = $("mappings");
  body.replaceChildren();
  if (mappings.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("No code waits for a mapping.");
    td.colSpan = 5;
    tr.append(td);
    body.append(tr);
  }
  for (const m of mappings) {
    const tr = document.createElement("tr");
    const action = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Map…";
    button.addEventListener("click", () => openResolve(m));
    action.append(button);
    tr.append(cell(m.key), cell(m.display), cell(m.used_as), cell(when(m.created_at)), action);
    body.append(tr);
  }
}

function renderQueue(events) {
  const body = $("queue");
  body.replaceChildren();
  for (const e of events) {
    const tr = document.createElement("tr");
    const action = document.createElement("td");
    if (e.status === "dead_letter") {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Send again";
      button.addEventListener("click", async () => {
        try {
          await call("POST", `/events/${e.id}/retry`, {});
          $("status").textContent = `Event ${e.id} will be sent again.`;
        } catch (err) {
          $("status").textContent = `Event ${e.id}: ${err.message}`;
        }
        refresh();
      });
      action.append(button);
    }
    tr.append(cell(e.id), cell(e.kind), cell(e.status), cell(e.attempts), cell(when(e.next_attempt_at)), cell(e.last_error), action);
    body.append(tr);
  }
}

function renderEvents(events) {
  const body = $("events");
  body.replaceChildren();
  for (const e of events) {
    const tr = document.createElement("tr");
    tr.append(cell(e.id), cell(e.direction), cell(e.kind), cell(e.status), cell(e.rx_id), cell(e.correlation_id), cell(when(e.updated_at)));
    body.append(tr);
  }
}

let resolving = null;

function openResolve(mapping) {
  resolving = mapping;
  $("resolve-key").textContent = mapping.key;
  $("resolve-display").textContent = mapping.display || "no name given";
  $("resolve-generic").value = "";
  $("resolve-error").textContent = "";
  $("resolve-dialog").showModal();
  $("resolve-generic").focus();
}

$("resolve-cancel").addEventListener("click", () => $("resolve-dialog").close());
$("resolve-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const out = await call("POST", "/mappings/resolve", { key: resolving.key, generic: $("resolve-generic").value });
    const taken = out.reprocessed.filter((r) => r.status === "done").length;
    $("status").textContent = `${resolving.key} mapped; ${taken} order(s) taken in.`;
    $("resolve-dialog").close();
    refresh();
  } catch (err) {
    $("resolve-error").textContent = err.message;
  }
});

async function refresh() {
  try {
    const [summary, mappings, queue, events] = await Promise.all([
      call("GET", "/summary"),
      call("GET", "/mappings?status=pending"),
      call("GET", "/events?status=pending,dead_letter&limit=100"),
      call("GET", "/events?limit=50"),
    ]);
    renderKpis(summary);
    renderMappings(mappings.mappings);
    renderQueue(queue.events);
    renderEvents(events.events);
  } catch (err) {
    $("status").textContent = "Could not load the integration state: " + err.message;
  }
}

if (!session()) {
  $("signed-out").hidden = false;
} else {
  refresh();
  setInterval(refresh, 5000);
}
