// The interactive explorer of symnet's HTML report: runs the network embedded in the page
// (see symnet/report/explorer.py) and fills the elements the report laid out.
(function () {
"use strict";
const NET = JSON.parse(document.getElementById("symnet-network").textContent);
const F = {
  relu: (t, a) => { const mx = a[0] === null || a[0] === undefined ? Infinity : a[0];
    const slope = a[1] || 0, th = a[2] || 0;
    let p = th === 0 ? Math.max(t, 0) : (t > th ? t : 0);
    if (mx !== Infinity) p = Math.min(Math.max(p, 0), mx);
    if (slope !== 0) p = p - slope * Math.max(th - t, 0);
    return p; },
  leaky_relu: (t, a) => t > 0 ? t : t * a[0],
  hard_sigmoid: t => Math.min(Math.max(t + 3, 0), 6) / 6,
  hard_tanh: t => Math.min(Math.max(t, -1), 1),
  sigmoid: t => 1 / (1 + Math.exp(-t)),
  tanh: t => Math.tanh(t),
  exp: t => Math.exp(t),
  elu: (t, a) => t > 0 ? t : (a.length ? a[0] : 1) * Math.expm1(Math.min(t, 0)),
  selu: t => 1.0507009873554805 * (t > 0 ? t : 1.6732632423543772 * Math.expm1(Math.min(t, 0))),
  softplus: t => Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t))),
  softsign: t => t / (Math.abs(t) + 1),
  silu: t => t / (1 + Math.exp(-t)),
};
function derivative(name, t, a, h) {
  const f = F[name];
  if (name === "relu" || name === "leaky_relu" || name === "hard_sigmoid" || name === "hard_tanh") {
    const d = 1e-7 * Math.max(1, Math.abs(t));
    return (f(t + d, a) - f(t, a)) / d;  // the slope of the piece t is on (exact up to rounding)
  }
  if (name === "sigmoid") { return h * (1 - h); }
  if (name === "tanh") { return 1 - h * h; }
  const d = 1e-6 * Math.max(1, Math.abs(t));
  return (f(t + d, a) - f(t - d, a)) / (2 * d);
}
function run(x, withGrad) {
  const v = {}, g = {};
  const n = x.length;
  v[NET.input] = x.slice();
  if (withGrad) g[NET.input] = x.map((_, i) => x.map((_, j) => (i === j ? 1 : 0)));
  for (const node of NET.nodes) {
    const a = v[node.in], ga = withGrad ? g[node.in] : null;
    let out, gout = null;
    if (node.op === "matmul" || node.op === "affine") {
      const w = node.w, m = w[0].length;
      out = new Array(m).fill(0);
      for (let i = 0; i < a.length; i++) { const ai = a[i], wi = w[i];
        if (ai !== 0) for (let j = 0; j < m; j++) out[j] += ai * wi[j]; }
      if (node.op === "affine") for (let j = 0; j < m; j++) out[j] += node.b[j];
      if (withGrad) gout = ga.map(row => { const r = new Array(m).fill(0);
        for (let i = 0; i < row.length; i++) if (row[i] !== 0)
          for (let j = 0; j < m; j++) r[j] += row[i] * w[i][j];
        return r; });
    } else if (node.op === "diag") {
      out = a.map((t, j) => t * node.d[j] + node.b[j]);
      if (withGrad) gout = ga.map(row => row.map((r, j) => r * node.d[j]));
    } else if (node.op === "bias") {
      out = a.map((t, j) => t + node.b[j]);
      if (withGrad) gout = ga.map(row => row.slice());
    } else if (node.op === "bn") {
      const s = a.map((_, j) => node.gamma[j] / Math.sqrt(node.var[j] + node.eps));
      out = a.map((t, j) => (t - node.mean[j]) * s[j] + node.beta[j]);
      if (withGrad) gout = ga.map(row => row.map((r, j) => r * s[j]));
    } else if (node.op === "fn") {
      const f = F[node.fn];
      out = a.map(t => f(t, node.args));
      if (withGrad) { const d = a.map((t, j) => derivative(node.fn, t, node.args, out[j]));
        gout = ga.map(row => row.map((r, j) => r * d[j])); }
    } else if (node.op === "softmax") {
      const mx = Math.max(...a), e = a.map(t => Math.exp(t - mx));
      const s = e.reduce((p, q) => p + q, 0);
      out = e.map(t => t / s);
      if (withGrad) gout = ga.map(row => { const dot = row.reduce((p, r, j) => p + r * out[j], 0);
        return row.map((r, j) => out[j] * (r - dot)); });
    } else {
      out = a.slice(); if (withGrad) gout = ga.map(row => row.slice());
    }
    v[node.out] = out; if (withGrad) g[node.out] = gout;
  }
  return { values: v, grads: g };
}
function fmt(t) {
  if (!isFinite(t)) return String(t);
  if (t === 0) return "0";
  const a = Math.abs(t);
  if (a >= 1e-4 && a < 1e7) return String(Number(t.toPrecision(7)));
  return t.toExponential(6).replace(/\.?0+e/, "e");
}
function el(tag, attrs, text) { const e = document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text; return e; }
let current = NET.inputs.map(i => i.value);
let lastRun = null;
function unitFormula(layer, j) {
  const v = lastRun.values, box = document.getElementById("sx-unit");
  let text = layer.symbol + "[" + j + "] = ";
  if (layer.matmul !== null) {
    const mm = NET.nodes[layer.matmul], a = v[mm.in];
    const terms = [];
    for (let i = 0; i < a.length && terms.length < 8; i++)
      terms.push(fmt(a[i]) + "·" + fmt(mm.w[i][j]));
    let sum = terms.join(" + ") + (a.length > 8 ? " + … (" + a.length + " terms)" : "");
    if (mm.op === "affine") sum += " + " + fmt(mm.b[j]);
    if (layer.bias !== null) sum += " + " + fmt(NET.nodes[layer.bias].b[j]);
    const pre = layer.pre !== null ? v[layer.pre][j] : v[layer.out][j];
    text += (layer.activation ? layer.activation + "(" + sum + ") = " + layer.activation + "(" +
             fmt(pre) + ")" : sum) + " = " + fmt(v[layer.out][j]);
  } else if (layer.in !== null) {
    text += layer.kind + "(" + fmt(v[layer.in][j]) + ") = " + fmt(v[layer.out][j]);
  }
  box.textContent = text;
}
function drawLayers() {
  const v = lastRun.values, host = document.getElementById("sx-layers");
  host.textContent = "";
  for (const layer of NET.layers) {
    const out = v[layer.out], pre = layer.pre !== null ? v[layer.pre] : null;
    const nonzero = out.filter(t => t !== 0).length;
    host.appendChild(el("h3", {}, layer.name + " (" + layer.kind + ")" +
      (pre ? ": " + nonzero + " of " + out.length + " units nonzero after " + layer.activation : "")));
    const table = el("table", { "class": "sx-layer" });
    const head = el("tr");
    head.appendChild(el("th", { "class": "n" }, "unit"));
    if (pre) head.appendChild(el("th", { "class": "n" }, "before " + layer.activation));
    head.appendChild(el("th", { "class": "n" }, layer.symbol));
    table.appendChild(head);
    const shown = Math.min(out.length, 64);
    for (let j = 0; j < shown; j++) {
      const off = pre !== null && out[j] === 0;
      const row = el("tr", off ? { "class": "off" } : {});
      row.appendChild(el("td", { "class": "n" }, String(j)));
      if (pre) row.appendChild(el("td", { "class": "n" }, fmt(pre[j])));
      row.appendChild(el("td", { "class": "n", "data-value": String(out[j]) }, fmt(out[j])));
      row.addEventListener("click", () => unitFormula(layer, j));
      table.appendChild(row);
    }
    const wrap = el("div", { "class": "scroll" }); wrap.appendChild(table); host.appendChild(wrap);
    if (out.length > shown) host.appendChild(el("p", { "class": "note" },
      "first " + shown + " of " + out.length + " units shown"));
  }
}
function drawLaw() {
  const box = document.getElementById("sx-law"), y = lastRun.values[NET.output];
  const k = y.length > 1 ? y.indexOf(Math.max(...y)) : 0;
  box.textContent = "";
  if (current.length > 16) return k;
  const grad = lastRun.grads[NET.output].map(row => row[k]);
  let c = y[k];
  grad.forEach((gi, i) => { c -= gi * current[i]; });
  const terms = grad.map((gi, i) => fmt(gi) + "·" + NET.inputs[i].name).join(" + ");
  const name = NET.output_name + (y.length > 1 ? "[" + k + "]" : "");
  box.textContent = (NET.piecewise_linear ? "Local law (exact while the same units pass): "
                     : "Tangent at this input: ") + name + " ≈ " + terms + " + " + fmt(c);
  if (NET.piecewise_linear) box.textContent = box.textContent.replace(" ≈ ", " = ");
  return k;
}
function drawContributions(k) {
  const host = document.getElementById("sx-contrib");
  host.textContent = "";
  const last = NET.layers[NET.layers.length - 1];
  if (last.matmul === null) return;
  const mm = NET.nodes[last.matmul], a = lastRun.values[mm.in];
  const terms = [];
  for (let i = 0; i < a.length; i++) terms.push([i, a[i] * mm.w[i][k]]);
  const bias = (last.bias !== null ? NET.nodes[last.bias].b[k] : 0) + (mm.op === "affine" ? mm.b[k] : 0);
  const nonzero = terms.filter(t => t[1] !== 0).sort((p, q) => Math.abs(q[1]) - Math.abs(p[1]));
  host.appendChild(el("h3", {}, "Contributions to the output of " + last.name + " (largest first)"));
  const table = el("table");
  const add = (label, value) => { const r = el("tr"); r.appendChild(el("td", {}, label));
    r.appendChild(el("td", { "class": "n" }, fmt(value))); table.appendChild(r); };
  nonzero.slice(0, 20).forEach(t => add(last.input_symbol + "[" + t[0] + "]·W[" + t[0] + "," + k + "]", t[1]));
  if (nonzero.length > 20) add((nonzero.length - 20) + " smaller terms",
    nonzero.slice(20).reduce((p, t) => p + t[1], 0));
  if (terms.length > nonzero.length) add((terms.length - nonzero.length) + " terms equal to 0", 0);
  add("bias", bias);
  add("sum", terms.reduce((p, t) => p + t[1], 0) + bias);
  host.appendChild(table);
}
let curve = null;
function drawPlot(k) {
  const svg = document.getElementById("sx-plot");
  if (NET.inputs.length !== 1) { svg.style.display = "none"; return; }
  const lo = NET.inputs[0].min, hi = NET.inputs[0].max;
  if (curve === null || curve.k !== k) {
    const xs = [], ys = [];
    for (let i = 0; i <= 400; i++) { const t = lo + (hi - lo) * i / 400;
      xs.push(t); ys.push(run([t], false).values[NET.output][k]); }
    curve = { xs, ys, k };
  }
  const y0 = Math.min(...curve.ys), y1 = Math.max(...curve.ys), W = 640, H = 260, P = 50;
  const sx = t => P + (W - 2 * P) * (t - lo) / ((hi - lo) || 1);
  const sy = t => H - P - (H - 2 * P) * (t - y0) / ((y1 - y0) || 1);
  const ns = "http://www.w3.org/2000/svg";
  svg.textContent = "";
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", curve.xs.map((t, i) => sx(t) + "," + sy(curve.ys[i])).join(" "));
  line.setAttribute("fill", "none"); line.setAttribute("stroke", "#1f5fa8");
  svg.appendChild(line);
  const y = lastRun.values[NET.output][k];
  const dot = document.createElementNS(ns, "circle");
  dot.setAttribute("cx", sx(current[0])); dot.setAttribute("cy", sy(y)); dot.setAttribute("r", 5);
  dot.setAttribute("fill", "#c0392b"); svg.appendChild(dot);
  const frame = document.createElementNS(ns, "rect");
  frame.setAttribute("x", P); frame.setAttribute("y", P); frame.setAttribute("width", W - 2 * P);
  frame.setAttribute("height", H - 2 * P); frame.setAttribute("fill", "none");
  frame.setAttribute("stroke", "#aaa"); svg.appendChild(frame);
  const text = (x, y, s, anchor) => { const t = document.createElementNS(ns, "text");
    t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("font-size", 11);
    t.setAttribute("text-anchor", anchor || "start"); t.textContent = s; svg.appendChild(t); };
  text(P, H - P + 14, fmt(lo), "middle"); text(W - P, H - P + 14, fmt(hi), "middle");
  text(W / 2, H - 4, NET.inputs[0].name, "middle");
  text(P + 4, H - P - 4, NET.output_name + " = " + fmt(y0)); text(P + 4, P + 14, NET.output_name + " = " + fmt(y1));
  text(P + 6, P - 8, NET.output_name + "(" + NET.inputs[0].name + ") at " + fmt(current[0]) + ": " + fmt(y));
}
function update() {
  lastRun = run(current, current.length <= 16);
  const y = lastRun.values[NET.output];
  const out = document.getElementById("symnet-output");
  out.textContent = y.map(fmt).join(", ");
  out.setAttribute("data-values", JSON.stringify(y));
  out.setAttribute("data-input", JSON.stringify(current));
  drawLayers();
  const k = drawLaw();
  drawContributions(k);
  drawPlot(k);
}
function fromHash() {
  const m = /(?:^#|&)x=([^&]*)/.exec(location.hash);
  if (!m) return;
  const xs = decodeURIComponent(m[1]).split(",").map(Number);
  if (xs.length === current.length && xs.every(isFinite)) current = xs;
  syncControls();
}
function syncControls() {
  current.forEach((t, i) => { const r = document.getElementById("sx-range-" + i),
    b = document.getElementById("sx-num-" + i);
    if (r) r.value = t; if (b) b.value = t; });
}
NET.inputs.forEach((_, i) => {
  const r = document.getElementById("sx-range-" + i), b = document.getElementById("sx-num-" + i);
  if (r) r.addEventListener("input", () => { current[i] = Number(r.value); b.value = r.value; update(); });
  if (b) b.addEventListener("input", () => { const t = Number(b.value);
    if (b.value !== "" && isFinite(t)) { current[i] = t; r.value = t; update(); } });
});
const apply = document.getElementById("sx-apply");
if (apply) apply.addEventListener("click", () => {
  const xs = document.getElementById("sx-many").value.split(",").map(s => Number(s.trim()));
  if (xs.length === current.length && xs.every(isFinite)) { current = xs; update(); }
});
window.addEventListener("hashchange", () => { fromHash(); update(); });
fromHash();
update();
})();
