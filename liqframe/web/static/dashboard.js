// The liqframe dashboard: one WebSocket of coalesced frames drives every panel.
// The API key comes from the URL fragment (#key=...), which browsers never send to a server.
"use strict";

const CHANNELS = "book,venue_books,bbo,venues,metrics,balances,orders,fills,events";
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#bab0ac"];
const HISTORY = 600;  // points kept in time charts (a minute at 10 Hz)
const $ = (id) => document.getElementById(id);

Chart.defaults.animation = false;
Chart.defaults.color = "#8b98a5";
Chart.defaults.borderColor = "#243040";
Chart.defaults.maintainAspectRatio = false;

const state = { key: null, asset: null, depth: 25, venues: [], colours: {}, started: null,
  frames: 0, socket: null, retry: 500 };

function colour(venue, alpha) {
  if (!(venue in state.colours)) {
    state.colours[venue] = PALETTE[Object.keys(state.colours).length % PALETTE.length];
  }
  const hex = state.colours[venue];
  if (alpha === undefined) return hex;
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// --- charts ------------------------------------------------------------------------------

const depthChart = new Chart($("depth-chart"), {
  type: "line",
  data: { datasets: [] },
  options: {
    parsing: false, normalized: true,
    interaction: { mode: "nearest", intersect: false },
    scales: { x: { type: "linear", title: { display: true, text: "price" } },
      y: { stacked: true, beginAtZero: true, title: { display: true, text: "cumulative size" } } },
    plugins: { legend: { labels: { filter: (item, data) =>
      data.datasets[item.datasetIndex].side === "bids" } } },
    elements: { point: { radius: 0 }, line: { borderWidth: 1 } },
  },
});

function timeChart(canvas, axes) {
  return new Chart(canvas, {
    type: "line", data: { datasets: [] },
    options: { parsing: false, normalized: true, elements: { point: { radius: 0 } },
      scales: { x: { type: "linear", title: { display: true, text: "seconds" } }, ...axes } },
  });
}

const spreadChart = timeChart($("spread-chart"), {
  y: { position: "left", title: { display: true, text: "mid" } },
  y1: { position: "right", grid: { drawOnChartArea: false },
    title: { display: true, text: "spread" } },
});
spreadChart.data.datasets = [
  { label: "mid", data: [], borderColor: "#4e79a7", yAxisID: "y" },
  { label: "spread", data: [], borderColor: "#f28e2b", yAxisID: "y1", stepped: true },
];
const pnlChart = timeChart($("pnl-chart"), { y: { title: { display: true, text: "PnL" } } });

const volumeChart = new Chart($("volume-chart"), {
  type: "bar", data: { labels: [], datasets: [
    { label: "volume (base)", data: [], backgroundColor: "#4e79a7", yAxisID: "y" },
    { label: "fees", data: [], backgroundColor: "#e15759", yAxisID: "y1" },
    { label: "realised PnL", data: [], backgroundColor: "#59a14f", yAxisID: "y1" }] },
  options: { scales: { y: { position: "left", title: { display: true, text: "base" } },
    y1: { position: "right", grid: { drawOnChartArea: false },
      title: { display: true, text: "quote" } } } },
});
const inventoryChart = new Chart($("inventory-chart"), {
  type: "bar", data: { labels: [], datasets: [
    { label: "inventory (base)", data: [], backgroundColor: [] }] },
  options: { plugins: { legend: { display: false } } },
});

// --- frames -> panels ----------------------------------------------------------------------

function seconds(tsNs) {
  if (state.started === null) state.started = tsNs;
  return (tsNs - state.started) / 1e9;
}

function push(series, point) {
  series.push(point);
  if (series.length > HISTORY) series.splice(0, series.length - HISTORY);
}

// Cumulative size per venue from the touch outwards; one stacked dataset per venue and side.
function depthSeries(book) {
  const venues = state.venues.length ? state.venues : [];
  const series = {};
  for (const side of ["bids", "asks"]) {
    const levels = book[side];
    const cumulative = Object.fromEntries(venues.map((v) => [v, 0]));
    const points = Object.fromEntries(venues.map((v) => [v, []]));
    for (const level of levels) {
      const price = Number(level.price);
      for (const venue of venues) {
        cumulative[venue] += Number(level.venues[venue] || 0);
        points[venue].push({ x: price, y: cumulative[venue] });
      }
    }
    for (const venue of venues) {
      if (side === "bids") points[venue].reverse();
      series[`${venue} ${side}`] = { venue, side, data: points[venue] };
    }
  }
  return series;
}

function drawDepth(book) {
  const series = depthSeries(book);
  const existing = Object.fromEntries(depthChart.data.datasets.map((d) => [d.key, d]));
  depthChart.data.datasets = Object.entries(series).map(([key, s]) => {
    const dataset = existing[key] || { key, label: s.venue, venue: s.venue, side: s.side,
      stack: s.side, fill: "stack", stepped: s.side === "bids" ? "after" : "before",
      borderColor: colour(s.venue), backgroundColor: colour(s.venue, s.side === "bids" ? 0.55
        : 0.35) };
    dataset.data = s.data;
    return dataset;
  });
  depthChart.update("none");
  const drawn = new Set(depthChart.data.datasets.filter((d) => d.data.some((p) => p.y > 0))
    .map((d) => d.venue));
  $("depth-chart").dataset.venues = [...drawn].sort().join(",");
}

function drawSpread(bbo, t) {
  const book = bbo.consolidated[state.asset];
  if (!book || book.bid === null || book.ask === null) return;
  push(spreadChart.data.datasets[0].data, { x: t, y: Number(book.mid) });
  push(spreadChart.data.datasets[1].data, { x: t, y: Number(book.ask) - Number(book.bid) });
  spreadChart.update("none");
}

function drawMetrics(metrics, t) {
  const rows = metrics.venues;
  volumeChart.data.labels = rows.map((r) => `${r.venue} ${r.symbol}`);
  volumeChart.data.datasets[0].data = rows.map((r) => Number(r.volume));
  volumeChart.data.datasets[1].data = rows.map((r) => r.fees);
  volumeChart.data.datasets[2].data = rows.map((r) => r.realised);
  volumeChart.update("none");
  for (const [currency, totals] of Object.entries(metrics.totals)) {
    let dataset = pnlChart.data.datasets.find((d) => d.label === currency);
    if (!dataset) {
      dataset = { label: currency, data: [],
        borderColor: PALETTE[(pnlChart.data.datasets.length + 4) % PALETTE.length] };
      pnlChart.data.datasets.push(dataset);
    }
    push(dataset.data, { x: t, y: totals.pnl });
  }
  pnlChart.update("none");
  const body = $("health").tBodies[0];
  body.replaceChildren(...rows.map((r) => row([
    r.venue, r.symbol, [r.status + (r.ready ? "" : r.status === "up" ? " (sync)" : ""),
      r.status === "up" ? (r.ready ? "up" : "warn") : "down"],
    r.lag_ms === null ? "-" : r.lag_ms.toFixed(1), r.gaps, r.resyncs, r.weight.toFixed(2),
    r.position, money(r.exposure), r.open_orders, r.fills, money(r.fees),
    [money(r.realised), r.realised < 0 ? "down" : "up"], [money(r.pnl), r.pnl < 0 ? "down" : "up"],
  ])));
  $("run").textContent = `run ${metrics.run_id} · ${metrics.elapsed_s.toFixed(0)} s · ` +
    `${metrics.orders.open} open orders · ${metrics.orders.sent} sent · ` +
    `${metrics.crossings} crossings`;
}

function drawBalances(balances) {
  const base = state.asset;
  const rows = balances.filter((b) => b.asset === base);
  inventoryChart.data.labels = rows.map((b) => b.venue);
  inventoryChart.data.datasets[0].data = rows.map((b) => Number(b.total));
  inventoryChart.data.datasets[0].backgroundColor = rows.map((b) => colour(b.venue));
  inventoryChart.update("none");
}

function drawVenueBooks(books) {
  const container = $("venue-books");
  container.replaceChildren(...books.map((book) => {
    const div = document.createElement("div");
    const title = document.createElement("h3");
    title.textContent = `${book.venue} ${book.symbol}` + (book.stale ? " (stale)" : "");
    title.style.color = colour(book.venue);
    const table = document.createElement("table");
    const rows = [];
    for (let i = 0; i < 5; i += 1) {
      const bid = book.bids[i] || ["", ""];
      const ask = book.asks[i] || ["", ""];
      rows.push(row([[bid[1], "bid"], [bid[0], "bid"], [ask[0], "ask"], [ask[1], "ask"]]));
    }
    table.replaceChildren(...rows);
    div.replaceChildren(title, table);
    return div;
  }));
}

function drawEvents(events) {
  const list = $("events");
  for (const event of events) {
    const item = document.createElement("li");
    item.className = event.kind;
    const time = new Date(event.ts_ns / 1e6).toLocaleTimeString();
    item.textContent = `${time} ${event.kind}: ${event.message}`;
    list.prepend(item);
  }
  while (list.children.length > 200) list.lastChild.remove();
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    const [text, cls] = Array.isArray(cell) ? cell : [cell, ""];
    td.textContent = text;
    if (cls) td.className = cls;
    tr.append(td);
  }
  return tr;
}

