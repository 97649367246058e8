// Keyboard-wedge barcode scanners type the symbol's characters and press Enter. A GS1 symbol
// separates variable-length fields with GS (ASCII 29): scanners send it as the character
// itself, as Ctrl+] (the terminal control key for 29), or not at all. People typing a code
// use a visible stand-in. All of them become "\x1d" before the scan is sent.

export const GS = "\x1d";

/** Visible stand-ins for GS accepted from a keyboard: ␝ (U+241D), "|", "<GS>", "{GS}". */
export function normaliseScan(text) {
  return text
    .replace(/\u241d|<GS>|\{GS\}|\|/gi, GS)
    .replace(/[\r\n]+$/g, "")
    .trim();
}

/** How a GS is shown in the field: "|" renders in every font (␝ often does not). */
const SHOWN_GS = "|";

/**
 * Makes `input` a scan field: Ctrl+] inserts GS (shown as "|" so a person sees it), Enter
 * submits the normalised scan to `onScan` and clears the field.
 */
export function attachScanner(input, onScan) {
  input.addEventListener("keydown", (event) => {
    if (event.ctrlKey && (event.key === "]" || event.code === "BracketRight")) {
      event.preventDefault();
      insertAtCursor(input, SHOWN_GS);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const scan = normaliseScan(input.value);
      if (scan) onScan(scan);
    }
  });
  // A raw GS typed by the scanner is invisible: show it while it sits in the field.
  input.addEventListener("input", () => {
    if (input.value.includes(GS)) {
      const at = input.selectionStart;
      input.value = input.value.replaceAll(GS, SHOWN_GS);
      input.setSelectionRange(at, at);
    }
  });
}

function insertAtCursor(input, text) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  input.value = input.value.slice(0, start) + text + input.value.slice(end);
  input.setSelectionRange(start + text.length, start + text.length);
}
