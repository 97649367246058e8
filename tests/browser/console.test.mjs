// The seed story in a real browser: Debian's Chromium driven by playwright-core against the
// real `rxgate serve --demo` on a free port with a fresh data directory.
//
//   sign in → open amlodipine + clarithromycin → red banner → substitute azithromycin →
//   approve amlodipine with a justification → scan the wrong pack (alarm) → the right pack
//   (chime) → a recalled lot (alarm) → a good one → dispense both → print the label (PDF and ZPL) → counselling → closed.
//
// axe-core checks each screen for serious or critical accessibility violations. Screenshots
// go to test-artifacts/ at the repository root. The approve round trip (click to re-rendered
// card, measured in the page) is printed.
//
// RXGATE_BIN names the binary (scripts/test sets it); CHROMIUM the browser (/usr/bin/chromium).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const artifacts = join(root, "test-artifacts");
const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");

const BIN = process.env.RXGATE_BIN || join(process.env.HOME, ".cache/rxgate/target/release/rxgate");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

// Demo packs (GS1, restricted-circulation GTINs) matching the demo inventory lots.
// Azithromycin in raw form: the variable-length lot (AI 10) ends with a GS separator, which a
// wedge scanner sends as Ctrl+] (ASCII 29).
const AZITHROMYCIN_BEFORE_GS = "0102952800135957" + "10DL24B283";
const AZITHROMYCIN_AFTER_GS = "17280229";
const AMLODIPINE = "(01)02954817321484(17)270228(10)DL25D928";
// Omeprazole Semenanjung (halal-certified capsule), a demo inventory lot.
const OMEPRAZOLE_HALAL = "(01)02951574393822(17)280930(10)DL25E523";
// The demo formulary's recalled amlodipine lot (recalls.csv).
const AMLODIPINE_RECALLED = "(01)02954817321484(17)270531(10)DL25D406";

let server;
let dataDir;
let base;
let browser;

function startServer() {
  dataDir = mkdtempSync(join(tmpdir(), "rxgate-browser-"));
  const env = { ...process.env, RXGATE_DATA_DIR: dataDir, RUST_LOG: "warn" };
  for (const v of ["RXGATE_JWT_SECRET", "DATABASE_URL", "RXGATE_ADDR"]) delete env[v];
  server = spawn(BIN, ["serve", "--demo", "--addr", "127.0.0.1:0"], { env, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolveAddress, reject) => {
    const lines = createInterface({ input: server.stdout });
    lines.once("line", (line) => {
      const m = /^rxgate listening on (\S+)/.exec(line);
      if (m) resolveAddress(m[1]);
      else reject(new Error(`rxgate serve said: ${line}`));
    });
    server.once("exit", (code) => reject(new Error(`rxgate serve exited with ${code}`)));
  });
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  for (const old of readdirSync(artifacts).filter((f) => f.startsWith("console-"))) rmSync(join(artifacts, old));
  base = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"] });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `console-${name}.png`), fullPage: true });
}

/** axe-core in the page; fails on any serious or critical violation. */
async function accessible(page, where) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `${where}: accessibility violations ${JSON.stringify(bad, null, 2)}`);
  return result;
}

/** Runs `body(page)` in a fresh page; on failure saves a screenshot and the page's console. */
async function withPage(name, body) {
  // bypassCSP only so that the test can inject axe-core; the page's own CSP stays on otherwise.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  try {
    await body(page, context, logs);
  } catch (e) {
    await page.screenshot({ path: join(artifacts, `console-FAILED-${name}.png`), fullPage: true }).catch(() => {});
    console.log(`# page console (${name}):\n${logs.map((l) => "#   " + l).join("\n")}`);
    throw e;
  } finally {
    await context.close();
  }
}

async function signIn(page) {
  // A wrong password is refused on screen.
  await page.getByLabel("Username").fill("aisyah");
  await page.getByLabel("Password").fill("not-the-password");
  await page.keyboard.press("Enter");
  await page.locator("#login-error").filter({ hasText: /\S/ }).waitFor();
  await page.getByLabel("Password").fill("pharmacist-demo");
  await page.keyboard.press("Enter");
}