function money(value) {
  return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function onFrame(frame) {
  state.frames += 1;
  const t = seconds(frame.ts_ns);
  if (frame.venues) {
    state.venues = [...new Set(frame.venues.map((v) => v.venue))];
    state.venues.forEach((v) => colour(v));
  }
  if (frame.book) {
    const select = $("asset");
    const assets = Object.keys(frame.book);
    if (select.options.length !== assets.length) {
      select.replaceChildren(...assets.map((a) => new Option(a, a)));
    }
    state.asset = state.asset && assets.includes(state.asset) ? state.asset : assets[0];
    select.value = state.asset;
    drawDepth(frame.book[state.asset]);
  }
  if (frame.bbo) drawSpread(frame.bbo, t);
  if (frame.metrics) drawMetrics(frame.metrics, t);
  if (frame.balances) drawBalances(frame.balances);
  if (frame.venue_books) drawVenueBooks(frame.venue_books);
  if (frame.events) drawEvents(frame.events);
  document.body.dataset.frames = String(state.frames);
}

// --- connection --------------------------------------------------------------------------

function setStatus(text, which) {
  const status = $("status");
  status.textContent = text;
  status.dataset.state = which;
}

async function start() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  state.key = fragment.get("key") || sessionStorage.getItem("liqframe-key");
  if (!state.key) {
    askForKey("");
    return;
  }
  const answer = await fetch("api/tier", { headers: { "X-API-Key": state.key } });
  if (!answer.ok) {
    askForKey((await answer.json()).error);
    return;
  }
  const tier = await answer.json();
  sessionStorage.setItem("liqframe-key", state.key);
  state.depth = Math.min(state.depth, tier.depth);
  $("tier").textContent = `tier ${tier.name}` +
    (tier.min_size !== "0" ? ` (levels of at least ${tier.min_size})` : "");
  connect();
}

