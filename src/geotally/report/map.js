// geotally report map: a canvas of the scene quicklook, zones, border, footprints and queues,
// in scene pixel coordinates, with pan, zoom, layer toggles and hover details. No network use
// unless the report was built with a basemap URL.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("geotally-data").textContent);
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const tip = document.getElementById("tip");
  const n = D.cls.length;
  const layers = {quicklook: true, heat: false, zones: true, border: true, roads: true, route: true, detections: true,
                  queues: true, basemap: !!D.basemap};
  const view = {s: 1, x: 0, y: 0};
  let dateSel = -1;  // index into D.dates, or -1 for every date
  const classOn = D.classes.map(() => true);
  let scoreMin = 0;
  const typeOn = D.type_names.map(() => true);
  let byType = false;
  const shown = (i) => (dateSel < 0 || D.date[i] === dateSel) && classOn[D.cls[i]] && D.score[i] >= scoreMin &&
    (D.ttype[i] < 0 || typeOn[D.ttype[i]]);
  const img = new Image();
  let imgReady = false;
  img.onload = function () { imgReady = true; draw(); };
  img.src = D.quicklook;

  // Centres and a bucket grid for hover look-ups.
  const cx = new Float64Array(n), cy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sx = 0, sy = 0;
    for (let k = 0; k < 4; k++) { sx += D.xy[i * 8 + 2 * k]; sy += D.xy[i * 8 + 2 * k + 1]; }
    cx[i] = sx / 4; cy[i] = sy / 4;
  }
  const B = 64, grid = new Map();
  for (let i = 0; i < n; i++) {
    const key = Math.floor(cx[i] / B) + "," + Math.floor(cy[i] / B);
    if (!grid.has(key)) grid.set(key, []);
    grid.get(key).push(i);
  }

  function fit() {
    const r = canvas.getBoundingClientRect();
    canvas.width = r.width; canvas.height = r.height;
    view.s = Math.min(canvas.width / D.width, canvas.height / D.height);
    view.x = (canvas.width - D.width * view.s) / 2;
    view.y = (canvas.height - D.height * view.s) / 2;
  }

  function path(points) {
    ctx.beginPath();
    for (let k = 0; k < points.length; k++) {
      const p = points[k];
      if (k === 0) ctx.moveTo(p[0], p[1]); else ctx.lineTo(p[0], p[1]);
    }
  }

  function drawHeat() {
    const h = D.heat; let top = 1;
    for (const c of h.counts) top = Math.max(top, c);
    for (let r = 0; r < h.h; r++) for (let c = 0; c < h.w; c++) {
      const v = h.counts[r * h.w + c];
      if (!v) continue;
      ctx.fillStyle = "rgba(255,0,0," + (0.15 + 0.6 * v / top).toFixed(3) + ")";
      ctx.fillRect(c * h.cell, r * h.cell, h.cell, h.cell);
    }
  }

  function drawBasemap() {
    if (!D.basemap || !D.lonlat_to_px) return;
    const a = D.lonlat_to_px, z = D.basemap_zoom;
    for (const t of D.basemap_tiles) {
      const im = tiles[t.key];
      if (!im || !im.complete) continue;
      const x0 = a[0] * t.w + a[1] * t.n + a[2], y0 = a[3] * t.w + a[4] * t.n + a[5];
      const x1 = a[0] * t.e + a[1] * t.s + a[2], y1 = a[3] * t.e + a[4] * t.s + a[5];
      ctx.drawImage(im, x0, y0, x1 - x0, y1 - y0);
    }
  }
  const tiles = {};
  if (D.basemap) {
    for (const t of D.basemap_tiles) {
      const im = new Image();
      im.crossOrigin = "anonymous";
      im.onload = draw;
      im.src = D.basemap.replace("{z}", t.z).replace("{x}", t.x).replace("{y}", t.y);
      tiles[t.key] = im;
    }
  }

  function draw() {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#222"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(view.s, 0, 0, view.s, view.x, view.y);
    const lw = 1.5 / view.s;
    if (layers.basemap) drawBasemap();
    if (layers.quicklook && imgReady) ctx.drawImage(img, 0, 0, D.width, D.height);
    if (layers.heat) drawHeat();
    if (layers.zones) {
      ctx.lineWidth = 2 * lw; ctx.strokeStyle = "#ffff00";
      for (const ring of D.zone_polygons) { path(ring); ctx.closePath(); ctx.stroke(); }
      ctx.font = "bold " + (15 / view.s) + "px system-ui, sans-serif";
      ctx.textAlign = "center"; ctx.textBaseline = "middle";
      ctx.lineWidth = 3 / view.s; ctx.strokeStyle = "#000000"; ctx.fillStyle = "#ffff00";
      for (const [x, y, name] of D.zone_labels || []) { ctx.strokeText(name, x, y); ctx.fillText(name, x, y); }
    }
    if (layers.border) {
      ctx.lineWidth = 3 * lw; ctx.strokeStyle = "#ff00ff";
      for (const line of D.border) { path(line); ctx.stroke(); }
    }
    if (layers.roads) {
      ctx.lineWidth = 4 * lw;
      D.roads.forEach((line, i) => { ctx.strokeStyle = D.road_colours[i]; path(line); ctx.stroke(); });
    }
    if (layers.route) {
      ctx.lineWidth = 7 * lw; ctx.strokeStyle = "#ffffffb0";
      for (const line of D.route) { path(line); ctx.stroke(); }
    }
    canvas.dataset.drawnRoads = String(layers.roads ? D.roads.length : 0);
    canvas.dataset.drawnRoute = String(layers.route ? D.route.length : 0);
    let drawn = 0;
    if (layers.detections) {
      // Paths of a few hundred footprints per class: far fewer strokes than footprints, and
      // each path small enough for the rasteriser.
      ctx.lineWidth = lw;
      // one pass per class colour, then (colouring by type) one per trailer type
      const groups = byType ? D.classes.map((_, c) => [D.colours[c], (i) => D.cls[i] === c && D.ttype[i] < 0])
        .concat(D.type_names.map((_, t) => [D.type_colours[t], (i) => D.ttype[i] === t]))
        : D.classes.map((_, c) => [D.colours[c], (i) => D.cls[i] === c]);
      for (const [colour, member] of groups) {
        ctx.strokeStyle = colour;
        let inPath = 0;
        ctx.beginPath();
        for (let i = 0; i < n; i++) {
          if (!member(i) || !shown(i)) continue;
          const o = i * 8;
          ctx.moveTo(D.xy[o], D.xy[o + 1]); ctx.lineTo(D.xy[o + 2], D.xy[o + 3]);
          ctx.lineTo(D.xy[o + 4], D.xy[o + 5]); ctx.lineTo(D.xy[o + 6], D.xy[o + 7]); ctx.closePath();
          drawn++;
          if (++inPath === 256) { ctx.stroke(); ctx.beginPath(); inPath = 0; }
        }
        if (inPath) ctx.stroke();
      }
    }
    let queuesDrawn = 0;
    if (layers.queues) {
      ctx.lineWidth = 2.5 * lw; ctx.strokeStyle = "#00e5ff";
      D.queues.forEach((line, k) => {
        if (dateSel >= 0 && D.queue_dates[k] !== dateSel) return;
        path(line); ctx.stroke(); queuesDrawn++;
      });
    }
    drawScale();
    canvas.dataset.drawnFootprints = String(drawn);
    const sc = document.getElementById("shown-count");
    if (sc) sc.textContent = drawn + " of " + n + " vehicles shown";
    canvas.dataset.drawnQueues = String(queuesDrawn);
    canvas.dataset.date = dateSel < 0 ? "" : D.dates[dateSel];
  }

  function drawScale() {
    // A bar of a round number of metres, at most 140 screen pixels long, bottom left.
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const mpp = D.gsd_m / view.s;  // metres per screen pixel
    let len = 1;
    for (const base of [1, 2, 5]) for (let k = -2; k < 7; k++) {
      const v = base * Math.pow(10, k);
      if (v / mpp <= 140 && v > len) len = v;
    }
    if (len / mpp > 140) len = mpp * 100;
    const w = len / mpp, x = 12, y = canvas.height - 14;
    ctx.fillStyle = "#000000aa"; ctx.fillRect(x - 6, y - 20, w + 12, 28);
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(x, y - 4); ctx.lineTo(x, y); ctx.lineTo(x + w, y); ctx.lineTo(x + w, y - 4); ctx.stroke();
    ctx.fillStyle = "#fff"; ctx.font = "12px system-ui, sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "alphabetic";
    ctx.fillText(len >= 1000 ? (len / 1000) + " km" : len + " m", x + w / 2, y - 7);
    canvas.dataset.scaleMetres = String(len);
    canvas.dataset.scalePixels = String(Math.round(w));
  }

  function lonlat(x, y) {
    const a = D.px_to_lonlat;
    return a ? [a[0] * x + a[1] * y + a[2], a[3] * x + a[4] * y + a[5]] : null;
  }

  function sceneAt(ev) {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left - view.x) / view.s, (ev.clientY - r.top - view.y) / view.s];
  }

  function inside(i, x, y) {
    let c = false;
    for (let a = 0, b = 3; a < 4; b = a++) {
      const xa = D.xy[i * 8 + 2 * a], ya = D.xy[i * 8 + 2 * a + 1], xb = D.xy[i * 8 + 2 * b], yb = D.xy[i * 8 + 2 * b + 1];
      if ((ya > y) !== (yb > y) && x < (xb - xa) * (y - ya) / (yb - ya) + xa) c = !c;
    }
    return c;
  }

  function pick(x, y) {
    const gx = Math.floor(x / B), gy = Math.floor(y / B);
    for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) {
      for (const i of grid.get((gx + dx) + "," + (gy + dy)) || []) if (shown(i) && inside(i, x, y)) return i;
    }
    return -1;
  }

  function describe(i) {
    const q = D.queue.length ? D.queue[i] : -1;
    const t = D.ttype[i] >= 0 && D.type_names[D.ttype[i]] !== "unknown" ?
      " · " + D.type_names[D.ttype[i]] + " (" + D.tscore[i] + ")" : "";
    return D.ids[i] + " · " + D.classes[D.cls[i]] + t + " · score " + D.score[i] + " · " + D.length[i] + " m · zone " +
      D.zones_of_vehicles[D.zone[i]] + (q >= 0 ? " · queue " + q : "") +
      (D.dates[D.date[i]] ? " · " + D.dates[D.date[i]] : "");
  }

  let drag = null;
  canvas.addEventListener("mousedown", function (ev) { drag = [ev.clientX, ev.clientY, view.x, view.y]; });
  window.addEventListener("mouseup", function () { drag = null; });
  canvas.addEventListener("mousemove", function (ev) {
    if (drag) {
      view.x = drag[2] + ev.clientX - drag[0]; view.y = drag[3] + ev.clientY - drag[1];
      requestAnimationFrame(draw);
      return;
    }
    const [x, y] = sceneAt(ev);
    const i = layers.detections ? pick(x, y) : -1;
    if (i >= 0) {
      tip.textContent = describe(i);
      tip.style.display = "block"; tip.style.left = (ev.pageX + 12) + "px"; tip.style.top = (ev.pageY + 12) + "px";
    } else tip.style.display = "none";
  });
  canvas.addEventListener("click", function (ev) {
    const [x, y] = sceneAt(ev);
    const i = layers.detections ? pick(x, y) : -1;
    document.getElementById("selected").textContent = i >= 0 ? describe(i) : "";
    const crop = document.getElementById("selected-crop");
    if (i >= 0 && D.crops[String(i)]) crop.src = D.crops[String(i)]; else crop.removeAttribute("src");
    const ll = lonlat(x, y);
    document.getElementById("readout").textContent = ll ?
      "lon " + ll[0].toFixed(6) + ", lat " + ll[1].toFixed(6) + " (WGS84, ±" + D.px_to_lonlat_err_m.toFixed(2) +
      " m) · pixel " + Math.round(x) + ", " + Math.round(y) : "pixel " + Math.round(x) + ", " + Math.round(y) +
      " (the scene has no georeference)";
  });
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    const r = canvas.getBoundingClientRect();
    const mx = ev.clientX - r.left, my = ev.clientY - r.top;
    const f = Math.exp(-ev.deltaY * 0.0015);
    view.x = mx - (mx - view.x) * f; view.y = my - (my - view.y) * f; view.s *= f;
    requestAnimationFrame(draw);
  }, {passive: false});
  const sel = document.getElementById("date-select");
  if (sel) sel.addEventListener("change", function () { dateSel = sel.value ? D.dates.indexOf(sel.value) : -1; draw(); });
  for (const box of document.querySelectorAll("input[data-class]")) {
    box.addEventListener("change", function () { classOn[Number(box.dataset.class)] = box.checked; draw(); });
  }
  for (const box of document.querySelectorAll("input[data-type]")) {
    box.addEventListener("change", function () { typeOn[Number(box.dataset.type)] = box.checked; draw(); });
  }
  const cbt = document.getElementById("colour-by-type");
  if (cbt) cbt.addEventListener("change", function () { byType = cbt.checked; draw(); });
  const smin = document.getElementById("score-min");
  if (smin) smin.addEventListener("input", function () {
    scoreMin = Number(smin.value);
    document.getElementById("score-min-value").textContent = scoreMin.toFixed(2);
    draw();
  });
  for (const box of document.querySelectorAll("input[data-layer]")) {
    box.checked = layers[box.dataset.layer];
    box.addEventListener("change", function () { layers[box.dataset.layer] = box.checked; draw(); });
  }
  document.getElementById("reset").addEventListener("click", function () { fit(); draw(); });
  window.addEventListener("resize", function () { fit(); draw(); });
  fit(); draw();
  window.geotallyReport = {draw: draw, layers: layers, view: view, count: n};
})();
