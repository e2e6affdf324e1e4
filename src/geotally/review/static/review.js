// geotally review: keyboard-first checking of detections over full-resolution tiles.
// Map coordinates are the scene's pixels (Leaflet CRS.Simple): pixel (col, row) is
// map.unproject([col, row], maxZoom). Every decision is POSTed at once; the server saves it.
(function () {
  "use strict";
  const token = document.querySelector('meta[name="review-token"]').content;
  const COLOURS = { large_vehicle: "#ff8c00", small_vehicle: "#00c8ff" };
  const STATE_STYLE = {
    accept: { color: "#2ecc40", weight: 2 }, reject: { color: "#ff2d2d", weight: 2, dashArray: "4 3" },
    relabel: { color: "#f5d800", weight: 2 }, add: { color: "#ff00ff", weight: 2 },
  };
  let S, map, Z, items = [], pos = 0, decisions = { per_detection: {}, added: [] };
  let mode = null, clicks = [], drawLayer = null, pendingRing = null;
  const shapes = {}, addedGroup = L.layerGroup();
  const $ = (id) => document.getElementById(id);
  const ll = (p) => map.unproject(L.point(p[0], p[1]), Z);
  const px = (latlng) => { const p = map.project(latlng, Z); return [p.x, p.y]; };

  // Leaflet reads a string tooltip as HTML: user text (zone names) goes in as an element's text instead.
  function asText(text) { const e = document.createElement("span"); e.textContent = String(text); return e; }
  function say(text, bad) { $("message").textContent = text || ""; $("message").style.color = bad ? "#b00020" : ""; }

  async function post(body) {
    const r = await fetch("/api/decision", {
      method: "POST", headers: { "Content-Type": "application/json", "X-Review-Token": token },
      body: JSON.stringify(body),
    });
    const data = await r.json();
    if (!r.ok) { say(data.error || "refused", true); return null; }
    decisions = data.decisions; say("saved #" + data.decision_id); restyle(); return data;
  }

  function styleFor(det) {
    const d = decisions.per_detection[det.id];
    const base = d ? STATE_STYLE[d.action] : { color: COLOURS[det.cls] || "#ccc", weight: 1 };
    return Object.assign({ fill: false, opacity: 0.95 }, base);
  }

  function restyle() {
    if (!Object.keys(shapes).length && S.scenes[0].detections.length) { show(); return; }
    for (const det of S.scenes[0].detections) if (shapes[det.id]) shapes[det.id].setStyle(styleFor(det));
    addedGroup.clearLayers();
    for (const a of decisions.added) if (a.ring.length)
      L.polygon(a.ring.map(ll), Object.assign({ fill: false }, STATE_STYLE.add)).addTo(addedGroup);
    const cur = items[pos];
    if (cur && shapes[cur.id]) shapes[cur.id].setStyle({ weight: 4, color: "#ffffff" }).bringToFront();
    const n = Object.keys(decisions.per_detection).length;
    $("tally").textContent = `${n} decided, ${decisions.added.length} added, ${decisions.total} in the log`;
    show();
  }

  function show() {
    const cur = items[pos];
    if (!cur) { $("item").textContent = "nothing to review"; return; }
    const d = decisions.per_detection[cur.id];
    const what = cur.unit === "window" ? `window ${cur.id} (${cur.stratum})` :
      `${cur.id} ${cur.cls || ""}${cur.ttype ? " (" + cur.ttype + ")" : ""} ${cur.score !== undefined ? cur.score.toFixed(2) : ""} ${cur.zone || ""}`;
    $("item").textContent = `${pos + 1}/${items.length}  ${what}`;
    $("state").textContent = d ? (d.action === "relabel" ? "relabelled " + d.cls + (d.trailer_type ? ", " + d.trailer_type : "") : d.action === "searched" ?
      "searched" : d.action + "ed") : "undecided";
  }

  function centre(ring) {
    let x = 0, y = 0; for (const p of ring) { x += p[0]; y += p[1]; }
    return [x / ring.length, y / ring.length];
  }

  function go(i) {
    if (!items.length) return;
    pos = Math.max(0, Math.min(items.length - 1, i));
    const cur = items[pos];
    const c = centre(cur.ring);
    if (cur.unit === "window") map.fitBounds(L.latLngBounds(cur.ring.map(ll)), { maxZoom: Z });
    else map.setView(ll(c), Z);
    restyle();
  }

  function setMode(m, text) { mode = m; $("mode").textContent = text || ""; }

  function classList() {
    $("classes").innerHTML = "";
    S.classes.forEach((c, i) => { const d = document.createElement("div"); d.textContent = `${i + 1} ${c}`; $("classes").appendChild(d); });
  }

  function boxFrom(a, b, c) {
    const dx = b[0] - a[0], dy = b[1] - a[1], len = Math.hypot(dx, dy) || 1;
    const nx = -dy / len, ny = dx / len;
    const w = (c[0] - a[0]) * nx + (c[1] - a[1]) * ny;
    return [a, b, [b[0] + nx * w, b[1] + ny * w], [a[0] + nx * w, a[1] + ny * w]];
  }

  function onClick(e) {
    if (mode !== "draw") return;
    clicks.push(px(e.latlng));
    if (drawLayer) map.removeLayer(drawLayer);
    drawLayer = L.polyline(clicks.map(ll), { color: "#ff00ff", weight: 2 }).addTo(map);
    if (clicks.length === 3) {
      pendingRing = boxFrom(clicks[0], clicks[1], clicks[2]);
      map.removeLayer(drawLayer);
      drawLayer = L.polygon(pendingRing.map(ll), { color: "#ff00ff", weight: 2, fill: false }).addTo(map);
      setMode("addclass", "class of the added vehicle: 1–9");
    }
  }

  function cancel() {
    clicks = []; pendingRing = null;
    if (drawLayer) { map.removeLayer(drawLayer); drawLayer = null; }
    setMode(null, "");
  }

  function unitOf() {
    const cur = items[pos];
    return cur && cur.unit ? cur.id : "";
  }

  async function onKey(e) {
    const cur = items[pos];
    const k = e.key;
    if ((k === "z" && (e.ctrlKey || e.metaKey)) || k === "u") { e.preventDefault(); cancel(); await post({ action: "undo" }); return; }
    if (k === "Escape") { cancel(); return; }
    if (mode === "type") {
      const i = parseInt(k, 10) - 1;
      if (!(i >= 0 && i < S.trailer_types.length)) return;
      setMode(null);
      await post({ action: "relabel", det_id: cur.id, label_class: (decisions.per_detection[cur.id] || {}).cls || cur.cls,
                   trailer_type: S.trailer_types[i], sample_unit: unitOf() });
      return;
    }
    if (mode === "relabel" || mode === "addclass") {
      const i = parseInt(k, 10) - 1;
      if (!(i >= 0 && i < S.classes.length)) return;
      e.preventDefault();
      if (mode === "relabel") { setMode(null); await post({ action: "relabel", det_id: cur.id, label_class: S.classes[i], sample_unit: unitOf() }); }
      else {
        const ring = pendingRing; cancel();
        const win = cur && cur.unit === "window" ? cur.id : "";
        await post({ action: "add", label_class: S.classes[i], ring: ring, scene: S.scenes[0].name, sample_unit: win });
      }
      return;
    }
    if (mode === "draw") return;
    if (k === "j" || k === "ArrowRight" || k === "n") { e.preventDefault(); go(pos + 1); }
    else if (k === "k" || k === "ArrowLeft" || k === "p") { e.preventDefault(); go(pos - 1); }
    else if (k === "a" && cur) {
      if (cur.unit === "window") await post({ action: "searched", det_id: cur.id, sample_unit: cur.id });
      else await post({ action: "accept", det_id: cur.id, sample_unit: unitOf() });
      go(pos + 1);
    } else if (k === "x" && cur && cur.unit !== "window") { await post({ action: "reject", det_id: cur.id, sample_unit: unitOf() }); go(pos + 1); }
    else if (k === "c" && cur && cur.unit !== "window") setMode("relabel", "new class: 1–9");
    else if (k === "t" && cur && cur.unit !== "window")
      setMode("type", "trailer type: " + S.trailer_types.map((t, i) => `${i + 1} ${t}`).join(", "));
    else if (k === "m") { cancel(); setMode("draw", "click two corners along the vehicle, then one across"); }
  }

  async function start() {
    S = await (await fetch("/api/session")).json();
    decisions = S.decisions;
    const sc = S.scenes[0];
    Z = sc.max_zoom;
    map = L.map("map", { crs: L.CRS.Simple, minZoom: sc.min_zoom, maxZoom: Z + 2, keyboard: false, preferCanvas: true,
                         zoomControl: true, attributionControl: false });
    const first = S.first ? centre(S.first) : [sc.width / 2, sc.height / 2];
    map.setView(ll(first), Z);  // the first tiles are asked for now, before the layers are loaded
    const bounds = L.latLngBounds(ll([0, sc.height]), ll([sc.width, 0]));
    const tiles = L.tileLayer(`/tiles/${encodeURIComponent(sc.name)}/{z}/{x}/{y}.jpg`, {
      tileSize: 256, minZoom: sc.min_zoom, maxNativeZoom: Z, maxZoom: Z + 2, noWrap: true, bounds: bounds,
    }).addTo(map);
    const tilesIn = new Promise((done) => { tiles.once("load", done); setTimeout(done, 1000); });
    // The vector layers are drawn once the first tiles are in (or after a second at most), so that
    // tens of thousands of footprints never hold back the imagery.
    let drawn = false;
    const drawLayers = () => {
      if (drawn) return;
      drawn = true;
      const overlays = {};
      const group = (name) => (overlays[name] = L.layerGroup().addTo(map));
      const dets = group("detections");
      for (const d of sc.detections) shapes[d.id] = L.polygon(d.ring.map(ll), styleFor(d)).addTo(dets);
      overlays["added vehicles"] = addedGroup.addTo(map);
      const L_ = sc.layers;
      if (L_.zones) { const g = group("zones"); for (const z of L_.zones) for (const r of z.rings)
        L.polygon(r.map(ll), { color: "#ffffff", weight: 1, fill: false, dashArray: "6 4" }).bindTooltip(asText(z.name)).addTo(g); }
      for (const [name, colour] of [["border", "#ff3030"], ["queues", "#ffe100"], ["roads", "#9b9b9b"], ["route", "#00ff90"]]) {
        if (!L_[name]) continue;
        const g = group(name);
        for (const f of L_[name]) for (const r of f.rings) L.polyline(r.map(ll), { color: colour, weight: 2 }).addTo(g);
      }
      if (S.sample.length) { const g = group("sample windows"); for (const u of S.sample) if (u.unit === "window")
        L.polygon(u.ring.map(ll), { color: "#ffffff", weight: 1, fill: false }).addTo(g); }
      L.control.layers(null, overlays, { collapsed: true }).addTo(map);
    };
    await tilesIn;  // the detections (megabytes for a large scene) are fetched once the imagery is in
    const got = await (await fetch("/api/layers")).json();
    S.scenes.forEach((s, k) => Object.assign(s, got[k]));
    const byId = {};
    for (const d of sc.detections) byId[d.id] = d;
    items = S.sample.length ? S.sample.map((u) => Object.assign({}, byId[u.id] || {}, u)) : sc.detections.slice();
    await tilesIn;
    drawLayers();
    map.on("click", onClick);
    // Keys are handled one after another: a key pressed while a decision is being saved waits its turn,
    // so fast typing never decides the same detection twice.
    let chain = Promise.resolve();
    document.addEventListener("keydown", (e) => {
      if (e.key.length === 1 || e.key.startsWith("Arrow")) e.preventDefault();
      chain = chain.then(() => onKey(e)).catch((err) => say(String(err), true));
    });
    classList();
    go(0);
    document.body.dataset.ready = "1";
  }
  start().catch((e) => say(String(e), true));
})();
