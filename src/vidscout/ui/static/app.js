// vidscout web app: talks to the local server only. Every text from the server is set with textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const player = $("player");
let current = null; // the opened video's path

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

function hms(t) {
  const s = Math.floor(t);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

function seek(t) {
  player.currentTime = t;
  player.scrollIntoView({ block: "nearest" });
}

function seekButton(t, label) {
  const b = el("button", { type: "button", class: "seek", text: label || hms(t), title: `Play from ${hms(t)}` });
  b.dataset.t = String(t);
  b.addEventListener("click", () => seek(t));
  return b;
}

function thumb(url, t, alt) {
  const img = el("img", { src: url, alt: alt || `frame at ${hms(t)}`, title: `Play from ${hms(t)}`, loading: "lazy" });
  img.dataset.t = String(t);
  img.addEventListener("click", () => seek(t));
  return img;
}

// POST JSON, then call onEvent for each line of the newline-delimited JSON reply.
async function stream(url, body, onEvent) {
  const reply = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!reply.ok) {
    const problem = await reply.json().catch(() => ({ error: reply.statusText }));
    onEvent({ type: "error", message: problem.error || reply.statusText });
    return;
  }
  const reader = reply.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onEvent(JSON.parse(line));
    }
  }
}

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error muted" : "muted";
  $("status").style.color = isError ? "var(--bad)" : "";
}

async function loadVideos(select) {
  const list = await (await fetch("/api/videos")).json();
  const box = $("video-select");
  box.replaceChildren();
  if (!list.videos.length) box.append(el("option", { value: "", text: `no videos under ${list.allowed.join(", ")}` }));
  for (const v of list.videos) box.append(el("option", { value: v.video, text: v.name }));
  if (select) box.value = select;
}

function progressBar(layer) {
  let row = document.querySelector(`#progress .layer[data-layer="${CSS.escape(layer)}"]`);
  if (!row) {
    row = el("div", { class: "layer", "data-layer": layer }, [
      el("span", { text: layer }), el("progress", { max: 1, value: 0 }), el("span", { class: "pct", text: "0%" }),
    ]);
    $("progress").append(row);
  }
  return row;
}

function renderChapters(chapters) {
  const list = $("chapters");
  list.replaceChildren();
  for (const ch of chapters) {
    const thumbs = el("div", { class: "thumbs" }, ch.thumbs.map((f) => thumb(f.url, f.t_s)));
    list.append(el("li", {}, [seekButton(ch.start_s), el("span", { class: "title", text: ch.title }), thumbs]));
  }
  if (!chapters.length) list.append(el("li", { class: "muted", text: "No chapters." }));
}

async function openVideo(video) {
  if (!video) return;
  $("open-btn").disabled = $("ask-btn").disabled = true;
  $("progress").replaceChildren();
  status("Opening (ingesting if needed)…");
  await stream("/api/open", { video }, (ev) => {
    if (ev.type === "progress") {
      const row = progressBar(ev.layer);
      const frac = ev.total > 0 ? Math.min(1, ev.done / ev.total) : 1;
      row.querySelector("progress").value = frac;
      row.querySelector(".pct").textContent = `${Math.round(frac * 100)}%`;
    } else if (ev.type === "ready") {
      current = ev.video;
      player.src = ev.url;
      renderChapters(ev.chapters);
      status(`${ev.name} · ${hms(ev.duration_s)} · ${ev.chapters.length} chapter${ev.chapters.length === 1 ? "" : "s"}`);
      $("ask-btn").disabled = false;
    } else if (ev.type === "error") {
      status(ev.message, true);
    }
  }).catch((e) => status(String(e), true));
  $("open-btn").disabled = false;
}

async function upload(file) {
  status(`Uploading ${file.name}…`);
  const reply = await fetch(`/api/upload?name=${encodeURIComponent(file.name)}`, { method: "POST", body: file });
  const body = await reply.json();
  if (!reply.ok) return status(body.error, true);
  await loadVideos(body.video);
  await openVideo(body.video);
}

function stepItem(step) {
  const parts = {
    thought: ["thought", step.text],
    tool_call: ["call", `${step.name}(${typeof step.arguments === "string" ? step.arguments : JSON.stringify(step.arguments)})`],
    observation: [step.name, step.text],
    answer: ["answer", step.answer],
    error: ["error", step.message],
  }[step.type] || [step.type, ""];
  const item = el("li", { class: step.type === "error" || step.ok === false ? "error" : "" }, [
    el("span", { class: "kind", text: parts[0] }), document.createTextNode(parts[1] || ""),
  ]);
  item.dataset.type = step.type;
  return item;
}

function renderAnswer(ev) {
  const a = ev.answer;
  $("answer-card").hidden = false;
  $("answer").textContent = a.error ? `No answer: ${a.error}` : (a.option ? `${a.option}. ${a.answer}` : a.answer);
  const badges = [];
  const badge = (text, cls = "") => badges.push(el("span", { class: cls, text }));
  badge(`strategy: ${a.strategy}`);
  if (a.verified === true) badge("verified", "ok");
  else if (a.verified === false) badge("self-check disagreed", "bad");
  else badge("not verified", "warn");
  if (a.forced) badge("forced: no accepted answer within the step budget", "warn");
  if (a.option_source) badge(`option from ${a.option_source}`);
  badge(`${a.steps} tool calls`);
  $("provenance").replaceChildren(...badges);
  if (a.check_reason) $("provenance").append(el("div", { class: "check", text: a.check_reason }));
  $("evidence").replaceChildren(...ev.evidence.map((e) => el("div", { class: "item" }, [
    thumb(e.thumb, e.start_s, `evidence at ${hms(e.start_s)}`),
    seekButton(e.start_s, `${hms(e.start_s)}–${hms(e.end_s)}`),
    el("span", { class: "note", text: e.label.replace(/^\S+\s*/, "") }),
  ])));
}

async function ask() {
  const question = $("question").value.trim();
  if (!current || !question) return;
  const options = $("options").value.split("\n").map((s) => s.trim()).filter(Boolean);
  $("ask-btn").disabled = true;
  $("steps").replaceChildren();
  $("answer-card").hidden = true;
  await stream("/api/ask", { video: current, question, options, strategy: $("strategy").value }, (ev) => {
    if (ev.type === "step") $("steps").append(stepItem(ev.step));
    else if (ev.type === "answer") renderAnswer(ev);
    else if (ev.type === "error") $("steps").append(stepItem({ type: "error", message: ev.message }));
  }).catch((e) => $("steps").append(stepItem({ type: "error", message: String(e) })));
  $("ask-btn").disabled = false;
}

$("open-btn").addEventListener("click", () => openVideo($("video-select").value));
$("upload-input").addEventListener("change", (e) => { if (e.target.files.length) upload(e.target.files[0]); });
$("ask-btn").addEventListener("click", ask);
$("question").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) ask(); });
loadVideos().catch((e) => status(String(e), true));