test("the seed story, keyboard and scanner, in headless Chromium", () => withPage("story", async (page, context, logs) => {

  await page.goto(base + "/");
  await page.locator("#login").waitFor();
  await accessible(page, "sign-in screen");
  await shot(page, "01-login");
  await signIn(page);

  // The queue fills from the demo; the story's prescription is there.
  const rxButton = page.locator(".queue-item", { hasText: "amlodipine + clarithromycin" });
  await rxButton.waitFor();
  await page.locator("#live", { hasText: "Live" }).waitFor();
  await rxButton.focus();
  await page.keyboard.press("Enter");

  // Opening it runs the checks: a red banner for the major interaction, alternatives card.
  const banner = page.locator('[data-line="2"] .banner-red[data-testid="ddi-banner"]');
  await banner.waitFor();
  const bannerText = await banner.textContent();
  assert.match(bannerText, /MAJOR interaction/);
  assert.match(bannerText, /amlodipine|clarithromycin/);
  assert.equal(await banner.getAttribute("role"), "alert");
  await page.locator('[data-line="1"] .banner-red').waitFor();
  // A major line offers no one-tap approve: only "approve with justification", disabled empty.
  assert.equal(await page.locator('[data-line="1"] [data-testid="approve"]').count(), 0);
  const justified = page.locator('[data-line="1"] button', { hasText: "Approve with justification" });
  assert.equal(await justified.isDisabled(), true);
  await accessible(page, "verification card with a major interaction");
  await shot(page, "02-red-banner");

  // The language toggle changes every label; back to English for the rest.
  await page.locator("#lang").click();
  await page.locator('[data-line="2"] .banner-red', { hasText: "Interaksi UTAMA" }).waitFor();
  await shot(page, "03-bahasa-melayu");
  await page.locator("#lang").click();
  await page.locator('[data-line="2"] .banner-red', { hasText: "MAJOR interaction" }).waitFor();

  // Substitute clarithromycin with azithromycin from the alternatives card (one keypress).
  const substitute = page.locator('[data-line="2"] [data-testid="substitute-with"]', { hasText: "azithromycin" });
  await substitute.focus();
  await page.keyboard.press("Enter");
  await page.locator('[data-line="2"] .decision', { hasText: "azithromycin" }).waitFor();

  // Amlodipine: dispense despite the major finding, with the justification typed.
  await page.locator('[data-line="1"] textarea').fill("Interacting macrolide substituted with azithromycin; BP monitored.");
  await justified.click();
  await page.locator('[data-line="1"] .decision').waitFor();
  const trips = await page.evaluate(() => window.rxgate.approveRoundTripsMs);
  assert.equal(trips.length, 2);
  console.log(`# approve round trip in the browser (click → re-rendered card): ${trips.map((t) => t + " ms").join(", ")}`);

  // The wrong pack on the azithromycin line: alarm, reason shown, nothing dispensed.
  const qty2 = page.locator("#qty-2");
  await qty2.fill("6");
  const scan2 = page.locator("#scan-2");
  await scan2.focus();
  await page.keyboard.type(AMLODIPINE);
  await page.keyboard.press("Enter");
  const result2 = page.locator("#scan-result-2.scan-bad");
  await result2.waitFor();
  assert.match(await result2.textContent(), /Wrong pack for line 2/);
  assert.deepEqual(await page.evaluate(() => window.rxgate.sounds), ["alarm"]);
  // The refusal is audited, so the live feed re-renders the card; a re-render (here the
  // language toggle, there and back) must not wipe the reason off the line.
  await page.locator("#lang").click();
  await page.locator("#lang").click();
  await page.locator('[data-line="2"] .banner-red', { hasText: "MAJOR interaction" }).waitFor();
  assert.match(await page.locator("#scan-result-2.scan-bad").textContent(), /Wrong pack for line 2/);
  await shot(page, "04-wrong-pack");

  // The right pack, typed as a wedge scanner would with a GS separator: chime, dispensed.
  await page.locator("#scan-2").focus();
  await page.keyboard.type(AZITHROMYCIN_BEFORE_GS);
  await page.keyboard.press("Control+BracketRight");
  await page.keyboard.type(AZITHROMYCIN_AFTER_GS);
  assert.equal(await page.locator("#scan-2").inputValue(), `${AZITHROMYCIN_BEFORE_GS}|${AZITHROMYCIN_AFTER_GS}`);
  await page.keyboard.press("Enter");
  await page.locator('[data-line="2"] .dispensed').waitFor();
  assert.deepEqual(await page.evaluate(() => window.rxgate.sounds), ["alarm", "chime"]);

  // Amlodipine: a pack from the recalled lot is refused with the alarm and the reason.
  await page.locator("#qty-1").fill("30");
  await page.locator("#scan-1").focus();
  await page.keyboard.type(AMLODIPINE_RECALLED);
  await page.keyboard.press("Enter");
  await page.locator("#scan-result-1.scan-bad", { hasText: "recalled" }).waitFor();
  await shot(page, "05-recalled-lot");
  // A good pack: dispensed; the prescription is now DISPENSED.
  await page.locator("#scan-1").focus();
  await page.keyboard.type(AMLODIPINE);
  await page.keyboard.press("Enter");
  await page.locator('[data-line="1"] .dispensed').waitFor();
  await page.locator('[data-testid="counsel-open"]').waitFor();
  assert.deepEqual(await page.evaluate(() => window.rxgate.sounds), ["alarm", "chime", "alarm", "chime"]);
  await shot(page, "06-dispensed");

  // Labels: the PDF opens (a new tab with the PDF), the ZPL downloads.
  const tab = context.waitForEvent("page");
  await page.locator('[data-line="2"] [data-testid="label-pdf"]').click();
  await (await tab).close();
  const pdf = await page.evaluate(() => window.rxgate.lastLabel);
  assert.equal(pdf.type, "application/pdf");
  assert.ok(pdf.size > 500, `a PDF of ${pdf.size} bytes`);
  const download = page.waitForEvent("download");
  await page.locator('[data-line="2"] [data-testid="label-zpl"]').click();
  const zpl = await download;
  assert.match(zpl.suggestedFilename(), /\.zpl$/);
  await zpl.saveAs(join(artifacts, "console-label-line2.zpl"));

  // Counselling: all points required, then the prescription closes.
  await page.locator('[data-testid="counsel-open"]').click();
  const dialog = page.locator("dialog#counsel");
  await dialog.waitFor();
  await page.locator("#ci-identity_confirmed").check();
  await dialog.locator('button[type="submit"]').click();
  assert.match(await page.locator("#counsel-error").textContent(), /Every point/);
  await accessible(page, "counselling dialog");
  await shot(page, "07-counselling");
  for (const box of await dialog.locator('input[type="checkbox"]').all()) await box.check();
  await dialog.locator('button[type="submit"]').click();
  await page.locator(".card-head .chip", { hasText: "closed" }).waitFor();

  // The live queue moved it to Completed; the stats bar counts it.
  await page.locator('#queue .queue-group:has(#group-completed) .queue-item', { hasText: "amlodipine + clarithromycin" }).waitFor();
  await page.locator("#stat-average").filter({ hasText: /min/ }).waitFor();
  await accessible(page, "closed prescription");
  await shot(page, "08-closed");

  assert.deepEqual(logs.filter((l) => l.startsWith("pageerror")), []);
}));

