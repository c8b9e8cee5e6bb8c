// The pedal's page: state from /api/state, changes by POST (JSON), meters and tuner by server-sent events.
"use strict";
const $ = (id) => document.getElementById(id);
let state = null, live = null, tuning = false;

function say(text, kind = "") { const m = $("message"); m.textContent = text; m.className = "message " + kind; }

async function call(path, body, isForm = false) {
  const options = { method: "POST", body: isForm ? body : JSON.stringify(body || {}) };
  if (!isForm) options.headers = { "Content-Type": "application/json" };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) { say(data.error || "refused", "bad"); if (response.status === 401) location.href = "/login"; return null; }
  if (data.presets) render(data);
  if (data.ok) say(data.ok, "ok");
  return data;
}

function render(s) {
  state = s;
  const presets = $("presets");
  presets.replaceChildren(...s.presets.map((p) => {
    const b = document.createElement("button");
    b.innerHTML = `<small>${p.index + 1}</small>`;
    b.append(document.createTextNode(p.name));
    b.dataset.index = p.index;
    b.onclick = () => call("/api/preset", { index: p.index });
    return b;
  }));
  const bank = s.bank;
  (bank ? bank.presets.slice(s.presets.length) : []).forEach((name) => {
    const b = document.createElement("button");
    b.className = "pending"; b.disabled = true; b.innerHTML = "<small>after loading</small>";
    b.append(document.createTextNode(name)); presets.append(b);
  });
  $("bank-section").hidden = !bank;
  if (bank) {
    const pending = bank.unsaved ? "Changes not saved yet: Save bank keeps them." :
      bank.unapplied ? "Saved. Load it to play the new captures (a few seconds of silence)." : "";
    $("pending").textContent = pending; $("pending").hidden = !pending;
    const target = $("target"), chosen = target.value;
    target.replaceChildren(new Option("new preset", ""),
      ...bank.presets.map((name, i) => new Option(`replace ${i + 1}. ${name}`, String(i))));
    target.value = chosen;
  }
  $("restart").hidden = !s.can_restart;
  $("capture-section").hidden = !s.can_capture;
  renderParams(s.params);
  showSwitches(s);
}

function renderParams(params) {
  const box = $("params");
  for (const [name, p] of Object.entries(params)) {
    let row = box.querySelector(`[data-name="${name}"]`);
    if (!row) {
      row = document.createElement("div");
      row.className = "param"; row.dataset.name = name;
      row.innerHTML = `<label for="p-${name}"></label><input type="range" id="p-${name}"><output></output>`;
      row.querySelector("label").textContent = p.label;
      const input = row.querySelector("input");
      Object.assign(input, { min: p.min, max: p.max, step: p.step });
      let timer = null;
      input.oninput = () => {
        row.querySelector("output").textContent = `${(+input.value).toFixed(1)} ${p.unit}`;
        clearTimeout(timer);  // at most ~20 requests a second while dragging
        timer = setTimeout(() => call("/api/params", { [name]: +input.value }), 50);
      };
      input.ondblclick = () => { input.value = 0; input.oninput(); };
      box.append(row);
    }
    const input = row.querySelector("input");
    if (document.activeElement !== input) input.value = p.value;
    row.querySelector("output").textContent = `${(+input.value).toFixed(1)} ${p.unit}`;
  }
}

function showSwitches(s) {
  document.querySelectorAll("#presets button[data-index]").forEach((b) =>
    b.classList.toggle("current", +b.dataset.index === s.current));
  $("bypass").classList.toggle("on", s.bypassed);
  $("bypass").textContent = s.bypassed ? "Bypassed" : "Bypass";
  $("mute").checked = s.muted;
}

function meter(which, level) {
  const pos = (db) => Math.max(0, Math.min(100, (db + 60) / 60 * 100));
  $(which + "-rms").style.clipPath = `inset(0 ${100 - pos(level.rms)}% 0 0)`;  // the colours stay at their dB
  $(which + "-peak").style.left = `calc(${pos(level.peak)}% - 3px)`;
  $(which + "-db").textContent = level.peak <= -120 ? "–∞" : `${level.peak.toFixed(1)}`;
}

function chip(id, text, kind) { const c = $(id); c.textContent = text; c.className = "chip " + kind; }

