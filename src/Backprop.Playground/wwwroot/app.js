// Backprop playground page. The server trains (Backprop's engine); this script only draws and sends settings.
// The whole setup lives in the URL hash, so a link restores it.
"use strict";

const FEATURES = [
  ["x1", "x₁", (a, b) => a], ["x2", "x₂", (a, b) => b], ["x1sq", "x₁²", (a, b) => a * a], ["x2sq", "x₂²", (a, b) => b * b],
  ["x1x2", "x₁x₂", (a, b) => a * b], ["sinx1", "sin x₁", (a, b) => Math.sin(a)], ["sinx2", "sin x₂", (a, b) => Math.sin(b)],
];
const ACTIVATIONS = ["tanh", "relu", "sigmoid", "linear"];
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5];
const EXTENT = 6;
const MAX_LAYERS = 8, MAX_NEURONS = 32;

const state = {
  config: null,      // the server's config for this session
  session: null,     // session id
  mode: "train",
  playing: false,
  frame: null,
  points: { train: [], test: [] },
  history: [],       // [step, train loss, test loss]
  fps: 0,
  showTest: false,
  speed: 25,
};
window.playground = state;   // read by the browser tests

const $ = (id) => document.getElementById(id);

// ---------- API ----------

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function showError(e) {
  const box = $("error");
  if (!e) { box.hidden = true; return; }
  box.textContent = String(e.message || e);
  box.hidden = false;
}

// ---------- URL hash ----------

function configToHash(c, mode) {
  const p = new URLSearchParams();
  p.set("dataset", c.dataset); p.set("noise", Math.round(c.noise * 100)); p.set("ratio", Math.round(c.trainRatio * 100));
  p.set("batch", c.batchSize); p.set("points", c.points); p.set("features", c.features.join(","));
  // A layer is neurons:activation, then ":r" for a residual connection and ":d<rate>" for dropout.
  p.set("layers", c.layers.map((l) => `${l.neurons}:${l.activation}${l.residual ? ":r" : ""}${l.dropout ? ":d" + l.dropout : ""}`).join(","));
  if (c.plot[0] !== 0 || c.plot[1] !== 1) p.set("plot", c.plot.join(","));
  p.set("lr", c.learningRate); p.set("opt", c.optimizer); p.set("reg", c.regularization); p.set("regRate", c.regularizationRate);
  p.set("init", c.init); p.set("seed", c.seed);
  if (mode && mode !== "train") p.set("mode", mode);
  if (state.showTest) p.set("showTest", "1");
  return "#" + p.toString();
}

// Reads the hash into a config for the server; fields that are absent stay at the server's defaults, and the server
// refuses bad values with a message the page shows.
function hashToConfig(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  const c = {};
  const num = (k) => Number(p.get(k));
  if (p.has("dataset")) c.dataset = p.get("dataset");
  if (p.has("noise")) c.noise = num("noise") / 100;
  if (p.has("ratio")) c.trainRatio = num("ratio") / 100;
  if (p.has("batch")) c.batchSize = num("batch");
  if (p.has("points")) c.points = num("points");
  if (p.has("features")) c.features = p.get("features").split(",").filter((f) => f);
  // Links made before dropout was per layer carry one rate, drop=, for every layer: it restores as that rate on each
  // layer that does not give its own.
  const oldDrop = p.has("drop") ? num("drop") : 0;
  if (p.has("layers")) c.layers = p.get("layers") === "" ? [] : p.get("layers").split(",").map((s) => {
    const [n, a, ...flags] = s.split(":");
    const d = flags.find((f) => f.startsWith("d"));
    return { neurons: Number(n), activation: a || "tanh", residual: flags.includes("r"), dropout: d ? Number(d.slice(1)) : oldDrop };
  });
  if (p.has("plot")) c.plot = p.get("plot").split(",").map(Number);
  if (p.has("lr")) c.learningRate = num("lr");
  if (p.has("opt")) c.optimizer = p.get("opt");
  if (p.has("reg")) c.regularization = p.get("reg");
  if (p.has("regRate")) c.regularizationRate = num("regRate");
  if (p.has("init")) c.init = p.get("init");
  if (p.has("seed")) c.seed = num("seed");
  return { config: c, mode: p.get("mode") || "train", showTest: p.get("showTest") === "1" };
}

function updateHash() {
  if (!state.config) return;
  const hash = configToHash(state.config, state.mode);
  history.replaceState(null, "", hash);
  $("share-url").value = location.href;
}

// ---------- sessions ----------

async function createSession(config) {
  const frame = await api("POST", "/api/sessions", config);
  state.session = frame.id;
  acceptFrame(frame, true);
}

// The user's CSV becomes this session's data (dataset "csv"); the server answers with the new frame or says which
// lines are bad. The file is not part of the URL: a link carries the settings only.
async function uploadCsv(file) {
  const text = await file.text();
  const response = await fetch(`/api/sessions/${state.session}/data?task=${$("csv-task").value}`, {
    method: "POST", headers: { "Content-Type": "text/csv" }, body: text,
  });
  const data = await response.json();
  if (!response.ok) { showError(`${file.name}: ${data.error}`); return; }
  showError(null);
  setPlaying(false);
  state.csvName = file.name;
  state.history = [];
  acceptFrame(data, true);
}

// A new run under a changed config: the server rebuilds data, network and optimizer.
async function reconfigure(changes) {
  const config = { ...state.config, ...changes };
  try {
    const frame = await api("PUT", `/api/sessions/${state.session}/config`, config);
    showError(null);
    state.history = [];
    acceptFrame(frame, true);
  } catch (e) {
    if (/no session/.test(e.message)) { await createSession(config); return; }
    showError(e);
    syncControls();
  }
}