test("a contraindicated line offers no approve button at all", () => withPage("contraindicated", async (page) => {
  await page.goto(base + "/");
  await page.locator("#login").waitFor();
  await signIn(page);
  await page.locator(".queue-item", { hasText: "simvastatin + clarithromycin" }).click();
  await page.locator('[data-line="1"] .refusal').waitFor();
  assert.equal(await page.locator('[data-line="1"] [data-testid="approve"]').count(), 0);
  assert.equal(await page.locator('[data-line="1"] button', { hasText: "Approve" }).count(), 0);
  await shot(page, "09-contraindicated");
}));

test("a clean line is one tap, and its hand-over can be reversed", () => withPage("one-tap", async (page) => {
  await page.goto(base + "/");
  await page.locator("#login").waitFor();
  await signIn(page);
  await page.locator(".queue-item", { hasText: "omeprazole" }).click();
  const approve = page.locator('[data-line="1"] [data-testid="approve"]');
  await approve.click();
  await page.locator('[data-line="1"] .decision').waitFor();
  await page.locator("#scan-1").waitFor();
  const trips = await page.evaluate(() => window.rxgate.approveRoundTripsMs);
  console.log(`# one-tap approve round trip: ${trips[0]} ms`);

  // Handed over, then the patient declines it at the counter: the pharmacist reverses the
  // hand-over. The line goes back on hold to be decided again and the card keeps the history.
  await page.locator("#qty-1").fill("28");
  await page.locator("#scan-1").focus();
  await page.keyboard.type(OMEPRAZOLE_HALAL);
  await page.keyboard.press("Enter");
  await page.locator('[data-line="1"] .dispensed').waitFor();
  await page.locator('[data-line="1"] [data-testid="reverse-open"]').click();
  const form = page.locator('[data-line="1"] [data-testid="reverse-form"]');
  // Without a reason the browser refuses to submit: nothing is reversed.
  await form.locator('button[type="submit"]').click();
  assert.equal(await form.locator("input:invalid").count(), 1);
  assert.equal(await page.locator('[data-line="1"] .dispensed').count(), 1);
  await form.locator("select").selectOption("declined");
  await form.getByLabel("What happened").fill("Patient already has omeprazole at home");
  await form.getByLabel(/return it to stock/).check();
  // A re-render (the live feed; here the language toggle, there and back) keeps the open
  // form and what was typed and ticked in it.
  await page.locator("#lang").click();
  await page.locator("#lang").click();
  assert.equal(await form.getByLabel("What happened").inputValue(), "Patient already has omeprazole at home");
  assert.equal(await form.getByLabel(/return it to stock/).isChecked(), true);
  await accessible(page, "reverse hand-over form");
  await form.locator('button[type="submit"]').click();
  const history = page.locator('[data-line="1"] [data-testid="reversals"]');
  await history.waitFor();
  const text = await history.textContent();
  assert.match(text, /Reversed: 28 × .*Declined by the patient by aisyah: “Patient already has omeprazole at home”/);
  assert.match(text, /returned to stock/);
  assert.equal(await page.locator('[data-line="1"] .dispensed').count(), 0, "no standing hand-over is shown");
  await page.locator('[data-line="1"] [data-testid="approve"]').waitFor();
  await shot(page, "10-reversed");
}));

