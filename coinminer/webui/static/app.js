// Opens with the server's last two minutes of rates (/history), then polls
// /json once a second. The server fits the rate (webui/app.py): the page
// shows it as it comes, so the big number and the chart are right from the
// first poll and every open page shows the same figure. Plain canvas, no
// library: the page must work on an offline rack.
"use strict";

const WINDOW_S = 120;   // seconds of history on the chart
let rates = [];         // {now, rate}: the server's rate at each point
let polls = 0;

const $ = (id) => document.getElementById(id);
const fmt = (n) => n.toLocaleString("en-US");

function record(data) {
  if (typeof data.rate === "number") rates.push({ now: data.now, rate: data.rate });
  while (rates.length && data.now - rates[0].now > WINDOW_S) rates.shift();
}

function show(data) {
  const rate = $("rate");
  if (typeof data.rate === "number") {
    rate.textContent = data.rate < 100 ? data.rate.toFixed(1) : fmt(Math.round(data.rate));
    rate.dataset.rate = data.rate.toFixed(3);
  } else {  // a web UI too fresh to know its rate (ten seconds)
    rate.textContent = "\u2013";
    delete rate.dataset.rate;
  }
  $("coins").textContent = fmt(data.coins);
  $("hashes").textContent = fmt(data.hashes);
  $("workers").textContent = data.workers === undefined ? "?" : fmt(data.workers);
  const status = $("status");
  status.textContent = "live \u2022 updated " + new Date(data.now * 1000).toLocaleTimeString();
  status.classList.remove("down");
}

async function getJSON(path) {
  const resp = await fetch(path, { cache: "no-store" });
  const data = await resp.json();
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
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
    const data = await getJSON("/json");
    record(data);
    show(data);
  } catch (err) {
    const status = $("status");
    status.textContent = "no data: " + err.message;
    status.classList.add("down");
  }
  document.body.dataset.polls = String(++polls);
  draw();
}

async function start() {
  try {
    rates = (await getJSON("/history")).rates.map(([now, rate]) => ({ now, rate }));
  } catch (err) {
    // The chart fills from the polls instead; poll() says if /json fails too.
  }
  await poll();
  setInterval(poll, 1000);
}

window.addEventListener("resize", draw);
start();