function askForKey(problem) {
  sessionStorage.removeItem("liqframe-key");
  setStatus("no key", "closed");
  $("key-form").hidden = false;
  $("key-problem").textContent = problem;
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  location.hash = `key=${encodeURIComponent($("key-input").value)}`;
  $("key-form").hidden = true;
  start();
});

$("asset").addEventListener("change", (event) => { state.asset = event.target.value; });

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ key: state.key, channels: CHANNELS, depth: state.depth });
  const base = location.pathname.replace(/[^/]*$/, "");
  const socket = new WebSocket(`${scheme}://${location.host}${base}api/ws?${query}`);
  state.socket = socket;
  socket.binaryType = "arraybuffer";
  const decoder = new TextDecoder();
  socket.onopen = () => { setStatus("live", "live"); state.retry = 500; };
  socket.onmessage = (message) => {
    const data = typeof message.data === "string" ? message.data : decoder.decode(message.data);
    const frame = JSON.parse(data);
    if (frame.type === "frame") onFrame(frame);
  };
  socket.onclose = (event) => {
    setStatus(`disconnected${event.reason ? ": " + event.reason : ""}; retrying`, "closed");
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 10000);
  };
}

window.liqframe = { state, charts: { depth: depthChart, spread: spreadChart, pnl: pnlChart,
  volume: volumeChart, inventory: inventoryChart } };
start();
