// alphaforge live dashboard: plain JS over the service's REST API and /ws/signals.
// The API key is kept in sessionStorage (this tab only) and sent as X-API-Key.
"use strict";

const ROOT = location.pathname.replace(/dashboard\/?[^/]*$/, "");
const KEY_SLOT = "alphaforge.apiKey";
const OPEN_ORDER_STATES = new Set(["pending", "sent", "placed", "unknown"]);
const REFRESH_MS = 3000;
const state = { symbols: [], equity: [], probs: {}, ws: null, timer: null };

const $ = (id) => document.getElementById(id);
const key = () => sessionStorage.getItem(KEY_SLOT);
const num = (v, d = 2) => (v === null || v === undefined ? "" : Number(v).toLocaleString(undefined,
  { minimumFractionDigits: d, maximumFractionDigits: d }));
const when = (t) => (t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) : "");

class ApiError extends Error {
  constructor(status, detail) { super(`${status}: ${detail}`); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json" };
  if (key()) headers["X-API-Key"] = key();
  const resp = await fetch(ROOT + path, { ...options, headers });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(resp.status, body.detail || resp.statusText);
  return body;
}

function showError(text) {
  $("error").hidden = !text;
  $("error").textContent = text || "";
}

function fill(id, rows, cells) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    for (const [text, cls] of cells(row)) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    return tr;
  }));
  if (!rows.length) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td class="muted" colspan="${$(id).querySelectorAll("th").length}">none</td>`;
    body.appendChild(tr);
  }
}

function definitions(id, pairs) {
  $(id).replaceChildren(...pairs.flatMap(([k, v, cls]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v; if (cls) dd.className = cls;
    return [dt, dd];
  }));
}

const sideClass = (s) => (s === "buy" || s === "long" ? "long" : "short");
const signClass = (v) => (v > 0 ? "pos" : v < 0 ? "neg" : "");
const signalText = (s) => (s > 0 ? "long" : s < 0 ? "short" : "flat");

function banner(health, account) {
  const parts = [];
  if (health && health.banner) parts.push(health.banner);
  if (account && account.trading_halted) parts.push(`Kill switch engaged: ${account.trading_halted}`);
  $("banner").hidden = !parts.length;
  $("banner").textContent = parts.join(" — ");
  $("banner").className = account && account.trading_halted ? "halted" : "";
}

function drawLines(canvas, series, band) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const all = Object.values(series).flat();
  if (!all.length) return;
  let lo = band ? band[0] : Math.min(...all), hi = band ? band[1] : Math.max(...all);
  if (hi === lo) { hi += 1; lo -= 1; }
  const colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];
  Object.entries(series).forEach(([name, ys], i) => {
    ctx.strokeStyle = colours[i % colours.length];
    ctx.beginPath();
    ys.forEach((y, j) => {
      const x = ys.length > 1 ? (j / (ys.length - 1)) * (w - 2) + 1 : w / 2;
      const py = h - 2 - ((y - lo) / (hi - lo)) * (h - 4);
      if (j) ctx.lineTo(x, py); else ctx.moveTo(x, py);
    });
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(name, 4, 12 + 12 * i);
  });
}

async function refreshSignals() {
  const latest = [];
  for (const symbol of state.symbols) {
    try {
      latest.push(await api(`api/v1/signals/${symbol}`));
    } catch (err) {
      if (err.status === 401 || err.status === 403) throw err;
      latest.push({ symbol, signal: null, prob_up: null, features_ts: null, model_version: err.message });
    }
    if (!state.probs[symbol]) {
      const hist = await api(`api/v1/signals/${symbol}/history?limit=300`);
      state.probs[symbol] = hist.map((s) => s.prob_up);
    }
  }
  fill("signals", latest, (s) => [[s.symbol], [s.signal === null ? "warming up" : signalText(s.signal),
    s.signal > 0 ? "long" : s.signal < 0 ? "short" : ""], [s.prob_up === null ? "" : num(s.prob_up, 4)],
    [when(s.features_ts)], [s.model_version]]);
  drawLines($("prob-chart"), state.probs, [0, 1]);
}

async function refresh() {
  try {
    const [health, ready] = await Promise.all([api("health"), fetch(ROOT + "ready").then((r) => r.json())]);
    state.symbols = health.symbols;
    $("model").textContent = health.mode === "signals-only"
      ? `${health.model_name} v${health.model_version} (newest, no @${health.model_alias}) · signals only`
      : `${health.model_name} v${health.model_version} @${health.model_alias} · trading`;
    if (!key()) { banner(health, null); showError("Enter an API key to see signals, positions and orders."); return; }
    const [account, open, closed, orders] = await Promise.all([
      api("api/v1/account"), api("api/v1/positions?state=open"), api("api/v1/positions?state=closed"),
      api("api/v1/orders?limit=200")]);
    showError("");
    banner(health, account);
    // Non-admins get their own P&L only (scope "user"): the desk's balance is not shown to them.
    const floating = account.scope === "desk" ? account.equity - account.balance : null;
    definitions("account", [["broker", account.broker], ["currency", account.currency],
      ["balance", num(account.balance)], ["equity", num(account.equity)],
      ["floating P&L", num(floating), signClass(floating)], ["today's P&L", num(account.daily_pnl), signClass(account.daily_pnl)],
      ["margin", num(account.margin)],
      ["realised (closed shown)", num(closed.reduce((a, p) => a + (p.realized_pnl || 0), 0))]]);
    if (account.scope === "desk") state.equity.push(account.equity);
    if (state.equity.length > 600) state.equity.shift();
    drawLines($("equity-chart"), { equity: state.equity });
    const working = orders.filter((o) => OPEN_ORDER_STATES.has(o.status));
    definitions("risk", [["trading", account.trading_halted ? `halted: ${account.trading_halted}` : (health.trading_enabled === false ? "refused (signals only)" : "allowed"),
      account.trading_halted || health.trading_enabled === false ? "neg" : "pos"],
      ["ready", ready.ready ? "yes" : "no", ready.ready ? "pos" : "neg"],
      ...Object.entries(ready.checks || {}).map(([k, v]) => [`  ${k}`, v ? "ok" : "failing", v ? "" : "neg"]),
      ["open positions", String(open.length)], ["working orders", String(working.length)],
      ["exposure (lots)", num(open.reduce((a, p) => a + p.volume, 0) + working.reduce((a, o) => a + o.volume, 0))]]);
    fill("positions", open, (p) => [[p.id], [p.symbol], [p.side, sideClass(p.side)], [num(p.volume)],
      [num(p.open_price, 5)], [num(p.sl, 5)], [num(p.tp, 5)], [when(p.opened_at)]]);
    fill("orders", working, (o) => [[o.id], [o.client_order_id], [o.symbol], [o.side, sideClass(o.side)],
      [o.type], [num(o.volume)], [num(o.price, 5)], [o.status], [when(o.created_at)]]);
    fill("closed", closed.slice(-20).reverse(), (p) => [[p.id], [p.symbol], [p.side, sideClass(p.side)],
      [num(p.volume)], [num(p.open_price, 5)], [when(p.closed_at)], [num(p.realized_pnl), signClass(p.realized_pnl)]]);
    await refreshSignals();
    connectSocket();
  } catch (err) {
    showError(err.status === 401 ? "The API key was refused (401)." : `Refresh failed: ${err.message}`);
  }
}

function addEvent(text) {
  const li = document.createElement("li");
  li.textContent = text;
  $("events").prepend(li);
  while ($("events").children.length > 50) $("events").lastChild.remove();
}

function connectSocket() {
  if (state.ws || !key()) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}${ROOT}ws/signals?api_key=${encodeURIComponent(key())}`);
  state.ws = ws;
  ws.onmessage = (msg) => {
    const ev = JSON.parse(msg.data);
    addEvent(`${new Date().toISOString().slice(11, 19)} ${ev.type} ${JSON.stringify(ev)}`);
    if (ev.type === "signal") {
      (state.probs[ev.symbol] = state.probs[ev.symbol] || []).push(ev.prob_up);
      if (state.probs[ev.symbol].length > 300) state.probs[ev.symbol].shift();
    }
  };
  ws.onclose = (ev) => {
    state.ws = null;
    addEvent(`socket closed (${ev.code}${ev.reason ? ": " + ev.reason : ""})`);
  };
}

async function admin(path, body) {
  try {
    const out = await api(path, { method: "POST", body: JSON.stringify(body || {}) });
    $("kill-result").textContent = JSON.stringify(out);
  } catch (err) {
    $("kill-result").textContent = err.status === 403 ? "Refused: the kill switch needs an admin key." : err.message;
  }
  refresh();
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  if ($("key").value) sessionStorage.setItem(KEY_SLOT, $("key").value);
  $("key").value = "";
  if (state.ws) state.ws.close();
  refresh();
});
$("logout").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_SLOT);
  if (state.ws) state.ws.close();
  location.reload();
});
$("kill").addEventListener("click", () =>
  admin("admin/kill", { reason: $("kill-reason").value || "dashboard", flatten: $("kill-flatten").checked }));
$("resume").addEventListener("click", () => admin("admin/resume"));

refresh();
state.timer = setInterval(refresh, REFRESH_MS);
