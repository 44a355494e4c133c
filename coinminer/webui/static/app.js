// Polls /json once a second and plots the hash rate. Plain canvas, no
// library: the page must work on an offline rack.
"use strict";

const WINDOW_S = 120;   // seconds of history on the chart
const SMOOTH_S = 5;     // the big number averages over this many seconds
const samples = [];     // {now, hashes}: raw counters from /json
const rates = [];       // {now, rate}: per-interval rate, for the chart

const $ = (id) => document.getElementById(id);
const fmt = (n) => n.toLocaleString("en-US");

function rateOver(seconds) {
  if (samples.length < 2) return null;
  const last = samples[samples.length - 1];
  let first = samples[0];
  for (const s of samples) { if (last.now - s.now <= seconds) { first = s; break; } }
  if (first === last) first = samples[samples.length - 2];
  const dt = last.now - first.now;
  return dt > 0 ? (last.hashes - first.hashes) / dt : null;
}

function record(data) {
  const prev = samples[samples.length - 1];
  if (prev && data.hashes < prev.hashes) samples.length = 0;  // counters were reset
  samples.push({ now: data.now, hashes: data.hashes });
  while (samples.length > 2 && data.now - samples[0].now > WINDOW_S + SMOOTH_S) samples.shift();
  // Workers hand in their counts about once a second, out of step with this
  // poll, so the chart plots the smoothed rate rather than jagged deltas.
  const rate = rateOver(SMOOTH_S);
  if (rate !== null) rates.push({ now: data.now, rate });
  while (rates.length && data.now - rates[0].now > WINDOW_S) rates.shift();
}

function show(data) {
  const rate = rateOver(SMOOTH_S);
  if (rate !== null) {
    $("rate").textContent = rate < 100 ? rate.toFixed(1) : fmt(Math.round(rate));
    $("rate").dataset.rate = rate.toFixed(3);
  }
  $("coins").textContent = fmt(data.coins);
  $("hashes").textContent = fmt(data.hashes);
  $("workers").textContent = data.workers === undefined ? "?" : fmt(data.workers);
  const status = $("status");
  status.textContent = "live \u2022 updated " + new Date(data.now * 1000).toLocaleTimeString();
  status.classList.remove("down");
}

function niceStep(v) {
  // The smallest of 1, 2, 5 x 10^k that is >= v: round labels on the axis.
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) { if (m * p >= v) return m * p; }
  return 10 * p;
}

function draw() {
  const canvas = $("chart");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
    canvas.width = w * dpr; canvas.height = h * dpr;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const pad = { l: 70, r: 20, t: 20, b: 34 };
  const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
  const step = niceStep((Math.max(1, ...rates.map((r) => r.rate)) * 1.1) / 4);
  const top = step * 4;
  canvas.dataset.points = String(rates.length);
  const end = rates.length ? rates[rates.length - 1].now : Date.now() / 1000;
  const x = (t) => pad.l + pw * (1 - (end - t) / WINDOW_S);
  const y = (v) => pad.t + ph * (1 - v / top);

  ctx.font = "16px DejaVu Sans, sans-serif";
  ctx.fillStyle = "#8b949e";
  ctx.strokeStyle = "#30363d";
  ctx.lineWidth = 1;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    ctx.beginPath(); ctx.moveTo(pad.l, y(v)); ctx.lineTo(w - pad.r, y(v)); ctx.stroke();
    ctx.fillText(step < 1 ? v.toFixed(1) : fmt(v), pad.l - 8, y(v));
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (let s = 0; s <= WINDOW_S; s += 30) {
    ctx.fillText(s ? `-${s}s` : "now", x(end - s), h - pad.b + 8);
  }
  if (rates.length < 2) return;
  ctx.beginPath();
  rates.forEach((r, i) => (i ? ctx.lineTo(x(r.now), y(r.rate)) : ctx.moveTo(x(r.now), y(r.rate))));
  ctx.strokeStyle = "#f7b32b"; ctx.lineWidth = 3; ctx.lineJoin = "round"; ctx.stroke();
  ctx.lineTo(x(rates[rates.length - 1].now), y(0)); ctx.lineTo(x(rates[0].now), y(0)); ctx.closePath();
  ctx.fillStyle = "rgba(247, 179, 43, 0.15)"; ctx.fill();
}

async function poll() {
  try {
    const resp = await fetch("/json", { cache: "no-store" });
    const data = await resp.json();
    if (!resp.ok) throw new Error(data.error || resp.statusText);
    record(data);
    show(data);
  } catch (err) {
    const status = $("status");
    status.textContent = "no data: " + err.message;
    status.classList.add("down");
  }
  draw();
}

window.addEventListener("resize", draw);
poll();
setInterval(poll, 1000);
