// gdlab playground: draws and plays back paths computed by gdlab in Python.
// No optimizer or loss formula lives here: the file's runs and the server's answers hold every
// number (path, loss, gradient, the parts of each update); this code looks them up and draws them.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("gdlab-data").textContent);
  const SERVER = DATA.mode === "server";
  const STEPS = DATA.steps;
  // Okabe-Ito colours (distinct for colour-blind readers), with a dash pattern and marker each.
  const COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"];
  const DASHES = [[], [9, 4], [2, 3], [12, 3, 3, 3]];
  const MARKERS = ["circle", "square", "triangle", "diamond"];
  const BETAS = SERVER ? [0.0, 0.5, 0.8, 0.9, 0.95, 0.99] : [0.5, 0.9];
  const B2S = SERVER ? [0.9, 0.99, 0.999] : [0.999];
  const PID = { ki: 0.01, kd: 0.1 };
  const MARGIN = { left: 52, right: 12, top: 12, bottom: 40 };
  const $ = (id) => document.getElementById(id);
  const variants = new Map(DATA.variants.map((v) => [v.key, v]));
  const decoded = new Map();
  const drawn = { runs: [], start: [0, 0] };
  let firstDraw = null;
  let request = 0;

  const view = {
    surface: DATA.variants[0].surface.name, condition: null, batch: "full", seed: 0,
    start: null, startIndex: 0, restarts: false, runs: [], step: STEPS, focus: 0,
    playing: false, speed: 20,
  };

  // ---------- decoding of the stored runs
  function bytesOf(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  async function inflate(b64) {
    const stream = new Blob([bytesOf(b64)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  function half(h) {
    const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    if (e === 0) return sign * Math.pow(2, -14) * (f / 1024);
    if (e === 31) return f ? NaN : sign * Infinity;
    return sign * Math.pow(2, e - 15) * (1 + f / 1024);
  }
  async function contourOf(variant) {
    const key = "contour:" + variant.key;
    if (!decoded.has(key)) {
      const bytes = await inflate(variant.contour.data);
      decoded.set(key, new Float32Array(bytes.buffer, 0, variant.contour.nx * variant.contour.ny));
    }
    return decoded.get(key);
  }
  async function blocksOf(variant) {
    const key = "runs:" + variant.key;
    if (!decoded.has(key)) {
      const bytes = await inflate(variant.runs.data);
      const n32 = variant.runs.bytes32;
      decoded.set(key, {
        f32: new Float32Array(bytes.buffer, 0, n32 / 4),
        f16: new Uint16Array(bytes.buffer, n32, (bytes.length - n32) / 2),
      });
    }
    return decoded.get(key);
  }
  function pairs(values, count) {
    const out = [];
    for (let i = 0; i < count; i++) out.push([values[2 * i], values[2 * i + 1]]);
    return out;
  }
  function storedRun(variant, blocks, index) {
    const S = STEPS, wide = 3 * (S + 1) + 2 * S, narrow = 6 * S;
    const w = blocks.f32.subarray(index * wide, (index + 1) * wide);
    const n = Array.from(blocks.f16.subarray(index * narrow, (index + 1) * narrow), half);
    const stop = variant.runs.stops[index];
    return {
      path: pairs(w.subarray(0, 2 * (S + 1)), S + 1),
      loss: Array.from(w.subarray(2 * (S + 1), 3 * (S + 1))),
      scale: pairs(w.subarray(3 * (S + 1)), S),
      grad: pairs(n.slice(0, 2 * S), S),
      gradient_step: pairs(n.slice(2 * S, 4 * S), S),
      momentum: pairs(n.slice(4 * S, 6 * S), S),
      diverged_at: stop < 0 ? null : stop,
      message: variant.runs.messages[String(index)] || "",
    };
  }

  // ---------- the current variant, its settings and the runs' settings
  function currentVariant() {
    const cond = view.surface === "quadratic" ? view.condition : null;
    const n = variantsFor(view.surface)[0].surface.n_samples;
    const batch = n > 1 ? view.batch : "full";
    const key = `${view.surface}|${cond === null ? "" : String(cond)}|${batch}`;
    return variants.get(key) || variantsFor(view.surface)[0];
  }
  function variantsFor(surface) { return DATA.variants.filter((v) => v.surface.name === surface); }
  function optimizerSettings(run) {
    const s = {};
    if (run.optimizer === "momentum" || run.optimizer === "nesterov") s.momentum = run.momentum;
    if (run.optimizer === "adam") { s.b1 = run.b1; s.b2 = run.b2; }
    if (run.optimizer === "pid") { s.ki = PID.ki; s.kd = PID.kd; }
    return s;
  }
  function runSettings(variant, run) {
    const s = Object.assign({ learning_rate: variant.surface.learning_rates[run.lr] },
      optimizerSettings(run), variant.surface_settings);
    if ("batch_size" in variant.run_settings) {
      s.batch_size = variant.run_settings.batch_size;
      s.seed = SERVER ? view.seed : variant.run_settings.seed;
    }
    return s;
  }
  function sameSettings(a, b) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
  }
  function configIndex(run) {
    const want = optimizerSettings(run);
    return DATA.configs.findIndex((c) => c.optimizer === run.optimizer && sameSettings(c.settings, want));
  }
  function startsToRun(variant) {
    if (view.restarts && variant.restarts.length) {
      return variant.restarts.map((i) => ({ start: variant.starts[i], index: i }));
    }
    return [{ start: view.start, index: view.startIndex }];
  }

  // ---------- getting runs: looked up in the file, or computed by the server
  async function fetchRuns(variant) {
    const jobs = [];
    const starts = startsToRun(variant);
    const runs = view.restarts && variant.restarts.length ? [view.runs[0]] : view.runs;
    runs.forEach((run, r) => starts.forEach((s) => jobs.push({ run, r, start: s })));
    if (SERVER) {
      const body = {
        key: variant.key, steps: STEPS,
        runs: jobs.map((j) => ({ optimizer: j.run.optimizer, start: j.start.start,
          settings: runSettings(variant, j.run) })),
      };
      const response = await fetch("/api/run", { method: "POST", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json" } });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || response.statusText);
      return jobs.map((j, i) => Object.assign(answer.runs[i], j));
    }
    const blocks = await blocksOf(variant);
    const nRates = variant.surface.learning_rates.length, nConfigs = DATA.configs.length;
    return jobs.map((j) => {
      const c = configIndex(j.run);
      const index = (j.start.index * nRates + j.run.lr) * nConfigs + c;
      return Object.assign(storedRun(variant, blocks, index), j);
    });
  }

  async function refresh() {
    const ticket = ++request;
    const variant = currentVariant();
    try {
      const [runs, contour] = await Promise.all([fetchRuns(variant), contourOf(variant)]);
      if (ticket !== request) return;
      drawn.variant = variant;
      drawn.contour = contour;
      drawn.runs = runs.map((r) => ({
        optimizer: r.run.optimizer, settings: runSettings(variant, r.run), start: r.start.start,
        colour: r.r, data: r,
      }));
      drawn.start = view.start;
      $("messages").textContent = runs.filter((r) => r.message).map((r) =>
        `Run ${r.r + 1} (${r.run.optimizer}): gdlab stopped it after ${r.diverged_at} steps. ${r.message}`).join(" ");
      saveUrl();
      draw();
    } catch (error) {
      $("messages").textContent = "Could not get the runs: " + error.message;
    }
  }

  // ---------- drawing
  function sizeCanvas(canvas, aspect) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 600;
    const height = Math.round(Math.min(width * aspect, 640));
    canvas.style.height = height + "px";
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return { ctx, width, height };
  }
  function frame(width, height, surface) {
    const w = width - MARGIN.left - MARGIN.right, h = height - MARGIN.top - MARGIN.bottom;
    const [x0, x1] = surface.xlim, [y0, y1] = surface.ylim;
    return {
      x: (x) => MARGIN.left + ((x - x0) / (x1 - x0)) * w,
      y: (y) => MARGIN.top + (1 - (y - y0) / (y1 - y0)) * h,
      ix: (px) => x0 + ((px - MARGIN.left) / w) * (x1 - x0),
      iy: (py) => y0 + (1 - (py - MARGIN.top) / h) * (y1 - y0),
      w, h,
    };
  }
  function levels(values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const span = hi - lo || 1;
    const t = (v) => Math.log1p((v - lo) / (span * 1e-4)) / Math.log1p(1e4);
    return { t, lo, span, value: (u) => lo + span * 1e-4 * Math.expm1(u * Math.log1p(1e4)) };
  }
  function drawContour(ctx, f, variant, values) {
    const { nx, ny } = variant.contour, L = levels(values), bands = 14;
    const img = document.createElement("canvas");
    img.width = nx; img.height = ny;
    const ictx = img.getContext("2d"), pixels = ictx.createImageData(nx, ny);
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const u = Math.floor(Math.min(0.999, Math.max(0, L.t(values[j * nx + i]))) * bands) / bands;
      const g = Math.round(252 - 78 * u), k = 4 * ((ny - 1 - j) * nx + i);
      pixels.data[k] = g; pixels.data[k + 1] = g + 3; pixels.data[k + 2] = Math.min(255, g + 10); pixels.data[k + 3] = 255;
    }
    ictx.putImageData(pixels, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(img, f.x(variant.surface.xlim[0]), f.y(variant.surface.ylim[1]), f.w, f.h);
    // contour lines by marching squares over the stored grid
    const [x0, x1] = variant.surface.xlim, [y0, y1] = variant.surface.ylim;
    const gx = (i) => f.x(x0 + (i / (nx - 1)) * (x1 - x0)), gy = (j) => f.y(y0 + (j / (ny - 1)) * (y1 - y0));
    ctx.strokeStyle = "rgba(60, 68, 80, 0.45)"; ctx.lineWidth = 0.8; ctx.beginPath();
    for (let b = 1; b < bands; b++) {
      const level = L.value(b / bands);
      for (let j = 0; j < ny - 1; j++) for (let i = 0; i < nx - 1; i++) {
        const v = [values[j * nx + i], values[j * nx + i + 1], values[(j + 1) * nx + i + 1], values[(j + 1) * nx + i]];
        const corners = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], pts = [];
        for (let e = 0; e < 4; e++) {
          const a = v[e], c = v[(e + 1) % 4];
          if ((a < level) !== (c < level)) {
            const s = (level - a) / (c - a), p = corners[e], q = corners[(e + 1) % 4];
            pts.push([gx(p[0] + s * (q[0] - p[0])), gy(p[1] + s * (q[1] - p[1]))]);
          }
        }
        for (let k = 0; k + 1 < pts.length; k += 2) { ctx.moveTo(pts[k][0], pts[k][1]); ctx.lineTo(pts[k + 1][0], pts[k + 1][1]); }
      }
    }
    ctx.stroke();
  }
  function ticks(lo, hi, count) {
    const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / count)));
    const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= count) || step * 10;
    const out = [];
    for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-9 * nice; v += nice) out.push(+v.toPrecision(12));
    return out;
  }
  function axes(ctx, f, surface, width, height) {
    ctx.fillStyle = "#1d2430"; ctx.font = "12px system-ui, sans-serif"; ctx.strokeStyle = "#1d2430";
    ctx.strokeRect(MARGIN.left, MARGIN.top, f.w, f.h);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of ticks(surface.xlim[0], surface.xlim[1], 8)) ctx.fillText(String(t), f.x(t), MARGIN.top + f.h + 4);
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const t of ticks(surface.ylim[0], surface.ylim[1], 6)) ctx.fillText(String(t), MARGIN.left - 5, f.y(t));
    ctx.textAlign = "center"; ctx.textBaseline = "bottom"; ctx.font = "bold 13px system-ui, sans-serif";
    ctx.fillText(surface.axes[0], MARGIN.left + f.w / 2, height - 2);
    ctx.save(); ctx.translate(13, MARGIN.top + f.h / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(surface.axes[1], 0, 0); ctx.restore();
  }
  function marker(ctx, shape, x, y, r) {
    ctx.beginPath();
    if (shape === "circle") ctx.arc(x, y, r, 0, 2 * Math.PI);
    else if (shape === "square") ctx.rect(x - r, y - r, 2 * r, 2 * r);
    else if (shape === "triangle") { ctx.moveTo(x, y - r * 1.2); ctx.lineTo(x + r * 1.1, y + r * 0.8); ctx.lineTo(x - r * 1.1, y + r * 0.8); ctx.closePath(); }
    else { ctx.moveTo(x, y - r * 1.3); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r * 1.3); ctx.lineTo(x - r, y); ctx.closePath(); }
    ctx.fill(); ctx.stroke();
  }
  function arrow(ctx, x0, y0, x1, y1, colour, width, dash) {
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (!(len > 0.5) || !Number.isFinite(len)) return;
    ctx.save(); ctx.strokeStyle = colour; ctx.fillStyle = colour; ctx.lineWidth = width; ctx.setLineDash(dash);
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke(); ctx.setLineDash([]);
    const a = Math.atan2(y1 - y0, x1 - x0), head = Math.min(10, len / 2);
    ctx.beginPath(); ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - head * Math.cos(a - 0.4), y1 - head * Math.sin(a - 0.4));
    ctx.lineTo(x1 - head * Math.cos(a + 0.4), y1 - head * Math.sin(a + 0.4)); ctx.closePath(); ctx.fill();
    ctx.restore();
  }
  function drawSurface() {
    const canvas = $("surface-canvas"), variant = drawn.variant;
    const surface = variant.surface;
    const aspect = (surface.ylim[1] - surface.ylim[0]) / (surface.xlim[1] - surface.xlim[0]);
    const { ctx, width, height } = sizeCanvas(canvas, Math.max(0.55, Math.min(1.0, aspect)));
    const f = frame(width, height, surface);
    drawn.frame = f;
    ctx.clearRect(0, 0, width, height);
    drawContour(ctx, f, variant, drawn.contour);
    ctx.save(); ctx.beginPath(); ctx.rect(MARGIN.left, MARGIN.top, f.w, f.h); ctx.clip();
    ctx.fillStyle = "#000"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1;
    for (const m of surface.minima) { ctx.font = "bold 18px system-ui"; ctx.textAlign = "center"; ctx.textBaseline = "middle"; ctx.fillText("\u2605", f.x(m[0]), f.y(m[1])); }
    if (!SERVER) {
      ctx.strokeStyle = "#1d2430"; ctx.lineWidth = 1.5; ctx.fillStyle = "rgba(255,255,255,0.7)";
      for (const s of variant.starts) marker(ctx, "circle", f.x(s[0]), f.y(s[1]), 4);
    }
    const step = view.step;
    drawn.runs.forEach((run) => {
      const d = run.data, c = COLORS[run.colour], last = lastPoint(d, step);
      ctx.strokeStyle = c; ctx.lineWidth = 2.2; ctx.setLineDash(DASHES[run.colour]);
      ctx.beginPath();
      for (let t = 0; t <= last; t++) {
        const p = d.path[t];
        if (t === 0) ctx.moveTo(f.x(p[0]), f.y(p[1])); else ctx.lineTo(f.x(p[0]), f.y(p[1]));
      }
      ctx.stroke(); ctx.setLineDash([]);
      ctx.fillStyle = c; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.2;
      const p = d.path[last];
      marker(ctx, MARKERS[run.colour], f.x(p[0]), f.y(p[1]), 5.5);
    });
    drawParts(ctx, f);
    ctx.restore();
    if (view.restarts && variant.restarts.length) { axes(ctx, f, surface, width, height); return; }
    // the start handle
    const s = drawn.start;
    ctx.fillStyle = "#fff"; ctx.strokeStyle = "#000"; ctx.lineWidth = 2.5;
    marker(ctx, "circle", f.x(s[0]), f.y(s[1]), 8);
    ctx.fillStyle = "#000"; marker(ctx, "circle", f.x(s[0]), f.y(s[1]), 2.5);
    axes(ctx, f, surface, width, height);
  }
  function lastPoint(d, step) {
    let last = Math.min(step, d.path.length - 1);
    while (last > 0 && !(Number.isFinite(d.path[last][0]) && Number.isFinite(d.path[last][1]))) last--;
    return last;
  }
  function focusRun() {
    return drawn.runs.find((r) => r.colour === view.focus) || drawn.runs[0];
  }
  function drawParts(ctx, f) {
    const run = focusRun(), body = document.querySelector("#parts tbody");
    body.textContent = "";
    const axisNames = drawn.variant.surface.axes;
    $("axis-0").textContent = axisNames[0]; $("axis-1").textContent = axisNames[1];
    if (!run) return;
    const d = run.data, t = Math.min(view.step, STEPS - 1);
    const fmt = (v) => (Number.isFinite(v) ? Number(v).toPrecision(4) : String(v));
    const row = (name, v) => {
      const tr = document.createElement("tr");
      for (const text of [name, fmt(v[0]), fmt(v[1])]) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); }
      body.appendChild(tr);
    };
    if (d.diverged_at !== null && t >= d.diverged_at) { row(`step ${t + 1}: not made (the run was stopped)`, [NaN, NaN]); return; }
    const p = d.path[t], q = d.path[t + 1], g = d.gradient_step[t], s = d.scale[t], m = d.momentum[t];
    row(`point before step ${t + 1}`, p);
    row("gradient g", d.grad[t]);
    row("\u2212learning rate \u00d7 g", g);
    row("adaptive scale (per coordinate)", s);
    row("momentum term", m);
    row("update (new point \u2212 point)", [q[0] - p[0], q[1] - p[1]]);
    // arrows, magnified so that the update is visible
    const ux = f.x(q[0]) - f.x(p[0]), uy = f.y(q[1]) - f.y(p[1]), len = Math.hypot(ux, uy);
    const k = len > 0 && len < 40 ? 40 / len : 1;
    if (!(len * 1e4 > 40)) { $("arrow-scale").textContent = "the update is too small to draw"; return; }
    $("arrow-scale").textContent = k === 1 ? "drawn to scale" : `drawn ${k.toPrecision(2)}\u00d7 longer than they are`;
    const px = f.x(p[0]), py = f.y(p[1]);
    const sx = px + k * (f.x(p[0] + g[0] * s[0]) - px), sy = py + k * (f.y(p[1] + g[1] * s[1]) - py);
    arrow(ctx, px, py, px + k * (f.x(p[0] + g[0]) - px), py + k * (f.y(p[1] + g[1]) - py), "#000", 1.6, []);
    arrow(ctx, sx, sy, px + k * ux, py + k * uy, "#000", 1.6, [4, 3]);
    arrow(ctx, px, py, px + k * ux, py + k * uy, COLORS[run.colour], 3, []);
  }
  function drawLoss() {
    const canvas = $("loss-canvas");
    const { ctx, width, height } = sizeCanvas(canvas, 0.32);
    ctx.clearRect(0, 0, width, height);
    const all = [];
    drawn.runs.forEach((r) => r.data.loss.forEach((v) => { if (Number.isFinite(v)) all.push(v); }));
    if (!all.length) return;
    const positive = all.every((v) => v > 0);
    const tr = positive ? (v) => Math.log10(v) : (v) => v;
    let lo = Math.min(...all.map(tr)), hi = Math.max(...all.map(tr));
    if (hi - lo < 1e-12) { lo -= 1; hi += 1; }
    const cap = positive ? Math.min(hi, tr(all[0]) + 3) : hi;
    const box = { l: 58, r: 10, t: 8, b: 26 }, w = width - box.l - box.r, h = height - box.t - box.b;
    const X = (t) => box.l + (t / STEPS) * w, Y = (v) => box.t + (1 - (Math.min(tr(v), cap) - lo) / (cap - lo)) * h;
    ctx.strokeStyle = "#1d2430"; ctx.lineWidth = 1; ctx.strokeRect(box.l, box.t, w, h);
    ctx.fillStyle = "#1d2430"; ctx.font = "11px system-ui"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const u of [lo, (lo + cap) / 2, cap]) ctx.fillText((positive ? Math.pow(10, u) : u).toPrecision(3), box.l - 4, box.t + (1 - (u - lo) / (cap - lo)) * h);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of ticks(0, STEPS, 5)) ctx.fillText(String(t), X(t), box.t + h + 3);
    ctx.fillText("step", box.l + w / 2, box.t + h + 13);
    drawn.runs.forEach((run) => {
      ctx.strokeStyle = COLORS[run.colour]; ctx.setLineDash(DASHES[run.colour]); ctx.lineWidth = 1.8; ctx.beginPath();
      let on = false;
      run.data.loss.forEach((v, t) => {
        if (!Number.isFinite(v)) { on = false; return; }
        if (on) ctx.lineTo(X(t), Y(v)); else ctx.moveTo(X(t), Y(v));
        on = true;
      });
      ctx.stroke(); ctx.setLineDash([]);
    });
    ctx.strokeStyle = "#555"; ctx.beginPath(); ctx.moveTo(X(view.step), box.t); ctx.lineTo(X(view.step), box.t + h); ctx.stroke();
    const list = $("loss-values");
    list.textContent = "";
    drawn.runs.forEach((run, i) => {
      const li = document.createElement("li"), v = run.data.loss[lastPoint(run.data, view.step)];
      const sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = COLORS[run.colour];
      li.appendChild(sw);
      li.appendChild(document.createTextNode(`${label(run, i)}: loss ${Number.isFinite(v) ? v.toPrecision(8) : v} at step ${lastPoint(run.data, view.step)}`));
      list.appendChild(li);
    });
  }
  function label(run, i) {
    const s = run.settings, parts = [`lr ${s.learning_rate.toPrecision(3)}`];
    if ("momentum" in s) parts.push(`\u03b2 ${s.momentum}`);
    if ("b1" in s) parts.push(`\u03b21 ${s.b1}, \u03b22 ${s.b2}`);
    const where = view.restarts ? ` from (${run.start.map((v) => v.toFixed(2)).join(", ")})` : "";
    return `Run ${run.colour + 1}${view.restarts ? "." + (i + 1) : ""} ${run.optimizer} (${parts.join(", ")})${where}`;
  }
  function draw() {
    if (!drawn.variant) return;
    $("scrub").value = String(view.step);
    $("step-out").textContent = String(view.step);
    drawSurface();
    drawLoss();
    if (firstDraw === null) firstDraw = performance.now();
  }

  // ---------- controls
  function option(select, value, text) {
    const o = document.createElement("option"); o.value = String(value); o.textContent = text; select.appendChild(o);
  }
  function nearestIndex(rates, value) {
    let best = 0;
    rates.forEach((r, i) => { if (Math.abs(Math.log(r / value)) < Math.abs(Math.log(rates[best] / value))) best = i; });
    return best;
  }
  function defaultRun(optimizer, variant) {
    const s = variant.surface;
    const rate = DATA.adaptive.includes(optimizer) ? s.adaptive_learning_rate : s.default_learning_rate;
    return { optimizer, lr: nearestIndex(s.learning_rates, rate), momentum: 0.9, b1: 0.9, b2: 0.999 };
  }
  function selectRow(card, id, text, values, current, onChange) {
    const row = document.createElement("div"); row.className = "row";
    const lab = document.createElement("label"); lab.htmlFor = id; lab.textContent = text;
    const sel = document.createElement("select"); sel.id = id;
    values.forEach((v) => option(sel, v, String(v)));
    sel.value = String(current);
    sel.addEventListener("change", () => onChange(sel.value));
    row.append(lab, sel); card.appendChild(row);
    return sel;
  }
  function renderRuns() {
    const variant = currentVariant(), surface = variant.surface, box = $("runs");
    box.textContent = "";
    view.runs.forEach((run, i) => {
      const card = document.createElement("div"); card.className = "run"; card.style.borderLeftColor = COLORS[i];
      const head = document.createElement("div"); head.className = "head";
      const title = document.createElement("span");
      const sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = COLORS[i];
      title.append(sw, document.createTextNode(`Run ${i + 1} (${MARKERS[i]} marker)`));
      head.appendChild(title);
      if (view.runs.length > 1) {
        const remove = document.createElement("button"); remove.type = "button"; remove.textContent = "Remove";
        remove.setAttribute("aria-label", `Remove run ${i + 1}`);
        remove.addEventListener("click", () => { view.runs.splice(i, 1); view.focus = 0; renderRuns(); refresh(); });
        head.appendChild(remove);
      }
      card.appendChild(head);
      selectRow(card, `optimizer-${i}`, "Optimizer", DATA.optimizers, run.optimizer, (v) => {
        view.runs[i] = Object.assign(defaultRun(v, variant), { momentum: run.momentum, b1: run.b1, b2: run.b2 });
        renderRuns(); refresh();
      });
      const row = document.createElement("div"); row.className = "row";
      const lab = document.createElement("label"); lab.htmlFor = `lr-${i}`; lab.textContent = `Learning rate (run ${i + 1})`;
      const wrap = document.createElement("div"); wrap.className = "lr-wrap";
      const slider = document.createElement("input");
      Object.assign(slider, { type: "range", id: `lr-${i}`, min: "0", max: String(surface.learning_rates.length - 1), step: "1" });
      slider.value = String(run.lr);
      const out = document.createElement("output"); out.htmlFor = `lr-${i}`;
      const show = () => {
        const rate = surface.learning_rates[run.lr];
        out.textContent = rate.toPrecision(3);
        slider.setAttribute("aria-valuetext", `${rate.toPrecision(3)}` + (surface.two_over_l ? `, ${(rate / surface.two_over_l).toPrecision(2)} times 2/L` : ""));
      };
      slider.addEventListener("input", () => { run.lr = Number(slider.value); show(); refresh(); });
      wrap.appendChild(slider);
      if (surface.two_over_l) {
        const rates = surface.learning_rates, lo = Math.log(rates[0]), hi = Math.log(rates[rates.length - 1]);
        const frac = (Math.log(surface.two_over_l) - lo) / (hi - lo);
        if (frac >= 0 && frac <= 1) {
          const mark = document.createElement("span"); mark.className = "mark";
          mark.dataset.value = String(surface.two_over_l); mark.dataset.fraction = String(frac);
          mark.title = `2/L = ${surface.two_over_l.toPrecision(4)} (${surface.two_over_l_where}): plain gradient descent is stable below it`;
          mark.style.left = `calc(8px + (100% - 16px) * ${frac} - 1px)`;
          wrap.appendChild(mark);
        }
      }
      show();
      row.append(lab, wrap, out); card.appendChild(row);
      if (run.optimizer === "momentum" || run.optimizer === "nesterov") {
        selectRow(card, `momentum-${i}`, "Momentum \u03b2", BETAS.filter((b) => b > 0), run.momentum, (v) => { run.momentum = Number(v); refresh(); });
      }
      if (run.optimizer === "adam") {
        selectRow(card, `b1-${i}`, "Adam \u03b21", BETAS, run.b1, (v) => { run.b1 = Number(v); refresh(); });
        selectRow(card, `b2-${i}`, "Adam \u03b22", B2S, run.b2, (v) => { run.b2 = Number(v); refresh(); });
      }
      if (run.optimizer === "pid") {
        const note = document.createElement("p"); note.className = "note";
        note.textContent = `PID gains kp = 1, ki = ${PID.ki}, kd = ${PID.kd} (the lab's).`;
        card.appendChild(note);
      }
      box.appendChild(card);
    });
    $("add-run").disabled = view.runs.length >= 4;
    const focus = $("focus"); focus.textContent = "";
    view.runs.forEach((r, i) => option(focus, i, `Run ${i + 1} (${r.optimizer})`));
    view.focus = Math.min(view.focus, view.runs.length - 1);
    focus.value = String(view.focus);
  }
  function renderSurfaceControls() {
    const variant = currentVariant(), surface = variant.surface;
    $("surface").value = view.surface;
    $("surface-description").textContent = surface.description +
      (surface.two_over_l ? ` 2/L = ${surface.two_over_l.toPrecision(4)} (${surface.two_over_l_where}).` : "");
    const conds = [...new Set(variantsFor(view.surface).map((v) => v.surface_settings.condition).filter((c) => c !== undefined))];
    $("condition-row").hidden = !conds.length;
    const cond = $("condition"); cond.textContent = "";
    conds.forEach((c) => option(cond, c, String(c)));
    if (conds.length) cond.value = String(view.condition);
    const batches = [...new Set(variantsFor(view.surface).filter((v) => "batch_size" in v.run_settings)
      .map((v) => (v.run_settings.batch_size === null ? "full" : String(v.run_settings.batch_size))))];
    $("batch-row").hidden = !batches.length;
    const batch = $("batch"); batch.textContent = "";
    const names = { full: "full batch (gradient descent)", "1": "1 (stochastic)" };
    batches.forEach((b) => option(batch, b, names[b] || `${b} (mini-batch)`));
    if (batches.length) batch.value = view.batch;
    $("seed").disabled = !SERVER; $("seed").value = String(view.seed);
    $("seed").title = SERVER ? "The seed of the mini-batch shuffling" : "The file holds seed 0; run 'gdlab playground --serve' for others";
    const start = $("start-select"); start.textContent = "";
    const short = (v) => String(+v.toPrecision(3));
    variant.starts.forEach((s, i) => option(start, i, `(${short(s[0])}, ${short(s[1])})` + (variant.restarts.includes(i) ? " random" : "")));
    start.hidden = SERVER; document.querySelector("label[for=start-select]").hidden = SERVER;
    $("start-inputs").hidden = !SERVER;
    if (!SERVER) start.value = String(view.startIndex);
    $("start-x").value = String(view.start[0]); $("start-y").value = String(view.start[1]);
    $("restarts-row").hidden = !variant.restarts.length;
    $("restarts").checked = view.restarts;
    $("scrub").max = String(STEPS);
  }
  function setSurface(name, keepRuns) {
    view.surface = name;
    const vs = variantsFor(name);
    if (view.condition === null || !vs.some((v) => v.surface_settings.condition === view.condition)) {
      view.condition = vs[0].surface_settings.condition === undefined ? null : vs[0].surface_settings.condition;
    }
    const variant = currentVariant();
    if (!variant.starts.some((s, i) => i === view.startIndex) || !keepRuns) view.startIndex = 0;
    view.start = variant.starts[view.startIndex].slice();
    if (!keepRuns) view.runs = view.runs.map((r) => Object.assign(defaultRun(r.optimizer, variant), { momentum: r.momentum, b1: r.b1, b2: r.b2 }));
    view.restarts = view.restarts && variant.restarts.length > 0;
  }

  // ---------- the URL keeps the view
  function saveUrl() {
    const variant = currentVariant();
    const runs = view.runs.map((r) => [r.optimizer, variant.surface.learning_rates[r.lr], r.momentum, r.b1, r.b2].join(",")).join(";");
    const params = new URLSearchParams({ surface: view.surface, runs, start: view.start.join(","), step: String(view.step) });
    if (view.condition !== null) params.set("condition", String(view.condition));
    if (variant.surface.n_samples > 1) { params.set("batch", view.batch); params.set("seed", String(view.seed)); }
    if (view.restarts) params.set("restarts", "1");
    history.replaceState(null, "", "#" + params.toString());
  }
  function loadUrl() {
    const params = new URLSearchParams(location.hash.slice(1));
    const surface = params.get("surface");
    if (surface && variantsFor(surface).length) view.surface = surface;
    if (params.get("condition")) view.condition = Number(params.get("condition"));
    if (params.get("batch")) view.batch = params.get("batch");
    if (params.get("seed")) view.seed = Math.max(0, Math.round(Number(params.get("seed")) || 0));
    view.restarts = params.get("restarts") === "1";
    setSurface(view.surface, false);
    const variant = currentVariant();
    view.runs = [defaultRun("sgd", variant), defaultRun("momentum", variant), defaultRun("adam", variant)];
    if (params.get("runs")) {
      const runs = params.get("runs").split(";").slice(0, 4).map((text) => {
        const [opt, lr, mom, b1, b2] = text.split(",");
        if (!DATA.optimizers.includes(opt)) return null;
        const run = defaultRun(opt, variant);
        if (Number(lr) > 0) run.lr = nearestIndex(variant.surface.learning_rates, Number(lr));
        if (BETAS.includes(Number(mom)) && Number(mom) > 0) run.momentum = Number(mom);
        if (BETAS.includes(Number(b1))) run.b1 = Number(b1);
        if (B2S.includes(Number(b2))) run.b2 = Number(b2);
        return run;
      }).filter((r) => r);
      if (runs.length) view.runs = runs;
    }
    const start = (params.get("start") || "").split(",").map(Number);
    if (start.length === 2 && start.every(Number.isFinite)) {
      if (SERVER) view.start = start;
      else {
        const i = variant.starts.findIndex((s) => s[0] === start[0] && s[1] === start[1]);
        if (i >= 0) { view.startIndex = i; view.start = variant.starts[i].slice(); }
      }
    }
    const step = Number(params.get("step"));
    if (params.get("step") !== null && Number.isInteger(step) && step >= 0 && step <= STEPS) view.step = step;
  }

  // ---------- dragging the start
  function pointer(event) {
    const rect = $("surface-canvas").getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }
  function moveStart(px, py, final) {
    const f = drawn.frame, variant = currentVariant();
    if (!f) return;
    if (SERVER) {
      view.start = [+f.ix(px).toPrecision(6), +f.iy(py).toPrecision(6)];
      drawn.start = view.start;
      $("start-x").value = String(view.start[0]); $("start-y").value = String(view.start[1]);
      if (final) refresh(); else draw();
      return;
    }
    let best = 0, bestD = Infinity;
    variant.starts.forEach((s, i) => { const d = Math.hypot(f.x(s[0]) - px, f.y(s[1]) - py); if (d < bestD) { bestD = d; best = i; } });
    if (best !== view.startIndex) {
      view.startIndex = best; view.start = variant.starts[best].slice(); $("start-select").value = String(best); refresh();
    }
  }
  function wireCanvas() {
    const canvas = $("surface-canvas");
    let dragging = false;
    canvas.addEventListener("pointerdown", (e) => {
      const [px, py] = pointer(e), f = drawn.frame;
      if (!f) return;
      dragging = true; canvas.setPointerCapture(e.pointerId);
      if (Math.hypot(f.x(view.start[0]) - px, f.y(view.start[1]) - py) > 12) moveStart(px, py, false);
    });
    canvas.addEventListener("pointermove", (e) => { if (dragging) { const [px, py] = pointer(e); moveStart(px, py, false); } });
    canvas.addEventListener("pointerup", (e) => { if (dragging) { dragging = false; const [px, py] = pointer(e); moveStart(px, py, true); } });
  }

  // ---------- playback
  let lastTick = 0, carry = 0;
  function tick(now) {
    if (!view.playing) return;
    const dt = lastTick ? (now - lastTick) / 1000 : 0;
    lastTick = now; carry += dt * view.speed;
    const advance = Math.floor(carry);
    if (advance > 0) { carry -= advance; view.step = Math.min(STEPS, view.step + advance); draw(); }
    if (view.step >= STEPS) { setPlaying(false); saveUrl(); return; }
    requestAnimationFrame(tick);
  }
  function setPlaying(on) {
    view.playing = on;
    $("play").textContent = on ? "Pause" : "Play";
    $("play").setAttribute("aria-pressed", on ? "true" : "false");
    if (on) { if (view.step >= STEPS) view.step = 0; lastTick = 0; carry = 0; draw(); requestAnimationFrame(tick); }
  }

  function wire() {
    const names = [...new Set(DATA.variants.map((v) => v.surface.name))];
    names.forEach((n) => option($("surface"), n, variantsFor(n)[0].surface.title.split(":")[0].replace(/ \(condition.*/, "")));
    $("surface").addEventListener("change", () => { view.restarts = false; setSurface($("surface").value, false); renderSurfaceControls(); renderRuns(); refresh(); });
    $("condition").addEventListener("change", () => { view.condition = Number($("condition").value); setSurface(view.surface, true); renderSurfaceControls(); renderRuns(); refresh(); });
    $("batch").addEventListener("change", () => { view.batch = $("batch").value; setSurface(view.surface, true); renderSurfaceControls(); renderRuns(); refresh(); });
    $("seed").addEventListener("change", () => { view.seed = Math.max(0, Math.round(Number($("seed").value) || 0)); refresh(); });
    $("start-select").addEventListener("change", () => {
      view.startIndex = Number($("start-select").value); view.start = currentVariant().starts[view.startIndex].slice(); refresh();
    });
    for (const id of ["start-x", "start-y"]) {
      $(id).addEventListener("change", () => {
        const x = Number($("start-x").value), y = Number($("start-y").value);
        if (Number.isFinite(x) && Number.isFinite(y)) { view.start = [x, y]; refresh(); }
      });
    }
    $("restarts").addEventListener("change", () => { view.restarts = $("restarts").checked; refresh(); });
    $("add-run").addEventListener("click", () => {
      if (view.runs.length >= 4) return;
      const used = view.runs.map((r) => r.optimizer);
      const next = DATA.optimizers.find((o) => !used.includes(o)) || "sgd";
      view.runs.push(defaultRun(next, currentVariant())); renderRuns(); refresh();
    });
    $("focus").addEventListener("change", () => { view.focus = Number($("focus").value); draw(); });
    $("play").addEventListener("click", () => setPlaying(!view.playing));
    $("step-button").addEventListener("click", () => { setPlaying(false); view.step = view.step >= STEPS ? 0 : view.step + 1; draw(); saveUrl(); });
    $("scrub").addEventListener("input", () => { setPlaying(false); view.step = Number($("scrub").value); draw(); saveUrl(); });
    $("speed").addEventListener("change", () => { view.speed = Number($("speed").value); });
    let resizeTimer = 0;
    window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(draw, 100); });
    wireCanvas();
  }

  // ---------- the read-only test hook
  const toArray = (v) => (Number.isFinite(v) ? v : null);
  window.gdlabPlayground = Object.freeze({
    state() {
      return {
        surface: drawn.variant ? drawn.variant.surface.name : null,
        start: drawn.start.slice(),
        step: view.step,
        runs: drawn.runs.map((r) => ({
          optimizer: r.optimizer, settings: Object.assign({}, r.settings), start: r.start.slice(),
          path: r.data.path.map((p) => [toArray(p[0]), toArray(p[1])]),
        })),
      };
    },
    ready() { return drawn.variant !== undefined && firstDraw !== null; },
    firstDrawMs() { return firstDraw; },
    toScreen(x, y) {
      const rect = $("surface-canvas").getBoundingClientRect(), f = drawn.frame;
      return [rect.left + f.x(x), rect.top + f.y(y)];
    },
  });

  $("mode-note").textContent = SERVER
    ? "Served by gdlab on this computer: drag the start anywhere; every setting is computed exactly on demand."
    : `This file holds ${DATA.variants.reduce((n, v) => n + (v.runs ? v.runs.n_runs : 0), 0)} precomputed runs; ` +
      "the start snaps to the nearest held point. 'gdlab playground --serve' computes any start and setting.";
  loadUrl();
  wire();
  renderSurfaceControls();
  renderRuns();
  refresh();
})();
