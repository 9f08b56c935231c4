// asyncsim's interactive timeline: draws the data of <script id="timeline-data"> on a canvas.
// Zoom (wheel, buttons, double-click) and pan (drag) on the time axis; hover for details;
// click a task for its row of the task table; click a group to open its tasks' rows.
// Only the rows on screen are drawn, and each row's bars are found by binary search.
(function () {
  "use strict";
  const root = document.getElementById("timeline");
  const D = JSON.parse(document.getElementById("timeline-data").textContent);
  const S = D.strings;
  const t0Load = performance.now();
  const ROW = 22, AXIS = 24, GUTTER = 230, NS = 1e9;
  const scroller = root.querySelector(".tl-scroll");
  const canvas = scroller.querySelector("canvas");
  const spacer = scroller.querySelector(".tl-spacer");
  const tip = root.querySelector(".tl-tip");
  const detail = root.querySelector(".tl-detail");
  const ctx = canvas.getContext("2d");
  const colours = D.states.map((s) => s[2]);
  const stateNames = D.states.map((s) => s[1]);
  let view = { a: 0, b: Math.max(D.end, 1) };  // visible window, ticks from the start
  let showCritical = true;
  let selected = -1;
  const open = new Set();  // groups whose tasks are shown
  let rows = [];

  // -- rows: tasks, or groups (and the tasks of the open groups), then span rows --------
  const spansOf = new Map();
  D.spans.forEach((s, i) => { if (!spansOf.has(s[0])) spansOf.set(s[0], []); spansOf.get(s[0]).push(i); });
  function buildRows() {
    rows = [];
    if (spansOf.has(-1)) rows.push({ kind: "spans", task: -1 });
    const addTask = (t, depth) => {
      rows.push({ kind: "task", task: t, depth });
      if (spansOf.has(t)) rows.push({ kind: "spans", task: t });
    };
    if (D.groups.length) {
      D.groups.forEach((g, i) => {
        rows.push({ kind: "group", group: i });
        if (open.has(i)) g.tasks.forEach((t) => addTask(t, 1));
      });
    } else {
      D.order.forEach((t) => addTask(t, 0));
    }
    (D.lanes || []).forEach((l, i) => rows.push({ kind: "lane", lane: i }));
    spacer.style.height = Math.max(0, rows.length * ROW + AXIS - height()) + "px";
  }
  const rowOfTask = () => { const m = new Map(); rows.forEach((r, i) => { if (r.kind === "task") m.set(r.task, i); }); return m; };
  let taskRow = new Map();

  // -- geometry -------------------------------------------------------------------------
  function width() { return root.clientWidth - 2; }
  function height() { return Math.min(Math.max(rows.length * ROW + AXIS + 4, 120), Math.floor(innerHeight * 0.7)); }
  function x(t) { return GUTTER + (t - view.a) / (view.b - view.a) * (width() - GUTTER - 8); }
  function tAt(px) { return view.a + (px - GUTTER) / (width() - GUTTER - 8) * (view.b - view.a); }
  function yOf(i) { return AXIS + i * ROW - scroller.scrollTop; }
  function fmt(ticks) {
    const s = ticks / NS, a = Math.abs(s);
    if (a === 0) return "0 s";
    if (a >= 1) return +s.toPrecision(4) + " s";
    if (a >= 1e-3) return +(s * 1e3).toPrecision(4) + " ms";
    if (a >= 1e-6) return +(s * 1e6).toPrecision(4) + " µs";
    return +(s * 1e9).toPrecision(4) + " ns";
  }
  function firstBar(flat, t) {  // first bar (index of 4) whose end >= t
    let lo = 0, hi = flat.length / 4;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (flat[mid * 4 + 2] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function fits(text, room) { return ctx.measureText(text).width <= room; }

  // -- drawing --------------------------------------------------------------------------
  function resize() {
    const w = width(), h = height(), r = devicePixelRatio || 1;
    canvas.width = Math.round(w * r); canvas.height = Math.round(h * r);
    canvas.style.width = w + "px"; canvas.style.height = h + "px";
    ctx.setTransform(r, 0, 0, r, 0, 0);
  }
  function draw() {
    const w = width(), h = height();
    ctx.clearRect(0, 0, w, h);
    ctx.font = "11px system-ui,sans-serif";
    ctx.textBaseline = "middle";
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW));
    const last = Math.min(rows.length, first + Math.ceil((h - AXIS) / ROW) + 1);
    drawGrid(h);
    for (let i = first; i < last; i++) drawRow(i);
    if (showCritical) drawCritical(first, last);
    drawMarks(h);
    drawAxis(w);
  }
  function ticksFor() {
    const span = (view.b - view.a) / NS, target = (width() - GUTTER) / 90;
    let step = Math.pow(10, Math.floor(Math.log10(span / target)));
    for (const m of [1, 2, 5, 10]) if (span / (step * m) <= target) { step *= m; break; }
    return step * NS;
  }
  function drawGrid(h) {
    const step = ticksFor();
    ctx.strokeStyle = "#e6e6e6"; ctx.lineWidth = 1;
    for (let t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
      const px = Math.round(x(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(px, AXIS); ctx.lineTo(px, h); ctx.stroke();
    }
  }
  function drawAxis(w) {
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, AXIS);
    ctx.fillStyle = "#333"; ctx.textAlign = "center";
    const step = ticksFor();
    for (let t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
      const px = x(t);
      if (px > GUTTER + 10 && px < w - 20) ctx.fillText(fmt(t), px, AXIS / 2);
    }
    ctx.textAlign = "left";
    ctx.fillText("virtual time", 6, AXIS / 2);
    ctx.strokeStyle = "#bbb"; ctx.beginPath(); ctx.moveTo(0, AXIS - 0.5); ctx.lineTo(w, AXIS - 0.5); ctx.stroke();
  }
  function rowLabel(r) {
    if (r.kind === "group") { const g = D.groups[r.group]; return (open.has(r.group) ? "▾ " : "▸ ") + S[g.label] + "  ×" + g.tasks.length; }
    if (r.kind === "spans") return r.task < 0 ? "spans" : "  ↳ spans";
    if (r.kind === "lane") return S[D.lanes[r.lane].label];
    const t = D.tasks[r.task];
    return (r.depth ? "    " : "") + S[t[0]] + "  " + S[t[1]];
  }
  function clipText(text, room) {
    if (fits(text, room)) return text;
    let lo = 0, hi = text.length;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (fits(text.slice(0, mid) + "…", room)) lo = mid; else hi = mid - 1; }
    return text.slice(0, lo) + "…";
  }
  function drawRow(i) {
    const r = rows[i], y = yOf(i), w = width();
    if (r.kind === "task" && r.task === selected) { ctx.fillStyle = "#fff3c4"; ctx.fillRect(0, y, w, ROW); }
    ctx.save(); ctx.beginPath(); ctx.rect(GUTTER, y, w - GUTTER, ROW); ctx.clip();
    if (r.kind === "task") drawTask(r.task, y);
    else if (r.kind === "group") drawGroup(D.groups[r.group], y);
    else if (r.kind === "lane") drawLane(D.lanes[r.lane], y);
    else drawSpans(r.task, y);
    ctx.restore();
    ctx.fillStyle = r.kind === "task" && r.task === selected ? "#fff3c4" : "#fff";
    ctx.fillRect(0, y, GUTTER - 4, ROW);
    ctx.fillStyle = "#222"; ctx.textAlign = "left";
    ctx.fillText(clipText(rowLabel(r), GUTTER - 12), 6, y + ROW / 2);
    if (r.kind === "lane" && D.lanes[r.lane].first) {  // a rule above each lane
      ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(0, y + 0.5); ctx.lineTo(w, y + 0.5); ctx.stroke();
    }
  }
  // The lanes of the models (requests, connections, a service's busy and queue), below the
  // tasks: bars, or a step function drawn as heights (a share of its scale).
  const LANE_COLOURS = { open: "#5b7db1", busy: "#2ca02c", queued: "#ff7f0e" };
  function drawLane(l, y) {
    if (l.what === "bars") {
      const f = l.items;
      for (let k = 0; k < f.length; k += 5) {
        if (f[k + 1] < view.a) continue;
        if (f[k] > view.b) break;
        const xa = x(f[k]), xb = Math.max(x(f[k + 1]), xa + 1.5);
        ctx.fillStyle = S[f[k + 3]]; ctx.fillRect(xa, y + 3, xb - xa, ROW - 6);
        const text = S[f[k + 2]];
        if (ctx.measureText(text).width + 6 <= Math.min(xb, width()) - Math.max(xa, GUTTER)) {
          ctx.fillStyle = "#fff"; ctx.textAlign = "center";
          ctx.fillText(text, (Math.max(xa, GUTTER) + Math.min(xb, width())) / 2, y + ROW / 2);
        }
      }
      return;
    }
    const e = l.edges, v = l.values;
    ctx.fillStyle = LANE_COLOURS[l.unit];
    for (let k = 0; k < e.length; k++) {
      const b = k + 1 < e.length ? e[k + 1] : D.end;
      if (b < view.a || !v[k]) continue;
      if (e[k] > view.b) break;
      const xa = x(e[k]), xb = Math.max(x(b), xa + 0.5), hgt = (ROW - 6) * Math.min(1, v[k] / l.scale);
      ctx.fillRect(xa, y + ROW - 3 - hgt, xb - xa, hgt);
    }
  }
  function drawTask(task, y) {
    const flat = D.bars[task];
    const lo = firstBar(flat, view.a);
    const labels = [];
    for (let k = lo * 4; k < flat.length; k += 4) {
      const a = flat[k + 1], b = flat[k + 2];
      if (a > view.b) break;
      const xa = x(a), xb = Math.max(x(b), xa + 1.5);
      ctx.fillStyle = colours[flat[k]];
      const hgt = flat[k] === 5 ? ROW - 8 : ROW - 6;
      ctx.fillRect(xa, y + (ROW - hgt) / 2, xb - xa, hgt);
      if (flat[k] !== 0 && flat[k + 3] >= 0 && xb - xa > 24) labels.push([xa, xb, flat[k + 3]]);
    }
    for (const d of D.delays) if (d[0] === task) hatch(x(d[1]), x(d[2]), y);
    const tsk = D.tasks[task];
    if (tsk[4] >= 0 && S[tsk[5]] !== "result") {
      const px = x(tsk[4]);
      ctx.fillStyle = S[tsk[5]] === "exception" ? "#c00000" : "#555"; ctx.font = "bold 13px system-ui";
      ctx.fillText("×", px - 4, y + ROW / 2); ctx.font = "11px system-ui,sans-serif";
    }
    ctx.fillStyle = "#1a1a1a"; ctx.textAlign = "center";
    let lastEnd = -1, lastWait = -1;
    for (const [xa, xb, ref] of labels) {  // merge the parts of one wait (sleeping, then ready)
      if (ref === lastWait) continue;
      lastWait = ref;
      const options = S[D.waits[ref][4]].split(" | ");
      const left = Math.max(xa, GUTTER), right = Math.min(xb, width());
      for (const text of options) {
        const tw = ctx.measureText(text).width;
        if (tw + 6 <= right - left && left > lastEnd) { ctx.fillText(text, (left + right) / 2, y + ROW / 2); lastEnd = right; break; }
      }
    }
  }
  function hatch(xa, xb, y) {
    ctx.save(); ctx.beginPath(); ctx.rect(xa, y + 2, Math.max(xb - xa, 1), ROW - 4); ctx.clip();
    ctx.strokeStyle = "#d62728"; ctx.lineWidth = 1.2;
    for (let px = xa - ROW; px < xb; px += 6) { ctx.beginPath(); ctx.moveTo(px, y + ROW); ctx.lineTo(px + ROW, y); ctx.stroke(); }
    ctx.strokeRect(xa, y + 2, Math.max(xb - xa, 1), ROW - 4);
    ctx.restore();
  }
  function drawGroup(g, y) {
    const n = g.tasks.length, e = g.edges;
    if (!e.length) return;
    let lo = 0, hi = e.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (e[mid + 1] < view.a) lo = mid + 1; else hi = mid; }
    for (let k = lo; k < e.length - 1 && e[k] <= view.b; k++) {
      const xa = x(e[k]), xb = Math.max(x(e[k + 1]), xa + 0.5);
      let base = y + ROW - 3;
      for (let s = 0; s < g.counts.length; s++) {
        const c = g.counts[s].length ? g.counts[s][k] : 0;
        if (!c) continue;
        const hgt = (ROW - 6) * c / n;
        ctx.fillStyle = colours[s]; ctx.fillRect(xa, base - hgt, xb - xa, hgt);
        base -= hgt;
      }
    }
  }
  function drawSpans(task, y) {
    for (const i of spansOf.get(task) || []) {
      const s = D.spans[i], xa = x(s[1]), xb = Math.max(x(s[2]), xa + 1);
      ctx.fillStyle = "#6b6b6b"; ctx.fillRect(xa, y + 4, xb - xa, ROW - 8);
      const text = S[s[3]];
      if (ctx.measureText(text).width + 6 <= xb - xa) { ctx.fillStyle = "#fff"; ctx.textAlign = "center"; ctx.fillText(text, (xa + xb) / 2, y + ROW / 2); }
    }
  }
  function groupRowOf() { const m = new Map(); rows.forEach((r, i) => { if (r.kind === "group") for (const t of D.groups[r.group].tasks) if (!taskRow.has(t)) m.set(t, i); }); return m; }
  let groupRow = new Map();
  function rowFor(task) { return taskRow.has(task) ? taskRow.get(task) : groupRow.get(task); }
  function drawCritical(first, last) {
    ctx.strokeStyle = "#111"; ctx.lineWidth = 3;
    ctx.save(); ctx.beginPath(); ctx.rect(GUTTER, AXIS, width() - GUTTER, height() - AXIS); ctx.clip();
    let prev = null;
    ctx.beginPath();
    for (const c of D.critical) {
      if (c[0] < 0) continue;
      const i = rowFor(c[0]);
      if (i === undefined) continue;
      const y = yOf(i) + ROW - 5, xa = x(c[1]), xb = x(c[2]);
      if (prev && prev[1] !== y) { ctx.moveTo(prev[0], prev[1]); ctx.lineTo(xa, y); }
      ctx.moveTo(xa, y); ctx.lineTo(xb, y);
      prev = [xb, y];
    }
    ctx.stroke(); ctx.restore();
  }
  function drawMarks(h) {
    ctx.save(); ctx.setLineDash([2, 3]); ctx.strokeStyle = "#444";
    let lastEnd = -1;
    for (const m of D.marks) {
      const px = x(m[0]);
      if (px < GUTTER || px > width()) continue;
      ctx.beginPath(); ctx.moveTo(px, AXIS); ctx.lineTo(px, h); ctx.stroke();
      const text = S[m[1]], tw = ctx.measureText(text).width;
      if (px + 3 > lastEnd && px + 3 + tw < width()) { ctx.fillStyle = "#444"; ctx.textAlign = "left"; ctx.fillText(text, px + 3, AXIS + 8); lastEnd = px + 3 + tw + 6; }
    }
    ctx.restore();
  }

  // -- hover and click ---------------------------------------------------------------------
  function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }
  function hit(px, py) {
    const i = Math.floor((py - AXIS + scroller.scrollTop) / ROW);
    if (py < AXIS || i < 0 || i >= rows.length) return null;
    const r = rows[i], t = tAt(px);
    if (px < GUTTER) return { row: i, r, gutter: true };
    const tol = (view.b - view.a) / (width() - GUTTER) * 3;
    if (showCritical) {
      for (const c of D.critical) {
        if (c[0] >= 0 && rowFor(c[0]) === i && c[1] - tol <= t && t <= c[2] + tol && py > yOf(i) + ROW - 9) return { row: i, r, critical: c };
      }
    }
    if (r.kind === "task") {
      const flat = D.bars[r.task];
      for (let k = Math.max(0, firstBar(flat, t - tol) - 1) * 4; k < flat.length && flat[k + 1] <= t + tol; k += 4) {
        if (flat[k + 1] - tol <= t && t <= flat[k + 2] + tol) {
          for (const d of D.delays) if (d[0] === r.task && d[1] <= t && t <= d[2]) return { row: i, r, bar: k, delay: d };
          return { row: i, r, bar: k };
        }
      }
    }
    if (r.kind === "spans") for (const s of spansOf.get(r.task) || []) { const sp = D.spans[s]; if (sp[1] <= t && t <= sp[2]) return { row: i, r, span: sp }; }
    if (r.kind === "lane" && D.lanes[r.lane].what === "bars") {
      const f = D.lanes[r.lane].items;
      for (let k = 0; k < f.length && f[k] <= t + tol; k += 5) if (f[k] - tol <= t && t <= f[k + 1] + tol) return { row: i, r, item: k };
      return null;
    }
    return { row: i, r, t };
  }
  function line(k, v) { return v ? `<span class="k">${k}</span> ${esc(v)}<br>` : ""; }
  function describe(h) {
    if (h.critical) {
      const c = h.critical;
      return `<b>critical path: ${esc(S[c[3]])}</b>` + line("this term", fmt(c[2] - c[1]) + " (" + fmt(c[1]) + " → " + fmt(c[2]) + ")") + line("where", S[c[4]]) + line("inside", S[c[5]]);
    }
    const r = h.r;
    if (r.kind === "group") {
      const g = D.groups[r.group], e = g.edges, t = h.t !== undefined ? h.t : tAt(0);
      let k = 0; while (k < e.length - 1 && e[k + 1] <= t) k++;
      let out = `<b>${esc(S[g.label])}: ${g.tasks.length} tasks</b>` + line("at", fmt(t));
      g.counts.forEach((c, s) => { if (c.length && c[k]) out += line(stateNames[s], c[k] + " tasks"); });
      return out + '<span class="k">click to ' + (open.has(r.group) ? "close" : "open") + " its rows</span>";
    }
    if (r.kind === "lane") {
      const l = D.lanes[r.lane];
      if (h.item !== undefined) {
        const f = l.items, k = h.item;
        return `<b>${esc(S[l.lane])}: ${esc(S[f[k + 2]])}</b>` + line("duration", fmt(f[k + 1] - f[k]) + " (" + fmt(f[k]) + " → " + fmt(f[k + 1]) + ")") + line("details", S[f[k + 4]]);
      }
      const e = l.edges, t = h.t !== undefined ? h.t : 0;
      let k = -1; while (k + 1 < e.length && e[k + 1] <= t) k++;
      const value = k >= 0 ? l.values[k] : 0;
      return `<b>${esc(S[l.label])}</b>` + line("at", fmt(t)) + line(l.unit, value + (l.unit === "busy" ? " of " + l.scale : " (max " + l.scale + ")"));
    }
    if (h.span) return `<b>span ${esc(S[h.span[3]])}</b>` + line("from", fmt(h.span[1]) + " to " + fmt(h.span[2]) + " (" + fmt(h.span[2] - h.span[1]) + ")");
    if (r.kind !== "task") return "";
    const t = D.tasks[r.task];
    let out = `<b>${esc(S[t[0]])} · ${esc(S[t[1]])}</b>`;
    if (h.bar === undefined) return out + line("outcome", S[t[5]] + (S[t[6]] ? ": " + S[t[6]] : "")) + line("created at", S[t[7]]);
    const flat = D.bars[r.task], k = h.bar, state = flat[k], ref = flat[k + 3];
    out += line("state", stateNames[state]) + line("duration", fmt(flat[k + 2] - flat[k + 1]) + " (" + fmt(flat[k + 1]) + " → " + fmt(flat[k + 2]) + ")");
    if (state === 0 && ref >= 0) {
      const st = D.steps[ref];
      out += line("woken by", S[st[0]]) + line("where", S[st[1]]) + line("inside", S[st[2]]);
    } else if (ref >= 0) {
      const wt = D.waits[ref];
      out += line("waited on", S[wt[0]]) + line("why it ended", S[wt[3]]) + line("where", S[wt[1]]) + line("inside", S[wt[2]]);
    }
    if (h.delay) out += line("injected", S[h.delay[3]]);
    return out;
  }
  function showTip(ev) {
    const rect = canvas.getBoundingClientRect(), h = hit(ev.clientX - rect.left, ev.clientY - rect.top);
    const html = h ? describe(h) : "";
    if (!html) { tip.hidden = true; return; }
    tip.innerHTML = html; tip.hidden = false;
    const box = root.getBoundingClientRect();
    let left = ev.clientX - box.left + 14, top = ev.clientY - box.top + 14;
    if (left + tip.offsetWidth > box.width) left = Math.max(0, ev.clientX - box.left - tip.offsetWidth - 14);
    tip.style.left = left + "px"; tip.style.top = top + "px";
  }
  function select(task) {
    selected = task;
    const t = D.tasks[task], row = document.getElementById("task-" + task);
    detail.hidden = false;
    if (row) {
      detail.innerHTML = "<table>" + (document.querySelector("#tasks thead") || { outerHTML: "" }).outerHTML + row.outerHTML.replace(/ id="[^"]*"/, "") + "</table>" +
        `<a href="#task-${task}">→ ${esc(S[t[0]])} in the task table</a>`;
    } else {
      detail.innerHTML = `<b>${esc(S[t[0]])}</b> ${esc(S[t[1]])}: ${esc(S[t[5]])} ${esc(S[t[6]])}, created at ${esc(S[t[7]])} (not in the task table, which lists the first tasks only)`;
    }
    draw();
  }
  // -- zoom and pan ------------------------------------------------------------------------
  function zoom(factor, at) {
    const span = view.b - view.a, total = Math.max(D.end, 1);
    let next = Math.min(Math.max(span * factor, 1000), total);
    const frac = (at - view.a) / span;
    let a = at - frac * next;
    a = Math.min(Math.max(a, 0), total - next);
    view = { a, b: a + next };
    draw();
  }
  canvas.addEventListener("wheel", (ev) => {
    if (ev.shiftKey) { scroller.scrollTop += ev.deltaY || ev.deltaX; ev.preventDefault(); return; }
    ev.preventDefault();
    const rect = canvas.getBoundingClientRect(), px = ev.clientX - rect.left;
    zoom(Math.pow(1.0015, ev.deltaY), px > GUTTER ? tAt(px) : (view.a + view.b) / 2);
  }, { passive: false });
  let dragging = null;
  canvas.addEventListener("mousedown", (ev) => { dragging = { x: ev.clientX, y: ev.clientY, a: view.a, b: view.b, top: scroller.scrollTop, moved: false }; canvas.classList.add("drag"); });
  addEventListener("mouseup", () => { dragging = null; canvas.classList.remove("drag"); });
  canvas.addEventListener("mousemove", (ev) => {
    if (dragging && (ev.buttons & 1)) {
      const dx = ev.clientX - dragging.x, dy = ev.clientY - dragging.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) dragging.moved = true;
      const per = (dragging.b - dragging.a) / (width() - GUTTER - 8), total = Math.max(D.end, 1);
      let a = Math.min(Math.max(dragging.a - dx * per, 0), total - (dragging.b - dragging.a));
      view = { a, b: a + (dragging.b - dragging.a) };
      scroller.scrollTop = dragging.top - dy;
      tip.hidden = true; draw(); return;
    }
    showTip(ev);
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (ev) => {
    if (dragging && dragging.moved) return;
    const rect = canvas.getBoundingClientRect(), h = hit(ev.clientX - rect.left, ev.clientY - rect.top);
    if (!h) return;
    if (h.r.kind === "group") { open.has(h.r.group) ? open.delete(h.r.group) : open.add(h.r.group); refresh(); return; }
    if (h.r.kind === "task") select(h.r.task);
  });
  canvas.addEventListener("dblclick", (ev) => { const rect = canvas.getBoundingClientRect(); zoom(0.4, tAt(ev.clientX - rect.left)); });
  root.querySelector('[data-zoom="in"]').onclick = () => zoom(0.5, (view.a + view.b) / 2);
  root.querySelector('[data-zoom="out"]').onclick = () => zoom(2, (view.a + view.b) / 2);
  root.querySelector('[data-zoom="all"]').onclick = () => { view = { a: 0, b: Math.max(D.end, 1) }; draw(); };
  root.querySelector("[data-critical]").onchange = (ev) => { showCritical = ev.target.checked; draw(); };
  scroller.addEventListener("scroll", () => { tip.hidden = true; draw(); });
  addEventListener("resize", () => { resize(); draw(); });
  function refresh() { buildRows(); taskRow = rowOfTask(); groupRow = groupRowOf(); resize(); draw(); }
  refresh();
  // Measurements for the browser checks: how long the first drawing took, and an API to
  // time a zoom (window.asyncsimTimeline.zoom(0.5) returns milliseconds).
  window.asyncsimTimeline = {
    loadMs: performance.now() - t0Load,
    rows: () => rows.length,
    view: () => [view.a, view.b],
    zoom: (factor) => { const t = performance.now(); zoom(factor, (view.a + view.b) / 2); return performance.now() - t; },
    open: (group) => { open.add(group); refresh(); },
    select,
  };
})();
