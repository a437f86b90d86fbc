// The trust explorer: every method's answer for one 28 x 28 image, computed in the page from
// the weights mnistlab embedded (no network, no server). Plain JavaScript and typed arrays.
"use strict";

const PAYLOAD = JSON.parse(document.getElementById("payload").textContent);

// ---------------------------------------------------------------- arrays from the payload
function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
  if (exponent === 0) return sign * Math.pow(2, -14) * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024);
}

function decode(entry) {
  const bytes = Uint8Array.from(atob(entry.data), (c) => c.charCodeAt(0));
  if (entry.dtype === "uint8") return bytes;
  if (entry.dtype === "float32") return new Float32Array(bytes.buffer);
  if (entry.dtype === "float64") return Float32Array.from(new Float64Array(bytes.buffer));
  const halves = new Uint16Array(bytes.buffer), out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]);
  return out;
}

function model(layers) {
  return layers.map((l) => ({
    w: decode(l.w), b: decode(l.b), rows: l.w.shape[0], cols: l.w.shape[1], activation: l.activation,
  }));
}

// ---------------------------------------------------------------- the forward pass
// x (rows) -> x W + b (cols), W row-major as Keras stores it (inputs x units).
function dense(layer, x, w = layer.w) {
  const out = Float32Array.from(layer.b);
  for (let i = 0; i < layer.rows; i++) {
    const xi = x[i];
    if (xi === 0) continue; // most pixels are black
    const row = i * layer.cols;
    for (let j = 0; j < layer.cols; j++) out[j] += xi * w[row + j];
  }
  if (layer.activation === "relu") for (let j = 0; j < out.length; j++) out[j] = Math.max(out[j], 0);
  else if (layer.activation === "tanh") for (let j = 0; j < out.length; j++) out[j] = Math.tanh(out[j]);
  else if (layer.activation === "sigmoid") for (let j = 0; j < out.length; j++) out[j] = 1 / (1 + Math.exp(-out[j]));
  return out;
}

// {features: the last hidden layer, logits}; options.weights: per layer replacements;
// options.dropMask(layerIndex, values): MC dropout on hidden activations.
function forward(net, x, options = {}) {
  let h = x, features = x;
  net.forEach((layer, k) => {
    h = dense(layer, h, options.weights ? options.weights[k] : layer.w);
    if (k < net.length - 1) {
      if (options.dropMask) h = options.dropMask(k, h);
      features = h;
    }
  });
  return { features, logits: h };
}

