// Two sounds a pharmacist can tell apart without looking: a rising two-note chime when the
// pack matches, a low buzzing alarm (three pulses) when it does not. WebAudio synthesis, so
// there are no sound files; the context starts on the first user gesture, as browsers ask.

let context = null;

function audio() {
  if (!context) {
    const Ctor = window.AudioContext || window.webkitAudioContext;
    if (!Ctor) return null;
    context = new Ctor();
  }
  if (context.state === "suspended") context.resume();
  return context;
}

function tone(ctx, { freq, type, start, length, gain }) {
  const osc = ctx.createOscillator();
  const amp = ctx.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  amp.gain.setValueAtTime(0, ctx.currentTime + start);
  amp.gain.linearRampToValueAtTime(gain, ctx.currentTime + start + 0.01);
  amp.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + start + length);
  osc.connect(amp).connect(ctx.destination);
  osc.start(ctx.currentTime + start);
  osc.stop(ctx.currentTime + start + length + 0.02);
}

/** Which sounds were played, for the browser test (nothing is recorded but the name). */
export const played = [];

export function chime() {
  played.push("chime");
  const ctx = audio();
  if (!ctx) return;
  tone(ctx, { freq: 880, type: "sine", start: 0, length: 0.18, gain: 0.25 });
  tone(ctx, { freq: 1318.5, type: "sine", start: 0.12, length: 0.3, gain: 0.25 });
}

export function alarm() {
  played.push("alarm");
  const ctx = audio();
  if (!ctx) return;
  for (const start of [0, 0.22, 0.44]) tone(ctx, { freq: 220, type: "square", start, length: 0.16, gain: 0.2 });
}