function onFrame(f) {
  meter("in", f.in); meter("out", f.out);
  chip("dsp", `DSP ${f.dsp.toFixed(1)}%`, f.dsp > 70 ? "bad" : f.dsp > 40 ? "warn" : "ok");
  chip("xruns", `xruns ${f.xruns}`, f.xruns ? "warn" : "ok");
  const hot = f.throttled && f.throttled.length;
  chip("temp", (f.temp_c == null ? "" : `${f.temp_c.toFixed(0)}°C`) + (hot ? " throttled" : ""),
       hot ? "bad" : f.temp_c > 75 ? "warn" : "ok");
  $("temp").hidden = f.temp_c == null && f.throttled == null;
  if (state && (f.current !== state.current || f.bypassed !== state.bypassed || f.muted !== state.muted)) {
    Object.assign(state, { current: f.current, bypassed: f.bypassed, muted: f.muted }); showSwitches(state);
  }
  if (tuning) showPitch(f.tuner);
}

function showPitch(p) {
  const box = $("tuner");
  box.classList.toggle("intune", !!p && Math.abs(p.cents) < 3);
  $("note").textContent = p ? p.note : "–";
  $("hz").textContent = p ? `${p.hz.toFixed(1)} Hz` : "";
  $("needle").style.left = `${50 + (p ? p.cents : 0)}%`;
  $("cents").textContent = p ? `${p.cents > 0 ? "+" : ""}${p.cents.toFixed(1)} cents` : "play a single note";
}

function listen() {
  if (live) live.close();
  live = new EventSource("/api/live" + (tuning ? "?tuner=1" : ""));
  live.onmessage = (e) => onFrame(JSON.parse(e.data));
}

$("bypass").onclick = () => call("/api/bypass", { on: !state.bypassed });
$("tuner-toggle").onclick = () => {
  tuning = !tuning;
  $("tuner").hidden = !tuning; $("tuner-toggle").classList.toggle("on", tuning);
  if (!tuning && state.muted) call("/api/mute", { on: false });
  listen();
};
$("mute").onchange = () => call("/api/mute", { on: $("mute").checked });
$("file").onchange = () => {
  const f = $("file").files[0];
  $("file-name").textContent = f ? f.name : "Choose a .nam or .json file";
  if (f && !$("name").value) $("name").value = f.name.replace(/\.[^.]+$/, "").slice(0, 40);
};
$("target").onchange = () => { $("name").hidden = $("target").value !== ""; };
$("upload").onsubmit = async (e) => {
  e.preventDefault();
  const f = $("file").files[0];
  if (!f) return say("Choose a file first.", "bad");
  if (state.bank && f.size > state.bank.max_upload) return say(`${f.name} is larger than the ${state.bank.max_upload} byte limit.`, "bad");
  const form = new FormData();
  form.append("kind", /\.wav$/i.test(f.name) ? "ir" : "model");
  if ($("target").value !== "") form.append("replace", $("target").value); else form.append("name", $("name").value);
  form.append("file", f);
  say(`Checking ${f.name}…`);
  if (await call("/api/upload", form, true)) { $("upload").reset(); $("file-name").textContent = "Choose a .nam or .json file"; $("name").hidden = false; }
};
$("save").onclick = () => call("/api/save");
$("restart").onclick = async () => {
  if (await call("/api/restart")) setTimeout(function retry() {
    fetch("/api/state").then((r) => r.json()).then((s) => { render(s); listen(); say("Loaded.", "ok"); }).catch(() => setTimeout(retry, 1000));
  }, 3000);
};

function showCapture(c) {
  const running = c.state === "running";
  $("capture-start").disabled = running;
  $("capture-progress").style.clipPath = `inset(0 ${100 - 100 * (c.progress || 0)}% 0 0)`;
  const line = $("capture-result");
  if (running) { line.textContent = `Capturing… ${Math.round(100 * c.progress)}% (the engine is muted)`; line.className = "note-line capture-line"; }
  else if (c.state === "done") { line.textContent = `Take ok: ${c.folder} (round trip ${c.latency_ms} ms)`; line.className = "note-line capture-line ok"; }
  else if (c.state === "failed") { line.textContent = c.error; line.className = "note-line capture-line bad"; }
  if (running) setTimeout(pollCapture, 500);
}

function pollCapture() { fetch("/api/capture").then((r) => r.json()).then(showCapture).catch(() => setTimeout(pollCapture, 1000)); }

$("capture-start").onclick = async () => {
  const c = await call("/api/capture", { seconds: +$("capture-seconds").value, level_dbfs: +$("capture-level").value });
  if (c) showCapture(c);
};

fetch("/api/state").then((r) => r.status === 401 ? (location.href = "/login") : r.json()).then((s) => { if (s) { render(s); listen(); if (s.can_capture) pollCapture(); } });