function softmax(logits) {
  const top = Math.max(...logits), e = logits.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return Float64Array.from(e, (v) => v / sum);
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

// Whether member k keeps weight i: murmur3's finalizer on (i, k) as a uniform 32-bit number.
function kept(k, i, threshold) {
  let h = (i ^ Math.imul(k + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) >= threshold;
}

// A small seeded generator (mulberry32): the same members for the same seed.
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- one data set's methods
class Methods {
  constructor(data) {
    this.data = data;
    this.base = model(data.models.base);
    this.mc = model(data.models.mc_dropout);
    this.ensemble = [this.base, ...data.models.ensemble.map(model)];
    this.images = decode(data.images);
    this.ood = { origin: decode(data.ood.origin), residual: decode(data.ood.residual), shape: data.ood.residual.shape };
  }

  image(i) { return Float32Array.from(this.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255); }

  // K copies of the base model, a fraction p of every weight set to 0 and the rest scaled by
  // 1/(1-p) (post-training weight dropout). Whether member k keeps weight i is a hash of
  // (k, i): the same members for every image, made on the fly for the weights an image uses
  // (a drawing lights about 150 of 784 pixels), so a new p or K costs nothing up front.
  weightDropout(p, K) {
    const threshold = p * 4294967296, scale = 1 / (1 - p), votes = new Float64Array(10);
    for (let k = 0; k < K; k++) {
      let h = this.input, offset = 0;
      this.base.forEach((layer, n) => {
        const out = Float32Array.from(layer.b);
        for (let i = 0; i < layer.rows; i++) {
          const xi = h[i];
          if (xi === 0) continue;
          const row = i * layer.cols;
          for (let j = 0; j < layer.cols; j++) if (kept(k, offset + row + j, threshold)) out[j] += xi * layer.w[row + j] * scale;
        }
        if (n < this.base.length - 1 && layer.activation === "relu") for (let j = 0; j < out.length; j++) out[j] = Math.max(out[j], 0);
        offset += layer.w.length;
        h = out;
      });
      votes[argmax(h)] += 1;
    }
    return votes.map((v) => v / K);
  }

  mcDropout(rate, K) {
    const mean = new Float64Array(10), random = generator(7);
    const dropMask = (k, h) => h.map((v) => (random() < rate ? 0 : v / (1 - rate)));
    for (let k = 0; k < K; k++) softmax(forward(this.mc, this.input, { dropMask }).logits).forEach((v, c) => (mean[c] += v / K));
    return mean;
  }

  // ViM: the features' norm outside the principal subspace, scaled, minus the energy
  vim(features, logits) {
    const [d, r] = this.ood.shape, centred = features.map((v, i) => v - this.ood.origin[i]);
    let norm = 0;
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += centred[i] * this.ood.residual[i * r + j];
      norm += s * s;
    }
    const top = Math.max(...logits);
    const energy = top + Math.log(logits.reduce((a, v) => a + Math.exp(v - top), 0));
    return this.data.ood.alpha * Math.sqrt(norm) - energy;
  }

  all(x, settings) {
    this.input = x;
    const { features, logits } = forward(this.base, x);
    const probabilities = softmax(logits), top = argmax(probabilities);
    const members = this.ensemble.map((net) => softmax(forward(net, x).logits));
    const ensembleMean = new Float64Array(10).map((_, c) => members.reduce((a, m) => a + m[c], 0) / members.length);
    const alphaIndex = this.data.conformal.alphas.indexOf(settings.alpha);
    const q = this.data.conformal.q[alphaIndex];
    const set = [...probabilities.keys()].filter((c) => 1 - probabilities[c] <= q);
    const vimScore = this.vim(features, logits);
    const threshold = this.data.abstain.threshold;
    return {
      probabilities, top, logits,
      vote: this.weightDropout(settings.p, settings.K),
      mc: this.mcDropout(0.2, settings.K),
      members, ensembleMean,
      set, q,
      vimScore, ood: vimScore > settings.oodThreshold,
      abstain: threshold === null || 1 - probabilities[top] > threshold,
    };
  }
}

// ---------------------------------------------------------------- MNIST framing of a drawing
// As MNIST framed its digits: the ink's bounding box scaled (aspect kept) to fit 20 x 20,
// then placed so that its centre of mass is at the centre of the 28 x 28 frame.
function framed(canvas) {
  const ctx = canvas.getContext("2d"), { width, height } = canvas;
  const pixels = ctx.getImageData(0, 0, width, height).data;
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    if (pixels[(y * width + x) * 4] > 20) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  }
  const out = new Float32Array(784);
  if (x1 < 0) return out;
  const w = x1 - x0 + 1, h = y1 - y0 + 1, scale = 20 / Math.max(w, h);
  const box = document.createElement("canvas");
  box.width = box.height = 28;
  const bctx = box.getContext("2d");
  bctx.imageSmoothingEnabled = true;
  bctx.imageSmoothingQuality = "high";
  bctx.drawImage(canvas, x0, y0, w, h, 0, 0, Math.max(1, w * scale), Math.max(1, h * scale));
  const small = bctx.getImageData(0, 0, 28, 28).data;
  let mass = 0, cx = 0, cy = 0;
  for (let i = 0; i < 784; i++) { const v = small[i * 4]; mass += v; cx += v * (i % 28); cy += v * Math.floor(i / 28); }
  const dx = Math.round(14 - cx / mass), dy = Math.round(14 - cy / mass);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const sx = x - dx, sy = y - dy;
    if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = small[(sy * 28 + sx) * 4] / 255;
  }
  return out;
}

// ---------------------------------------------------------------- the page
const state = { tab: PAYLOAD.datasets[0].name, alpha: 0.1, p: 0.2, K: 100, blend: 1, pair: [0, 1], source: "test", image: 0 };
const methods = Object.fromEntries(PAYLOAD.datasets.map((d) => [d.name, new Methods(d)]));
for (const m of Object.values(methods)) m.oodThreshold = m.data.ood.threshold;