test("chemotherapy orders: a hard stop has no sign button, a check needs two different people", () => withPage("chemo", async (page) => {
  await page.goto(base + "/");
  await page.locator("#login").waitFor();
  await signIn(page);
  await page.locator("#live", { hasText: "Live" }).waitFor();
  await page.getByRole("link", { name: "Chemotherapy" }).click();
  const rows = page.locator("#orders tr");
  await rows.first().waitFor();
  assert.equal(await rows.count(), 3);

  // Vincristine in a syringe: blocked, and nothing on the page offers a way past it.
  await page.locator("#orders tr", { hasText: "MRN-DEMO-C3" }).getByRole("button", { name: /Open/ }).click();
  await page.locator('[data-testid="hard-stop"]', { hasText: "vinca_syringe" }).waitFor();
  assert.equal(await page.locator('[data-testid="sign-prescribing"]').count(), 0);
  assert.doesNotMatch(await page.locator("#order-body").textContent(), /null|undefined/);
  await accessible(page, "chemotherapy order with a hard stop");
  await shot(page, "11-chemo-hard-stop");

  // The clean order: its computed doses, then the pharmacist signs the prescribing check once.
  await page.locator("#orders tr", { hasText: "MRN-DEMO-C1" }).getByRole("button", { name: /Open/ }).click();
  await page.locator('[data-testid="doses"]', { hasText: "vincristine" }).waitFor();
  assert.match(await page.locator('[data-testid="doses"]').textContent(), /2 mg \(capped\)/);
  await page.locator('[data-testid="sign-prescribing"]').click();
  await page.locator('[data-testid="prescribing-check"]', { hasText: "aisyah" }).waitFor();
  // The same person again: the server refuses, and the page says why.
  await page.locator('[data-testid="sign-prescribing"]').click();
  await page.locator("#status", { hasText: /^Refused: / }).waitFor();
  assert.equal(await page.locator('[data-testid="prescribing-check"]').textContent(), "aisyah");
  // A 15 % gravimetric deviation: recorded, and the label is refused until a supervisor
  // accepts it.
  const gravimetric = page.locator('[data-testid="gravimetric-form"]');
  await gravimetric.getByLabel("Expected weight (g)").fill("100");
  await gravimetric.getByLabel("Measured weight (g)").fill("115");
  await gravimetric.getByRole("button", { name: "Record the weights" }).click();
  await page.locator('[data-testid="gravimetric"]', { hasText: /deviation 15.*outside tolerance/ }).waitFor();
  await page.locator('[data-testid="gravimetric-override"]').waitFor();
  await page.locator('[data-testid="print-label"]').click();
  await page.locator("#status", { hasText: /^Refused: label refused/ }).waitFor();
  await accessible(page, "chemotherapy order awaiting checks");
  await shot(page, "12-chemo-checks");

  // A low neutrophil count holds cycle 3 until a physician documents an override: the
  // pharmacist's attempt is refused, the physician's is recorded.
  const held = async () => {
    await page.locator("#orders tr", { hasText: "MRN-DEMO-C2" }).getByRole("button", { name: /Open/ }).click();
    return page.locator('[data-testid="hold"]').first();
  };
  let hold = await held();
  await hold.getByLabel(/Reason for overriding/).fill("Counts recovering; haematologist agrees to proceed");
  await hold.getByRole("button", { name: /Override as physician/ }).click();
  await page.locator("#status", { hasText: /^Refused: / }).waitFor();
  assert.match(await hold.textContent(), /Needs the override of a physician/);
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(base + "/");
  await page.getByLabel("Username").fill("drlim");
  await page.getByLabel("Password").fill("physician-demo");
  await page.keyboard.press("Enter");
  // A physician has no pharmacy queue: signing in leads straight to the chemotherapy page.
  await page.waitForURL("**/console/chemo.html");
  await page.locator("#orders tr").first().waitFor();
  hold = await held();
  await hold.getByLabel(/Reason for overriding/).fill("Counts recovering; haematologist agrees to proceed");
  await hold.getByRole("button", { name: /Override as physician/ }).click();
  await page.locator('[data-testid="hold"]', { hasText: "Overridden by drlim" }).waitFor();
  assert.equal(await page.locator('[data-testid="chemo-state"]').textContent(), "Checks needed");
  // At the bedside: another patient's wristband is no match, and nothing is given unchecked.
  const bcma = page.locator('[data-testid="bcma-form"]');
  await bcma.getByLabel("Wristband").fill("MRN:MRN-9999");
  await bcma.getByLabel("Product barcode").fill("(01)02959482234015(17)281231(10)VC1");
  await bcma.getByLabel("Drug").fill("vincristine");
  await bcma.getByRole("button", { name: "Check the scans" }).click();
  await page.locator("#status", { hasText: "Bedside scan of order #2 checked." }).waitFor();
  assert.match(await page.locator('[data-testid="bcma"]').textContent(), /no match/);
  await page.locator('[data-testid="administer"]').click();
  await page.locator("#status", { hasText: /^Refused: administration refused/ }).waitFor();
  await shot(page, "13-chemo-hold-overridden");
}));

test("the integration panel reads the sync state with the console's session", () => withPage("integration", async (page) => {
  await page.goto(base + "/");
  await page.locator("#login").waitFor();
  await signIn(page);
  await page.locator("#live", { hasText: "Live" }).waitFor();
  await page.getByRole("link", { name: "Integration" }).click();
  await page.locator("#kpis dt", { hasText: "Delivery success" }).waitFor();
  assert.equal(await page.locator("#signed-out").isHidden(), true);
  assert.equal(await page.locator("#status").textContent(), "", "no error on the page");
  await accessible(page, "integration panel");
  await shot(page, "14-integration");
}));
