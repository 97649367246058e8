// The console's pure pieces, without a browser: the two message tables and the scan
// normalisation that keyboard-wedge scanners depend on.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MESSAGES } from "../../hitl-ui/i18n.js";
import { GS, normaliseScan } from "../../hitl-ui/scanner.js";

test("English and Malay hold exactly the same messages, none empty", () => {
  const en = Object.keys(MESSAGES.en).sort();
  const ms = Object.keys(MESSAGES.ms).sort();
  assert.deepEqual(ms, en);
  for (const lang of ["en", "ms"]) {
    for (const [key, text] of Object.entries(MESSAGES[lang])) assert.ok(text.trim(), `${lang}.${key} is empty`);
  }
});

test("every placeholder of a message is there in both languages", () => {
  const names = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(MESSAGES.en)) {
    assert.deepEqual(names(MESSAGES.ms[key]), names(MESSAGES.en[key]), key);
  }
});

test("GS separators typed as visible stand-ins become ASCII 29", () => {
  const raw = "0102952800135957" + "10DL24B283" + GS + "17280229";
  for (const typed of [
    "010295280013595710DL24B283\u241d17280229",
    "010295280013595710DL24B283|17280229",
    "010295280013595710DL24B283<GS>17280229",
    "010295280013595710DL24B283{gs}17280229",
    "010295280013595710DL24B283\x1d17280229\r\n",
  ]) {
    assert.equal(normaliseScan(typed), raw, JSON.stringify(typed));
  }
  // Bracketed element strings are left as they are.
  assert.equal(normaliseScan(" (01)02952800135957(17)280229(10)DL24B283 "), "(01)02952800135957(17)280229(10)DL24B283");
});