const $ = (id) => document.getElementById(id);
const canvas = $("canvas"), ink = canvas.getContext("2d");

function clearCanvas() { ink.fillStyle = "#000"; ink.fillRect(0, 0, canvas.width, canvas.height); }

function showImage(x) {
  const img = ink.createImageData(28, 28);
  x.forEach((v, i) => { const g = Math.round(v * 255); img.data.set([g, g, g, 255], i * 4); });
  const tmp = document.createElement("canvas"); tmp.width = tmp.height = 28;
  tmp.getContext("2d").putImageData(img, 0, 0);
  ink.imageSmoothingEnabled = false;
  ink.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

function currentInput() {
  const m = methods[state.tab];
  if (state.source === "drawing") return framed(canvas);
  if (state.source === "morph") {
    const a = m.image(state.pair[0]), b = m.image(state.pair[1]);
    return a.map((v, i) => state.blend * v + (1 - state.blend) * b[i]);
  }
  return m.image(state.image);
}

function bars(values, classes, highlight = []) {
  return [...values].map((v, c) => `<div class="bar${highlight.includes(c) ? " in" : ""}"><span class="label">${classes[c]}</span>` +
    `<span class="fill" style="width:${(100 * v).toFixed(1)}%"></span><span class="value">${(100 * v).toFixed(1)}%</span></div>`).join("");
}

function render() {
  const m = methods[state.tab], classes = m.data.classes;
  const x = currentInput();
  if (state.source !== "drawing") showImage(x);
  const start = performance.now();
  const r = m.all(x, { alpha: state.alpha, p: state.p, K: state.K, oodThreshold: m.oodThreshold });
  state.lastUpdateMs = performance.now() - start;
  state.last = r;
  const truth = state.source === "test" ? ` (true label: ${classes[m.data.labels[state.image]]})` : "";
  const named = (i) => `#${m.data.indices[i]} (${classes[m.data.labels[i]]})`;
  $("input-caption").textContent = {
    test: `test image #${m.data.indices[state.image]}${truth}`,
    drawing: "your drawing, framed like MNIST (20 x 20 box, centre of mass centred)",
    morph: `${state.blend.toFixed(2)} x test image ${named(state.pair[0])} + ${(1 - state.blend).toFixed(2)} x ${named(state.pair[1])}`,
  }[state.source];
  $("softmax").innerHTML = bars(r.probabilities, classes, [r.top]);
  $("softmax-line").textContent = `The tutorial model says ${classes[r.top]} with probability ${(100 * r.probabilities[r.top]).toFixed(1)}%: a probability, not a promise.`;
  const voteTop = argmax(r.vote);
  $("vote").innerHTML = bars(r.vote, classes, [voteTop]);
  $("vote-line").textContent = `${state.K} copies with ${(100 * state.p).toFixed(0)}% of their weights zeroed: ${(100 * r.vote[voteTop]).toFixed(0)}% vote ${classes[voteTop]}.`;
  const mcTop = argmax(r.mc);
  $("mc").innerHTML = bars(r.mc, classes, [mcTop]);
  $("mc-line").textContent = `Dropout left on, ${state.K} passes: mean probability ${(100 * r.mc[mcTop]).toFixed(1)}% for ${classes[mcTop]}.`;
  const tops = r.members.map((p) => argmax(p));
  const spread = Math.sqrt(r.members.reduce((a, p) => a + (p[argmax(r.ensembleMean)] - r.ensembleMean[argmax(r.ensembleMean)]) ** 2, 0) / r.members.length);
  $("ensemble").innerHTML = bars(r.ensembleMean, classes, [argmax(r.ensembleMean)]);
  $("ensemble-line").textContent = `${r.members.length} independently trained models say ${tops.map((t) => classes[t]).join(", ")}; their spread on the mean's class: ${(100 * spread).toFixed(1)} points.`;
  $("alpha-value").textContent = state.alpha.toFixed(2);
  $("set").textContent = r.set.length ? r.set.map((c) => classes[c]).join(", ") : "(empty)";
  $("set-line").textContent = (r.set.length ? "" : "No class is likely enough: the image is unlike those the promise was made on. ") + `Contains the true class for ${(100 * (1 - state.alpha)).toFixed(0)}% of images like the test set (threshold q = ${r.q.toFixed(3)} from ${m.data.conformal.calibration_size} held-out images). Larger set, less sure.`;
  $("ood-threshold-value").textContent = m.oodThreshold.toFixed(2);
  $("ood").textContent = r.ood ? "out of distribution" : "in distribution";
  $("ood").className = r.ood ? "flag warn" : "flag ok";
  $("ood-line").textContent = `ViM score ${r.vimScore.toFixed(2)} against the threshold ${m.oodThreshold.toFixed(2)} that keeps 95% of held-out ${m.data.name} images: above it, this image looks unlike the training data.`;
  $("abstain").textContent = r.abstain ? "abstain" : `answer ${classes[r.top]}`;
  $("abstain").className = r.abstain ? "flag warn" : "flag ok";
  const a = m.data.abstain;
  $("abstain-line").textContent = a.threshold === null ? "No threshold keeps the promised error on held-out data: always abstain."
    : `Answers only when max softmax is at least ${(100 * (1 - a.threshold)).toFixed(1)}%; then wrong at most ${(100 * a.target).toFixed(0)}% of the time (95% confidence, held-out data).`;
  $("timing").textContent = `updated in ${state.lastUpdateMs.toFixed(0)} ms`;
}

function pickTest(i) { state.source = "test"; state.image = i; render(); }

function setup() {
  $("made").textContent = `seed ${PAYLOAD.seed}${PAYLOAD.quick ? ", the quick profile" : ""}`;
  const tabs = $("tabs");
  for (const d of PAYLOAD.datasets) {
    const b = document.createElement("button");
    b.textContent = d.name === "mnist" ? "Digits (MNIST)" : "Fashion-MNIST";
    b.onclick = () => { state.tab = d.name; [...tabs.children].forEach((c) => c.classList.toggle("active", c === b)); pickTest(0); };
    tabs.appendChild(b);
  }
  tabs.children[0].classList.add("active");
  let drawing = false, last = null;
  const at = (e) => { const r = canvas.getBoundingClientRect(); return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.addEventListener("pointerdown", (e) => {
    if (state.source !== "drawing") clearCanvas();
    state.source = "drawing"; drawing = true; last = at(e); canvas.setPointerCapture?.(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = at(e);
    ink.strokeStyle = "#fff"; ink.lineWidth = 22; ink.lineCap = "round"; ink.lineJoin = "round";
    ink.beginPath(); ink.moveTo(...last); ink.lineTo(...p); ink.stroke();
    last = p;
    render();
  });
  const stop = () => { drawing = false; };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointerleave", stop);
  $("clear").onclick = () => { clearCanvas(); state.source = "drawing"; render(); };
  $("random").onclick = () => pickTest(Math.floor(Math.random() * methods[state.tab].data.labels.length));
  $("morph").oninput = (e) => { state.source = "morph"; state.blend = Number(e.target.value) / 100; render(); };
  $("new-pair").onclick = () => { const n = methods[state.tab].data.labels.length; state.pair = [Math.floor(Math.random() * n), Math.floor(Math.random() * n)]; state.source = "morph"; render(); };
  $("alpha").oninput = (e) => { state.alpha = methods[state.tab].data.conformal.alphas[Number(e.target.value)]; render(); };
  $("p").oninput = (e) => { state.p = Number(e.target.value) / 100; $("p-value").textContent = state.p.toFixed(2); render(); };
  $("K").oninput = (e) => { state.K = Number(e.target.value); $("K-value").textContent = state.K; render(); };
  $("ood-threshold").oninput = (e) => { methods[state.tab].oodThreshold = Number(e.target.value); render(); };
  const m = methods[state.tab], slider = $("ood-threshold");
  slider.min = Math.floor(m.oodThreshold - 40); slider.max = Math.ceil(m.oodThreshold + 40);
  slider.value = m.oodThreshold;
  clearCanvas();
  pickTest(0);
}

// ---------------------------------------------------------------- self test (tests only)
// #selftest: the page checks itself and writes what it found into <pre id="selftest">: the
// probabilities of every embedded test image (base model and ensemble members), a stroke
// drawn with pointer events, the conformal set and the flag at two settings, update times.
function selfTest() {
  const out = { datasets: {} };
  for (const [name, m] of Object.entries(methods)) {
    const n = m.data.labels.length;
    out.datasets[name] = {
      base: [...Array(n).keys()].map((i) => [...softmax(forward(m.base, m.image(i)).logits)]),
      members: m.ensemble.map((net) => [...Array(5).keys()].map((i) => [...softmax(forward(net, m.image(i)).logits)])),
    };
  }
  state.tab = "mnist"; pickTest(0);
  const before = state.last.top, beforeP = [...state.last.probabilities];
  draw([[[0.5, 0.15], [0.5, 0.85]]]); // a vertical stroke: a 1
  out.stroke = { before, after: state.last.top, source: state.source, before_p: beforeP, after_p: [...state.last.probabilities] };
  const sets = {};
  for (const alpha of [0.01, 0.1, 0.3]) {
    state.alpha = alpha;
    sets[alpha] = [...Array(20).keys()].map((i) => { pickTest(i); return state.last.set; });
  }
  out.sets = sets;
  const flags = {};
  for (const t of [-1e9, 1e9]) { methods.mnist.oodThreshold = t; render(); flags[t > 0 ? "high" : "low"] = state.last.ood; }
  methods.mnist.oodThreshold = methods.mnist.data.ood.threshold;
  state.alpha = 0.1; state.K = 100; pickTest(3);
  const times = [];
  for (let i = 0; i < 15; i++) { pickTest(i % 10); times.push(state.lastUpdateMs); }
  times.sort((a, b) => a - b);
  out.flags = flags;
  out.update_ms = { median: times[7], max: times[14], K: state.K };
  state.p = 0.3; // a new p: the same cost as any update (no copies are made up front)
  const started = performance.now(); render(); out.new_p_ms = performance.now() - started;
  state.p = 0.2; render();
  // The members' masks: the share of weights each keeps, against 1 - p
  const shares = [0, 1, 2].map((k) => { let n = 0; for (let i = 0; i < 100000; i++) n += kept(k, i, 0.2 * 4294967296); return n / 100000; });
  out.kept_share = shares;
  if (methods["fashion-mnist"]) { // more ink per image than digits: the slowest tab
    state.tab = "fashion-mnist";
    const fashion = [];
    for (let i = 0; i < 15; i++) { pickTest(i % 10); fashion.push(state.lastUpdateMs); }
    fashion.sort((a, b) => a - b);
    out.fashion_update_ms = { median: fashion[7], max: fashion[14] };
    state.tab = "mnist";
  }
  $("selftest").textContent = JSON.stringify(out);
}

// #draw=4, #draw=A, #morph=0.5: a drawing or a blend made on opening (for screenshots, links)
const STROKES = {
  4: [[[0.35, 0.15], [0.28, 0.55], [0.7, 0.55]], [[0.6, 0.2], [0.6, 0.88]]],
  A: [[[0.22, 0.85], [0.5, 0.15], [0.78, 0.85]], [[0.33, 0.6], [0.67, 0.6]]],
};

function draw(strokes) {
  const r = canvas.getBoundingClientRect();
  const point = (type, [x, y]) => canvas.dispatchEvent(new PointerEvent(type, { clientX: r.left + x * r.width, clientY: r.top + y * r.height, pointerId: 1, bubbles: true }));
  clearCanvas();
  state.source = "drawing";
  for (const line of strokes) {
    point("pointerdown", line[0]);
    for (let k = 1; k < line.length; k++) {
      for (let t = 0.1; t <= 1.0001; t += 0.1) point("pointermove", line[k - 1].map((v, i) => v + t * (line[k][i] - v)));
    }
    point("pointerup", line[line.length - 1]);
  }
}

setup();
if (location.hash === "#selftest") selfTest();
const demo = location.hash.match(/^#(draw|morph)=(.+)$/);
if (demo && demo[1] === "draw" && STROKES[demo[2]]) draw(STROKES[demo[2]]);
if (demo && demo[1] === "morph") { state.source = "morph"; state.pair = [0, 1]; state.blend = Number(demo[2]); $("morph").value = 100 * state.blend; render(); }