function acceptFrame(frame, full) {
  // The diagram is laid out again when the network's shape changed (a streamed frame may be the first to show it).
  const shape = (f) => f && f.weights.map((W) => `${W.length}x${W[0].length}`).join(",");
  const relayout = full || shape(frame) !== shape(state.frame);
  state.frame = frame;
  state.config = frame.config;
  if (relayout) {
    if (frame.train) state.points = { train: frame.train, test: frame.test };
    syncControls();
    layoutNetwork();
    updateHash();
  }
  if (frame.trainLoss !== null && frame.testLoss !== null) {
    const last = state.history[state.history.length - 1];
    if (!last || last[0] !== frame.step) state.history.push([frame.step, frame.trainLoss, frame.testLoss]);
    if (state.history.length > 600) state.history = state.history.filter((_, i) => i % 2 === 0);
  }
  render();
}

// ---------- training loop ----------

let frameCount = 0, fpsSince = performance.now();
let source = null;   // the server-sent event stream while playing

// Playing listens to the session's event stream: the server trains state.speed steps per event and sends the frame.
function openStream() {
  closeStream();
  const es = new EventSource(`/api/sessions/${state.session}/events?steps=${state.speed}`);
  source = es;
  state.streamEvents = 0;
  es.onmessage = (e) => {
    if (source !== es) return;
    const reply = JSON.parse(e.data);
    state.streamEvents++;
    acceptFrame(reply.frame, false);
    frameCount++;
    const now = performance.now();
    if (now - fpsSince >= 1000) {
      state.fps = frameCount * 1000 / (now - fpsSince);
      $("fps").textContent = state.fps.toFixed(1);
      frameCount = 0; fpsSince = now;
    }
  };
  // The stream ends with an "error" event carrying {"error", "status"} when the session has gone; a refused or
  // broken connection fires a plain error event.
  es.addEventListener("error", async (e) => {
    if (source !== es) return;
    closeStream();
    let message = e.data ? JSON.parse(e.data).error : null;
    if (!message) {
      try { await api("GET", `/api/sessions/${state.session}`); message = "the event stream broke off"; } catch (e2) { message = e2.message; }
    }
    if (/no session/.test(message) && state.playing) {
      // The server dropped this tab's idle session: start again from the same setup (the URL's).
      try { state.history = []; await createSession(state.config); openStream(); return; } catch (e3) { message = e3.message; }
    }
    showError(message);
    setPlaying(false);
  });
}

function closeStream() {
  if (source) source.close();
  source = null;
}

function setPlaying(on) {
  state.playing = on;
  $("play").textContent = on ? "❚❚ Pause" : "▶ Play";
  if (on) { frameCount = 0; fpsSince = performance.now(); openStream(); } else closeStream();
}

// ---------- drawing ----------

// Diverging colour scale: −1 orange, 0 white, +1 blue (the colours of the reference page).
function colour(v) {
  const t = Math.max(-1, Math.min(1, v));
  const neg = [245, 147, 34], pos = [8, 119, 189], white = [255, 255, 255];
  const c = t < 0 ? neg : pos, a = Math.abs(t);
  return [0, 1, 2].map((i) => Math.round(white[i] + (c[i] - white[i]) * a));
}

// One colour per class: the reference page's orange and blue for two classes, then six more for up to eight.
const CLASS_COLOURS = [[245, 147, 34], [8, 119, 189], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75], [227, 119, 194], [23, 190, 207]];

// The colour of class k at strength a in [0, 1] (0 white).
function classColour(k, a) {
  const c = CLASS_COLOURS[k % CLASS_COLOURS.length];
  return [0, 1, 2].map((i) => Math.round(255 + (c[i] - 255) * Math.max(0, Math.min(1, a))));
}

// A point's fill: by class index (K ≥ 3 classes), else by its ±1 label or regression target on the diverging scale.
function pointColour(label) {
  return state.frame.task.kind === "classes" ? `rgb(${classColour(label, 1)})` : css(label);
}

function css(v, alpha) { const c = colour(v); return alpha === undefined ? `rgb(${c})` : `rgba(${c},${alpha})`; }

// Draws res×res values in [−100, 100] (row 0 at the top) onto a canvas, scaled to fill it; colourOf maps a cell
// index to its colour (default: the diverging scale of the value).
function drawHeatmap(canvas, values, res, colourOf) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(res, res);
  for (let i = 0; i < res * res; i++) {
    const c = colourOf ? colourOf(i) : colour(values[i] / 100);
    image.data[4 * i] = c[0]; image.data[4 * i + 1] = c[1]; image.data[4 * i + 2] = c[2]; image.data[4 * i + 3] = 255;
  }
  const off = drawHeatmap.buffer || (drawHeatmap.buffer = document.createElement("canvas"));
  off.width = res; off.height = res;
  off.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

// The heatmap of an input feature over the picture, computed here (no network involved).
function featureValues(f, res) {
  const values = new Array(res * res);
  const plot = state.config.plot;
  let max = 0;
  for (let r = 0; r < res; r++) for (let c = 0; c < res; c++) {
    const at = [];
    at[plot[0]] = -EXTENT + (c + 0.5) * 2 * EXTENT / res; at[plot[1]] = EXTENT - (r + 0.5) * 2 * EXTENT / res;
    const v = f(at[0], at[1]);
    values[r * res + c] = v;
    max = Math.max(max, Math.abs(v));
  }
  return values.map((v) => 100 * v / (max || 1));
}

// The names of the data's input columns: x1, x2 for the generated sets, the CSV's feature columns for an upload.
function columnNames() {
  const csv = state.frame && state.frame.csv;
  return csv ? csv.columns.slice(0, -1) : ["x1", "x2"];
}

// Column j of an upload over the picture on the scale −6..6: the across or up coordinate, or its mean (scaled as the
// server scales it, onto −5..5) when it is not plotted.
function columnValues(j, res) {
  const csv = state.frame.csv, plot = state.config.plot, [lo, hi] = csv.ranges[j];
  const mean = hi > lo ? ((csv.means[j] - lo) / (hi - lo) * 2 - 1) * 5 : 0;
  const values = new Array(res * res);
  for (let r = 0; r < res; r++) for (let c = 0; c < res; c++) {
    const v = plot[0] === j ? -EXTENT + (c + 0.5) * 2 * EXTENT / res : plot[1] === j ? EXTENT - (r + 0.5) * 2 * EXTENT / res : mean;
    values[r * res + c] = 100 * v / EXTENT;
  }
  return values;
}

function drawOutput() {
  const frame = state.frame;
  const canvas = $("output");
  // The background is drawn paler than the points (two thirds of the colour), so a point stays visible on a
  // region of its own class.
  if (frame.task.kind === "classes") {
    // Each cell: the predicted class's colour, stronger where its probability is higher (1/K is white).
    const k = frame.task.classes.length;
    drawHeatmap(canvas, frame.output, frame.outputResolution,
      (i) => classColour(frame.outputClass[i], 0.66 * (frame.output[i] / 100 - 1 / k) / (1 - 1 / k)));
  } else drawHeatmap(canvas, frame.output.map((v) => v * 0.66), frame.outputResolution);
  const ctx = canvas.getContext("2d");
  const scale = canvas.width / (2 * EXTENT);
  const sets = state.showTest ? [["train", false], ["test", true]] : [["train", false]];
  for (const [name, isTest] of sets) {
    for (const [x, y, label] of state.points[name]) {
      ctx.beginPath();
      ctx.arc((x + EXTENT) * scale, (EXTENT - y) * scale, 3, 0, 2 * Math.PI);
      ctx.fillStyle = pointColour(label);
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = isTest ? "#000" : "#fff";
      ctx.stroke();
    }
  }
}

function drawLossChart() {
  const canvas = $("loss-chart"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const h = state.history;
  if (h.length < 2) return;
  const max = Math.max(...h.map((e) => Math.max(e[1], e[2])), 1e-6);
  for (const [index, colourName] of [[1, "#999"], [2, "#000"]]) {
    ctx.beginPath();
    h.forEach((e, i) => {
      const x = i / (h.length - 1) * canvas.width, y = canvas.height - e[index] / max * (canvas.height - 2);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.strokeStyle = colourName; ctx.lineWidth = 1.5; ctx.stroke();
  }
}

function fmtLoss(v) { return v === null ? "diverged" : v.toFixed(3); }

function render() {
  const f = state.frame;
  if (!f) return;
  $("step-count").textContent = f.step;
  $("epoch-count").textContent = f.epoch.toFixed(1);
  $("test-loss").textContent = fmtLoss(f.testLoss);
  $("train-loss").textContent = fmtLoss(f.trainLoss);
  $("accuracy").hidden = f.testAccuracy === null;
  if (f.testAccuracy !== null) $("test-acc").textContent = (100 * f.testAccuracy).toFixed(1) + "%";
  if (state.mode !== "train") return;
  drawOutput();
  drawLossChart();
  const classes = f.task.kind === "classes", last = f.neurons.length - 1;
  f.neurons.forEach((layer, l) => layer.forEach((values, j) => {
    const canvas = document.getElementById(l === last ? `n-out-${j}` : `n-${l}-${j}`);
    // A class's output heatmap is its probability, white (0) to the class's colour (1).
    if (canvas) drawHeatmap(canvas, values, f.neuronResolution, classes && l === last ? (i) => classColour(j, values[i] / 100) : undefined);
  }));
  drawLinks();
}

// ---------- network diagram ----------

let geometry = null;   // node positions, rebuilt when the architecture changes

function layoutNetwork() {
  const c = state.config;
  const net = $("network");
  net.querySelectorAll(".node, .feature-label, .layer-head").forEach((e) => e.remove());
  const names = columnNames();
  const columns = [names.length > 2 ? names.length : FEATURES.length, ...c.layers.map((l) => l.neurons)];
  const biggest = Math.max(...columns);
  const size = Math.max(10, Math.min(34, Math.floor(420 / biggest) - 4));
  const gap = Math.max(3, Math.round(size / 5));
  const colWidth = Math.max(70, Math.min(110, Math.floor(640 / (columns.length + 1))));
  const top = c.layers.length > 1 ? 80 : 64, left = 60;   // room for the dropout and skip boxes under the layer heads
  const nodes = [];
  columns.forEach((count, col) => {
    const x = left + col * colWidth;
    const column = [];
    for (let j = 0; j < count; j++) column.push({ x, y: top + j * (size + gap), size });
    nodes.push(column);
  });
  // Input features: a heatmap each, dimmed when unused; a click toggles the feature. Data of more than two columns
  // feeds its columns as they are (the transforms are of the plane's two coordinates): one node per column.
  if (names.length > 2) names.forEach((name, j) => {
    const n = nodes[0][j], axis = c.plot.indexOf(j);
    const box = nodeBox(n, `f-col-${j}`, "");
    box.title = `${name}: input ${j + 1}, ` + (axis >= 0 ? `${axis === 0 ? "across" : "up"} the pictures` : "held at its mean in the pictures");
    drawHeatmap(box.firstChild, columnValues(j, 20), 20);
    const text = document.createElement("div");
    text.className = "feature-label";
    text.textContent = name.length > 9 ? name.slice(0, 8) + "…" : name;
    text.title = name;
    text.style.left = (n.x - 58) + "px"; text.style.top = (n.y + size / 2 - 8) + "px";
    net.appendChild(text);
  });
  else FEATURES.forEach(([id, label, fn], j) => {
    const n = nodes[0][j], on = c.features.includes(id);
    const box = nodeBox(n, `f-${id}`, on ? "" : " feature-off");
    box.title = `${label}: click to ${on ? "remove" : "add"} this input`;
    box.style.cursor = "pointer";
    box.onclick = () => toggleFeature(id);
    drawHeatmap(box.firstChild, featureValues(fn, 20), 20);
    const text = document.createElement("div");
    text.className = "feature-label" + (on ? "" : " feature-off");
    text.textContent = label;
    text.style.left = (n.x - 58) + "px"; text.style.top = (n.y + size / 2 - 8) + "px";
    text.onclick = () => toggleFeature(id);
    net.appendChild(text);
  });
  c.layers.forEach((layer, l) => {
    nodes[l + 1].forEach((n, j) => {
      const box = nodeBox(n, `n-${l}-${j}`, "");
      box.title = `layer ${l + 1}, neuron ${j + 1}`;
    });
    const head = document.createElement("div");
    head.className = "layer-head";
    head.style.left = (nodes[l + 1][0].x - 30) + "px"; head.style.top = "0px"; head.style.width = (size + 60) + "px";
    const options = ACTIVATIONS.map((a) => `<option${a === layer.activation ? " selected" : ""}>${a}</option>`).join("");
    const rates = [...new Set([...DROPOUTS, layer.dropout])].sort((a, b) => a - b);
    const drops = rates.map((d) => `<option value="${d}"${d === layer.dropout ? " selected" : ""}>${d ? "drop " + d : "no drop"}</option>`).join("");
    const canSkip = l > 0 && c.layers[l - 1].neurons === layer.neurons;
    head.innerHTML = `<button data-l="${l}" data-d="-1" title="fewer neurons">−</button> ${layer.neurons} ` +
      `<button data-l="${l}" data-d="1" title="more neurons">+</button><br><select class="activation" data-l="${l}" title="activation of layer ${l + 1}">${options}</select>` +
      `<br><select class="dropout" data-l="${l}" title="dropout of layer ${l + 1}: the share of its outputs zeroed at random in each training step (none when evaluating)">${drops}</select>` +
      (canSkip ? `<br><label title="residual: add this layer's input to its output"><input type="checkbox" class="residual" data-l="${l}"${layer.residual ? " checked" : ""}>⤷ skip</label>` : "");
    head.querySelectorAll("button").forEach((b) => b.onclick = () => changeNeurons(l, Number(b.dataset.d)));
    head.querySelector("select.activation").onchange = (e) => changeActivation(l, e.target.value);
    head.querySelector("select.dropout").onchange = (e) => changeDropout(l, Number(e.target.value));
    const skip = head.querySelector("input.residual");
    if (skip) skip.onchange = (e) => changeResidual(l, e.target.checked);
    net.appendChild(head);
  });
  // The output neurons (one, or one per class) sit right of the last column; the big canvas at the right combines them.
  const last = nodes[nodes.length - 1], task = state.frame.task;
  const outCount = task.kind === "classes" ? task.classes.length : 1;
  const outs = [];
  for (let k = 0; k < outCount; k++) {
    const o = { x: left + columns.length * colWidth, y: top + (last.length - outCount) * (size + gap) / 2 + k * (size + gap), size };
    outs.push(o);
    nodeBox(o, `n-out-${k}`, "").title = task.kind === "classes" ? `output ${k + 1}: probability of class ${task.classes[k]}`
      : task.kind === "regression" ? "output (linear): the big heatmap at the right" : "output (tanh): the big heatmap at the right";
  }
  const height = top + Math.max(biggest, outCount) * (size + gap) + 10;
  net.style.height = height + "px";
  const svg = $("links");
  svg.setAttribute("width", outs[0].x + size + 10); svg.setAttribute("height", height);
  geometry = { nodes, outs, size };
  $("layer-count").textContent = c.layers.length;
  describeTask();
}

function nodeBox(n, id, extra) {
  const box = document.createElement("div");
  box.className = "node" + extra;
  box.style.left = n.x + "px"; box.style.top = n.y + "px"; box.style.width = n.size + "px"; box.style.height = n.size + "px";
  const canvas = document.createElement("canvas");
  canvas.width = 20; canvas.height = 20; canvas.id = id;
  box.appendChild(canvas);
  $("network").appendChild(box);
  return box;
}

function drawLinks() {
  const f = state.frame, c = state.config;
  if (!geometry) return;
  const { nodes, outs, size } = geometry;
  const paths = [];
  // Layer 0's inputs are the used features, in the page's order.
  const used = FEATURES.map(([id], j) => [id, j]).filter(([id]) => c.features.includes(id));
  const inputIndex = columnNames().length > 2 ? f.weights[0].map((_, i) => i) : c.features.map((id) => used.find((u) => u[0] === id)[1]);
  let maxW = 1e-6;
  f.weights.forEach((W) => W.forEach((row) => row.forEach((w) => { maxW = Math.max(maxW, Math.abs(w)); })));
  f.weights.forEach((W, l) => {
    W.forEach((row, i) => row.forEach((w, j) => {
      const from = l === 0 ? nodes[0][inputIndex[i]] : nodes[l][i];
      const to = l === f.weights.length - 1 ? outs[j] : nodes[l + 1][j];
      const x1 = from.x + size, y1 = from.y + size / 2, x2 = to.x, y2 = to.y + size / 2;
      const width = 0.5 + 4 * Math.abs(w) / maxW;
      const mx = (x1 + x2) / 2;
      paths.push(`<path d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}" stroke="${css(w / maxW)}" ` +
        `stroke-width="${width.toFixed(2)}" data-w="${w}" data-l="${l}" data-i="${i}" data-j="${j}" data-name="W${l + 1}[${i + 1},${j + 1}]"/>`);
    }));
  });
  $("links").innerHTML = paths.join("");
}

// ---------- controls ----------

function syncControls() {
  const c = state.config;
  $("learningRate").value = String(c.learningRate);
  if ($("learningRate").value !== String(c.learningRate)) {
    $("learningRate").insertAdjacentHTML("beforeend", `<option>${c.learningRate}</option>`);
    $("learningRate").value = String(c.learningRate);
  }
  $("optimizer").value = c.optimizer;
  $("regularization").value = c.regularization;
  $("regularizationRate").value = String(c.regularizationRate);
  $("init").value = c.init;
  $("trainRatio").value = Math.round(c.trainRatio * 100); $("trainRatio-value").textContent = Math.round(c.trainRatio * 100);
  $("noise").value = Math.round(c.noise * 100); $("noise-value").textContent = Math.round(c.noise * 100);
  $("batchSize").value = c.batchSize; $("batchSize-value").textContent = c.batchSize;
  $("points").value = c.points; $("points-value").textContent = c.points;
  $("seed").value = c.seed;
  $("show-test").checked = state.showTest;
  document.querySelectorAll("#datasets button").forEach((b) => b.classList.toggle("active", b.dataset.dataset === c.dataset));
}

// A residual connection needs the layer before to be as wide: drop the ones a change of width or depth broke.
function dropBrokenSkips(layers) {
  layers.forEach((x, l) => { if (x.residual && (l === 0 || layers[l - 1].neurons !== x.neurons)) x.residual = false; });
  return layers;
}

function toggleFeature(id) {
  const features = state.config.features.includes(id)
    ? state.config.features.filter((f) => f !== id)
    : FEATURES.map(([f]) => f).filter((f) => f === id || state.config.features.includes(f));
  if (features.length === 0) { showError("keep at least one input feature"); return; }
  reconfigure({ features });
}

function changeNeurons(l, delta) {
  const layers = state.config.layers.map((x) => ({ ...x }));
  layers[l].neurons = Math.max(1, Math.min(MAX_NEURONS, layers[l].neurons + delta));
  dropBrokenSkips(layers);
  reconfigure({ layers });
}

function changeResidual(l, on) {
  const layers = state.config.layers.map((x) => ({ ...x }));
  layers[l].residual = on;
  reconfigure({ layers });
}

function changeActivation(l, activation) {
  const layers = state.config.layers.map((x) => ({ ...x }));
  layers[l].activation = activation;
  reconfigure({ layers });
}

function changeDropout(l, rate) {
  const layers = state.config.layers.map((x) => ({ ...x }));
  layers[l].dropout = rate;
  reconfigure({ layers });
}

// Which column spans the picture across (axis 0) or up (axis 1); picking the other axis's column swaps the two.
function changePlot(axis, column) {
  const plot = [...state.config.plot];
  if (plot[1 - axis] === column) plot[1 - axis] = plot[axis];
  plot[axis] = column;
  reconfigure({ plot });
}

function wireControls() {
  $("play").onclick = () => setPlaying(!state.playing);
  $("step").onclick = async () => {
    setPlaying(false);
    try { acceptFrame((await api("POST", `/api/sessions/${state.session}/train`, { steps: 1 })).frame, false); } catch (e) { showError(e); }
  };
  $("reset").onclick = async () => {
    setPlaying(false);
    state.history = [];
    try { acceptFrame(await api("POST", `/api/sessions/${state.session}/reset`), false); } catch (e) { showError(e); }
  };
  for (const id of ["learningRate", "regularizationRate"]) $(id).onchange = (e) => reconfigure({ [id]: Number(e.target.value) });
  for (const id of ["optimizer", "regularization", "init"]) $(id).onchange = (e) => reconfigure({ [id]: e.target.value });
  for (const id of ["plot-across", "plot-up"]) $(id).onchange = () => changePlot(id === "plot-across" ? 0 : 1, Number($(id).value));
  $("trainRatio").onchange = (e) => reconfigure({ trainRatio: Number(e.target.value) / 100 });
  $("noise").onchange = (e) => reconfigure({ noise: Number(e.target.value) / 100 });
  $("batchSize").onchange = (e) => reconfigure({ batchSize: Number(e.target.value) });
  $("points").onchange = (e) => reconfigure({ points: Number(e.target.value) });
  $("seed").onchange = (e) => reconfigure({ seed: Number(e.target.value) });
  for (const id of ["trainRatio", "noise", "batchSize", "points"]) $(id).oninput = (e) => { $(id + "-value").textContent = e.target.value; };
  $("speed").onchange = (e) => { state.speed = Number(e.target.value); if (state.playing) openStream(); };
  $("show-test").onchange = (e) => { state.showTest = e.target.checked; updateHash(); render(); };
  // A generated set has the plane's two columns, so the picture goes back to them.
  document.querySelectorAll("#datasets button").forEach((b) => b.onclick = () => reconfigure({ dataset: b.dataset.dataset, plot: [0, 1] }));
  $("upload").onclick = () => $("csv-file").click();
  $("csv-file").onchange = (e) => { const file = e.target.files[0]; e.target.value = ""; if (file) uploadCsv(file); };
  $("add-layer").onclick = () => {
    if (state.config.layers.length >= MAX_LAYERS) { showError(`at most ${MAX_LAYERS} hidden layers`); return; }
    reconfigure({ layers: [...state.config.layers, { neurons: 4, activation: "tanh", dropout: 0 }] });
  };
  $("remove-layer").onclick = () => reconfigure({ layers: dropBrokenSkips(state.config.layers.slice(0, -1).map((x) => ({ ...x }))) });
  $("share").onclick = () => {
    updateHash();
    const input = $("share-url");
    input.select();
    if (navigator.clipboard) navigator.clipboard.writeText(input.value).catch(() => {});
  };
  document.querySelectorAll("button.mode").forEach((b) => b.onclick = () => setMode(b.dataset.mode));
  const tooltip = $("tooltip");
  $("links").addEventListener("mousemove", (e) => {
    const w = e.target.dataset && e.target.dataset.w;
    if (w === undefined) { tooltip.hidden = true; return; }
    tooltip.textContent = `${e.target.dataset.name} = ${Number(w).toFixed(4)} (click to edit)`;
    tooltip.style.left = (e.clientX + 12) + "px"; tooltip.style.top = (e.clientY + 12) + "px";
    tooltip.hidden = false;
  });
  $("links").addEventListener("mouseleave", () => { tooltip.hidden = true; });
  $("links").addEventListener("click", (e) => {
    const d = e.target.dataset;
    if (d && d.l !== undefined) openLink(Number(d.l), Number(d.i), Number(d.j));
  });
  $("link-set").onclick = () => setLink();
  $("link-value").onkeydown = (e) => { if (e.key === "Enter") setLink(); };
  $("link-close").onclick = () => { state.link = null; $("link-editor").hidden = true; };
  $("seed-example").onclick = () => showTrace(api("GET", "/api/seed"), "seed 001: three Iris rows, W1 4×2, W2 2×3, sigmoid, no biases");
  $("explain-batch").onclick = () => showTrace(api("POST", `/api/sessions/${state.session}/explain`, { apply: false }),
    "the Train network on its next minibatch (not trained)");
  $("explain-step").onclick = async () => {
    await showTrace(api("POST", `/api/sessions/${state.session}/explain`, { apply: true }),
      "the Train network on its next minibatch; the step was then taken");
    try { acceptFrame(await api("GET", `/api/sessions/${state.session}`), false); } catch (e) { showError(e); }
  };
  $("evaluate").onclick = () => evaluateCircuit();
  $("expression").onkeydown = (e) => { if (e.key === "Enter") evaluateCircuit(); };
  document.querySelectorAll("button.example").forEach((b) => b.onclick = () => {
    $("expression").value = b.dataset.expression;
    evaluateCircuit(Object.fromEntries(b.dataset.values.split(",").map((kv) => { const [k, v] = kv.split("="); return [k, Number(v)]; })));
  });
  window.addEventListener("pagehide", () => {
    if (state.session) fetch(`/api/sessions/${state.session}`, { method: "DELETE", keepalive: true });
  });
}

function setMode(mode) {
  state.mode = mode;
  document.querySelectorAll("button.mode").forEach((b) => b.classList.toggle("active", b.dataset.mode === mode));
  for (const m of ["train", "step", "circuit"]) $("view-" + m).hidden = m !== mode;
  if (mode !== "train") setPlaying(false);
  if (mode === "circuit" && !circuitShown) document.querySelector("button.example").click();   // the seed's (x + y)·z
  if (mode === "step" && !trace) $("seed-example").click();   // something to read at once: the lecture's example
  updateHash();
  render();
}

// ---------- step mode ----------

let trace = null;

function stageOf(entry) {
  if (entry.autograd === "given") return "Given";
  if (entry.autograd === "forward" || entry.name === "O_error") return "Feedforward";
  return "Backpropagation";
}

function fmt(v) { return v === null ? "NaN" : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3); }

async function showTrace(promise, source) {
  try {
    trace = await promise;
    showError(null);
  } catch (e) { showError(e); return; }
  $("step-source").textContent = `${source} · N = ${trace.n} · E = ${trace.loss === null ? "NaN" : trace.loss.toFixed(4)}`;
  $("chain").hidden = true;
  const html = [];
  let stage = null;
  for (const e of trace.entries) {
    const s = stageOf(e);
    if (s !== stage) { html.push(`<div class="stage">${s}</div>`); stage = s; }
    let max = 1e-12;
    e.value.forEach((row) => row.forEach((v) => { if (v !== null) max = Math.max(max, Math.abs(v)); }));
    const rows = e.value.map((row, r) => "<tr>" + row.map((v, c) =>
      `<td data-r="${r}" data-c="${c}" title="${v}" style="background:${css(v === null ? 0 : v / max, 0.45)}">${fmt(v)}</td>`).join("") + "</tr>").join("");
    const isUpdate = /^W\d+_update$/.test(e.name);
    html.push(`<div class="matrix${isUpdate ? " update" : ""}" data-name="${e.name}"><h3>${e.name}</h3>` +
      (e.formula ? `<div class="formula">= ${e.formula}</div>` : "") +
      `<div class="origin">${e.autograd === "given" ? "given" : "autograd: " + e.autograd} · ${e.value.length}×${e.value[0].length}</div>` +
      `<table data-name="${e.name}">${rows}</table></div>`);
  }
  $("trace").innerHTML = html.join("");
  document.querySelectorAll(".matrix.update td").forEach((td) => td.onclick = () =>
    explainCell(td.closest(".matrix").dataset.name, Number(td.dataset.r), Number(td.dataset.c)));
}

// Wk_update[i][j] = (1/N)·Σ_r A[r][i]·delta[r][j], with A the layer's input (X or the previous _out) and delta the
// layer's delta: the chain rule ∂E/∂w = Σ_r ∂E/∂z[r][j]·∂z[r][j]/∂w, written out with the trace's own numbers.
function explainCell(name, i, j) {
  const text = chainText(trace, name, i, j);
  if (!text) return;
  $("chain").textContent = text;
  $("chain").hidden = false;
}

// The chain-rule product of update cell (i, j) of a trace, with the trace's numbers plugged in; null for an entry
// that is not a W…_update.
function chainText(tr, name, i, j) {
  const entry = tr.entries.find((e) => e.name === name);
  const m = entry && /\(1\/N\)·(\w+)ᵀ·(\w+)/.exec(entry.formula);
  if (!m) return null;
  const A = tr.entries.find((e) => e.name === m[1]).value, D = tr.entries.find((e) => e.name === m[2]).value;
  const n = tr.n;
  const terms = A.map((row, r) => `${fmt(row[i])}·${fmt(D[r][j])}`);
  const sum = A.reduce((s, row, r) => s + row[i] * D[r][j], 0);
  return `∂E/∂${name.replace("_update", "")}[${i + 1},${j + 1}] = ${name}[${i + 1},${j + 1}] = (1/N)·Σ_rows ${m[1]}[r,${i + 1}]·${m[2]}[r,${j + 1}]\n` +
    `   (chain rule: ∂E/∂w = Σ_r ∂E/∂${m[2].replace("_delta", "_in")}[r,${j + 1}] · ∂${m[2].replace("_delta", "_in")}[r,${j + 1}]/∂w, and ∂E/∂${m[2].replace("_delta", "_in")} = ${m[2]}/N)\n` +
    `   = (1/${n})·(${terms.join(" + ")})\n` +
    `   = ${(sum / n).toFixed(6)}   (engine: ${entry.value[i][j]})`;
}

// ---------- editing a link (Train view) ----------

// Opens the editor of weight W{l+1}[i+1, j+1]: its value, and ∂E/∂w on the next minibatch from the session's step
// trace (not trained), written as the chain-rule product of step mode.
async function openLink(l, i, j) {
  setPlaying(false);
  state.link = { l, i, j };
  $("link-editor").hidden = false;
  $("link-name").textContent = `W${l + 1}[${i + 1},${j + 1}]`;
  $("link-value").value = state.frame.weights[l][i][j];
  await showLinkChain();
}

async function showLinkChain() {
  const link = state.link;
  if (!link) return;
  const box = $("link-chain");
  if (state.frame.unexplained) { box.textContent = `∂E/∂w: ${state.frame.unexplained}.`; return; }
  try {
    const tr = await api("POST", `/api/sessions/${state.session}/explain`, { apply: false });
    if (state.link !== link) return;
    box.textContent = chainText(tr, `W${link.l + 1}_update`, link.i, link.j) +
      `\nOn the next minibatch (${tr.n / tr.entries.find((e) => e.name === "Y").value[0].length} rows), not trained; a step moves w by −learning rate × this (plain SGD).`;
  } catch (e) { box.textContent = String(e.message || e); }
}

async function setLink() {
  const link = state.link, value = Number($("link-value").value);
  if (!link) return;
  try {
    const frame = await api("POST", `/api/sessions/${state.session}/weight`, { layer: link.l, from: link.i, to: link.j, value });
    showError(null);
    acceptFrame(frame, false);
    $("link-value").value = frame.weights[link.l][link.i][link.j];
    await showLinkChain();
  } catch (e) { showError(e); }
}

// The legends and labels that depend on the data's task: what the output heatmap, the points and the loss mean.
function describeTask() {
  const f = state.frame, task = f.task;
  const lossText = task.kind === "classes"
    ? "Loss is the softmax cross-entropy −(1/N)·Σ log p(label) over the set; accuracy is the share of test points whose most probable class is their label."
    : "Loss is E = 1/(2N)·Σ(output − label)² over the set" + (task.kind === "binary" ? "; accuracy is the share of test points on the right side of 0." : ".");
  const chart = " The chart shows test (black) and training (grey) loss over time.";
  $("output-legend").textContent =
    task.kind === "classes" ? `Background: the class the network finds most probable at each point, in that class's colour, stronger where its softmax probability is higher (white: no class above 1/${task.classes.length}). ${lossText}${chart}`
    : task.kind === "regression" ? `Background: the network's output (linear) at each point, on the scale −1 orange, 0 white, +1 blue (clipped beyond ±1); points are coloured by their target on the same scale. ${lossText}${chart}`
    : `Background: the network's output (tanh, −1 to 1) at each point of the plane — its decision boundary is where orange meets blue. ${lossText}${chart}`;
  $("data-legend").textContent = task.kind === "classes" ? "Points are coloured by class (see the key under the output). Points with a dark outline are test data, not trained on."
    : task.kind === "regression" ? "Points are coloured by their target: −1 orange, 0 white, +1 blue. Points with a dark outline are test data, not trained on."
    : `Orange points are class ${task.classes[0]}, blue points ${task.classes[1]}. Points with a dark outline are test data, not trained on.`;
  $("class-legend").innerHTML = task.kind === "regression" ? "" : task.classes.map((name, k) =>
    `<span class="class-key"><i style="background:rgb(${task.kind === "classes" ? classColour(k, 1) : colour(k === 0 ? -1 : 1)})"></i>${escapeHtml(name)}</span>`).join("");
  const csv = f.csv, names = columnNames(), plot = f.config.plot, many = names.length > 2;
  $("csv-info").hidden = !csv;
  if (csv) {
    const range = (r) => `${+r[0].toPrecision(4)}..${+r[1].toPrecision(4)}`;
    $("csv-info").textContent = `${state.csvName || "your CSV"}: ${csv.rows} rows, ${csv.features} features; ` +
      // Two columns are the plane's x1 and x2 (the transforms' names refer to them); more are the inputs as they are.
      names.map((name, j) => `${name} ${range(csv.ranges[j])}${many ? "" : ` → x${j + 1} −5..5`}`).join(", ") +
      `${many ? " → −5..5 each" : ""}; ${csv.columns[csv.columns.length - 1]}: ` +
      (csv.target ? `regression target ${range(csv.target)} → −1..1` : `${task.classes.length} classes`) + ". Not in the shared link.";
  }
  // The pictures' axes: a choice only when the data has more than two columns.
  $("plot-pick").hidden = !many;
  for (const [id, axis] of [["plot-across", 0], ["plot-up", 1]]) {
    $(id).innerHTML = names.map((name, j) => `<option value="${j}"${plot[axis] === j ? " selected" : ""}>${escapeHtml(name)}</option>`).join("");
  }
  const held = names.map((_, j) => j).filter((j) => !plot.includes(j));
  const heldText = held.map((j) => `${names[j]} ${+csv.means[j].toPrecision(4)}`).join(", ");
  $("plane-axes").textContent = many ? `${names[plot[0]]} across, ${names[plot[1]]} up, the other features at their mean` : `${names[plot[0]]} across, ${names[plot[1]]} up`;
  $("inputs-legend").textContent = many
    ? `The network's inputs are the ${names.length} feature columns of the CSV, each scaled onto −5..5. The transforms x₁², x₂², x₁x₂, sin x₁ and sin x₂ are of the two coordinates of a plane, so they are offered for two-column data only.`
    : "Click a feature to feed it in or leave it out.";
  if (many) $("output-legend").textContent += ` The picture is a slice of the ${names.length}-feature input space: ${names[plot[0]]} across, ${names[plot[1]]} up, ` +
    `the other ${held.length} held at their mean (${heldText}); every neuron's square is the same slice. The points are all the rows, placed by those two features only, so a row whose other features are far from their mean may sit on ` +
    (task.kind === "regression" ? "a colour other than its target's." : "another class's side of the boundary.");
  $("noise").disabled = $("points").disabled = f.config.dataset === "csv";
}

function escapeHtml(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;"); }

// ---------- circuit mode ----------

let circuitShown = false, circuitRequest = 0;

function currentValues() {
  const values = {};
  document.querySelectorAll("#variables input").forEach((input) => { values[input.dataset.name] = Number(input.value); });
  return values;
}

async function evaluateCircuit(values) {
  circuitShown = true;
  const ticket = ++circuitRequest;   // a slower earlier reply must not overwrite a later one
  let result;
  try {
    result = await api("POST", "/api/circuit", { expression: $("expression").value, values: values || currentValues() });
    if (ticket !== circuitRequest) return;
    showError(null);
  } catch (e) { if (ticket === circuitRequest) showError(e); return; }
  state.circuit = result;
  $("variables").innerHTML = Object.entries(result.values).map(([k, v]) =>
    `<label>${k} = <input type="number" step="0.5" data-name="${k}" value="${v}"></label>`).join("");
  document.querySelectorAll("#variables input").forEach((input) => input.onchange = () => evaluateCircuit());
  drawCircuit(result);
  const rows = Object.entries(result.numerical).map(([name, list]) =>
    `<div><h3>∂f/∂${name} = <span class="grad">${result.gradients[name]}</span> (engine) against (f(${name}+Δx) − f(${name}))/Δx</h3>` +
    `<table><tr><th>Δx</th><th>slope</th><th>slope − gradient</th></tr>` +
    list.map((e) => `<tr><td>${e.dx}</td><td>${e.slope === null ? "–" : e.slope.toPrecision(7)}</td><td>${e.error === null ? "–" : e.error.toExponential(2)}</td></tr>`).join("") +
    "</table></div>").join("");
  $("numerical").innerHTML = rows;
}

// Layered drawing: a node's column is its depth (longest path from a leaf); gates sit just left of their output.
function drawCircuit(result) {
  const nodes = result.nodes;
  const depth = nodes.map(() => 0);
  for (const n of nodes) depth[n.id] = n.inputs.length === 0 ? 0 : 1 + Math.max(...n.inputs.map((i) => depth[i]));
  const columns = [];
  for (const n of nodes) (columns[depth[n.id]] = columns[depth[n.id]] || []).push(n);
  const colW = 210, rowH = 78, boxW = 130, boxH = 44;
  const pos = {};
  columns.forEach((col, d) => col.forEach((n, k) => { pos[n.id] = { x: 20 + d * colW, y: 20 + k * rowH }; }));
  const height = 40 + Math.max(...columns.map((c) => c.length)) * rowH;
  const width = 40 + columns.length * colW;
  const parts = [];
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  for (const n of nodes) {
    if (n.inputs.length === 0) continue;
    const p = pos[n.id], gx = p.x - 40, gy = p.y + boxH / 2;
    for (const i of n.inputs) {
      const q = pos[i];
      parts.push(`<path d="M${q.x + boxW},${q.y + boxH / 2} C${gx - 30},${q.y + boxH / 2} ${gx - 30},${gy} ${gx - 16},${gy}" stroke="#888" fill="none"/>`);
    }
    parts.push(`<line x1="${gx + 16}" y1="${gy}" x2="${p.x}" y2="${gy}" stroke="#888"/>`);
    parts.push(`<circle cx="${gx}" cy="${gy}" r="16" fill="#fff" stroke="#183d4e" stroke-width="1.5"/>` +
      `<text x="${gx}" y="${gy + 4}" text-anchor="middle" font-weight="bold">${esc(n.op)}</text>`);
  }
  for (const n of nodes) {
    const p = pos[n.id];
    const fill = n.id === nodes.length - 1 ? "#fde68a" : n.kind === "variable" ? "#dbeafe" : n.kind === "constant" ? "#f3f4f6" : "#fff";
    const label = n.name.length > 18 ? n.name.slice(0, 17) + "…" : n.name;
    parts.push(`<g data-node="${n.id}"><title>${esc(n.name)}</title><rect x="${p.x}" y="${p.y}" width="${boxW}" height="${boxH}" rx="4" fill="${fill}" stroke="#999"/>` +
      `<text x="${p.x + 6}" y="${p.y + 14}">${esc(label)}</text>` +
      `<text x="${p.x + 6}" y="${p.y + 28}" fill="#1a7f37">${n.value === null ? "NaN" : +n.value.toPrecision(6)}</text>` +
      `<text x="${p.x + 6}" y="${p.y + 40}" fill="#c62828">${n.grad === null ? (n.kind === "constant" ? "" : "–") : "∂ " + (+n.grad.toPrecision(6))}</text></g>`);
  }
  const svg = $("circuit");
  svg.setAttribute("width", width); svg.setAttribute("height", height);
  svg.innerHTML = parts.join("");
}

// ---------- start ----------

async function start() {
  wireControls();
  const { config, mode, showTest } = hashToConfig(location.hash);
  state.showTest = showTest;
  let csvLink = false;
  // A link never carries the file itself, so neither the dataset nor its plotted pair of columns can be restored.
  if (config.dataset === "csv") { delete config.dataset; delete config.plot; csvLink = true; }
  try {
    await createSession(config);
    if (csvLink) showError("this link was made on an uploaded CSV, which links do not carry: the settings are restored on the circle data; upload the file again with “your CSV…”");
  } catch (e) {
    showError(e);
    await createSession({});   // the link held a bad setting: start from the defaults, the message says why
  }
  setMode(mode);
}

start();
