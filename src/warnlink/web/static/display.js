// warnlink operator display: draws the state served by /api/state and pushed on /ws.
// Plain JavaScript over Leaflet; every asset is served by the node itself.
"use strict";

const COLOURS = { ROK: "#4fc3f7", JPN: "#ff6e6e", USA: "#ffd54f" };
const SPARE = ["#b39ddb", "#80cbc4", "#f48fb1", "#c5e1a5"];
const colour = (party) =>
  COLOURS[party] || SPARE[[...party].reduce((a, c) => a + c.charCodeAt(0), 0) % SPARE.length];

const map = L.map("map", { zoomControl: true, attributionControl: true, preferCanvas: false });
map.attributionControl.setPrefix("Leaflet | Natural Earth");
map.fitBounds([[30, 122], [45, 145]]);
// Outlines in a pane of their own, under the live items whatever order they load in.
map.createPane("base").style.zIndex = 350;
const layers = L.layerGroup().addTo(map);
// The impact area of the selected event, refitted to its ellipses at every update.
const inset = L.map("inset", { zoomControl: false, attributionControl: false, dragging: false,
  scrollWheelZoom: false, doubleClickZoom: false, boxZoom: false, keyboard: false });
inset.createPane("base").style.zIndex = 350;
inset.fitBounds([[30, 122], [45, 145]]);
L.control.scale({ imperial: false }).addTo(inset);
const insetLayers = L.layerGroup().addTo(inset);
let selected = null;
let state = null;

// The viewing party's areas, from land outwards: land, 12 nm, 200 nm (EEZ), user zones.
const AREA_STYLE = {
  land: { color: "#58a6ff", weight: 1.5 },
  territorial_sea: { color: "#58a6ff", weight: 1.2, dashArray: "6 4" },
  eez: { color: "#3b7dd8", weight: 1, dashArray: "2 6" },
  zone: { color: "#d29922", weight: 1.2, dashArray: "4 3" },
};

async function loadBase() {
  const [countries, borders, areas] = await Promise.all(
    ["/static/vendor/countries.geojson", "/static/vendor/borders.geojson", "/api/areas"].map(
      (url) => fetch(url).then((r) => r.json())));
  const base = { pane: "base", interactive: false };
  for (const target of [map, inset]) {
    L.geoJSON(countries, { ...base, style: { color: "#5c6f80", weight: 1, fillColor: "#26323c",
                                             fillOpacity: 1 } }).addTo(target);
    L.geoJSON(borders, { ...base, style: { color: "#8aa0b4", weight: 1, dashArray: "3 3" } })
      .addTo(target);
    L.geoJSON(areas, { ...base, style: (f) => ({ ...AREA_STYLE[f.properties.kind],
                                                 fill: false, className: "area" }) })
      .addTo(target);
  }
  document.body.dataset.base = "loaded";
}

// Times: UTC with local time beside.
const pad = (n) => String(n).padStart(2, "0");
function clock(iso) {
  if (!iso) return "--:--:--Z";
  const d = new Date(iso);
  const utc = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
  const local = d.toLocaleTimeString([], { hour12: false, timeZoneName: "short" });
  return `${utc} (${local})`;
}
function duration(s) {
  const t = Math.abs(Math.round(s));
  return `${s < 0 ? "-" : ""}${pad(Math.floor(t / 60))}:${pad(t % 60)}`;
}

function drawMap() {
  layers.clearLayers();
  for (const event of state.events) {
    const chosen = event.event_id === selected;
    const weight = chosen ? 3 : 1.5;
    if (event.predicted_ground_track.length) {
      L.polyline(event.predicted_ground_track, { color: "#ffffff", weight: 1.5, dashArray: "2 6",
        className: "ground-track", interactive: false }).addTo(layers);
    }
    for (const c of event.contributions) {
      const col = colour(c.originator);
      const by = `by-${c.originator}`;
      if (c.launch) {
        L.polygon(c.launch.ellipse.ring, { color: col, weight: 1, fillOpacity: 0.1,
          className: `launch-ellipse ${by}` }).addTo(layers);
        L.circleMarker([c.launch.lat, c.launch.lon], { radius: 4, color: col, fillOpacity: 1,
          className: `launch-point ${by}` }).bindTooltip(`${c.originator} launch point`).addTo(layers);
      }
      if (c.track) {
        const stale = c.track.stale;
        L.polyline(c.track.flown, { color: col, weight, opacity: stale ? 0.4 : 0.9,
          dashArray: stale ? "4 4" : null, className: `track-line ${by}` }).addTo(layers);
        L.circleMarker([c.track.lat, c.track.lon], { radius: 5, color: col, fillOpacity: stale ? 0.2 : 1,
          className: `track-head ${by}` })
          .bindTooltip(`${c.originator}${stale ? " (stale)" : ""}`,
                       { permanent: true, direction: "right", className: "tag" })
          .addTo(layers);
      }
      if (c.impact) {
        const stale = c.impact.stale;
        L.polygon(c.impact.ellipse.ring, { color: col, weight, opacity: stale ? 0.5 : 1,
          dashArray: stale ? "4 4" : null, fillOpacity: stale ? 0.05 : 0.25,
          className: `impact-ellipse ${by}` })
          .bindTooltip(`${c.originator} impact ${clock(c.impact.time)}${stale ? " (stale)" : ""}`)
          .addTo(layers);
        L.circleMarker([c.impact.lat, c.impact.lon], { radius: 3, color: col, fillOpacity: 1,
          className: `impact-point ${by}` }).addTo(layers);
      }
    }
  }
}

function drawInset(event) {
  insetLayers.clearLayers();
  const rings = event.contributions.filter((c) => c.impact).map((c) => [c, c.impact.ellipse.ring]);
  if (!rings.length) return;
  for (const [c, ring] of rings) {
    L.polygon(ring, { color: colour(c.originator), weight: 2, dashArray: c.impact.stale ? "4 4" : null,
      fillOpacity: 0.15, className: `inset-ellipse by-${c.originator}` }).addTo(insetLayers);
    L.circleMarker([c.impact.lat, c.impact.lon], { radius: 3, color: colour(c.originator),
      fillOpacity: 1 }).addTo(insetLayers);
  }
  inset.invalidateSize();
  inset.fitBounds(L.latLngBounds(rings.flatMap(([, ring]) => ring)), { padding: [12, 12],
    maxZoom: 13, animate: false });
}

function drawEvents() {
  const list = document.getElementById("events");
  document.getElementById("no-events").hidden = state.events.length > 0;
  list.replaceChildren(...state.events.map((e) => {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.dataset.eventId = e.event_id;
    li.setAttribute("aria-selected", String(e.event_id === selected));
    li.classList.toggle("stale", e.stale);
    const since = e.since_launch_s === null ? "T+ --" : `T+${duration(e.since_launch_s)}`;
    const left = e.countdown_s === null ? "no impact prediction"
      : e.countdown_s > 0 ? `impact in ${duration(e.countdown_s)}` : `impact ${clock(e.impact_time)}`;
    li.dataset.mode = e.data_mode;
    li.innerHTML = `<span><span class="eid"></span> <span class="rc"></span></span>
      <span class="count">${since}</span><span class="muted by"></span>
      <span class="count countdown">${left}</span>`;
    li.querySelector(".eid").textContent = e.event_id;
    li.querySelector(".rc").textContent = e.range_class || "class ?";
    const badge = modeBadge(e.data_mode);
    if (badge) li.firstElementChild.append(badge);
    li.querySelector(".by").textContent = `${e.originators.join(", ")} - ${e.status}${e.stale ? " (stale)" : ""}`;
    li.addEventListener("click", () => select(e.event_id));
    return li;
  }));
}

// A badge naming the data mode of an event that is not real (none for REAL).
function modeBadge(mode) {
  if (mode === "REAL") return null;
  const badge = document.createElement("span");
  badge.className = `mode-badge mode-${mode}`;
  badge.textContent = mode;
  return badge;
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
}

function drawDetail() {
  const event = state.events.find((e) => e.event_id === selected);
  document.getElementById("detail").hidden = !event;
  if (!event) return;
  const title = document.getElementById("detail-title");
  title.textContent =
    `${event.event_id}: launch ${clock(event.launch_time)}, impact ${clock(event.impact_time)}`;
  const badge = modeBadge(event.data_mode);
  if (badge) title.append(badge);
  const body = document.querySelector("#contributions tbody");
  body.replaceChildren();
  for (const c of event.contributions) {
    const row = body.insertRow();
    row.style.color = colour(c.originator);
    cell(row, c.originator);
    cell(row, String(c.track_number));
    cell(row, c.status);
    const sensor = (c.track && c.track.sensor) || (c.launch && c.launch.sensor);
    cell(row, sensor || "not released", sensor ? "" : "stale");
    cell(row, c.track ? `${c.track.alt_km.toFixed(0)} km, ${c.track.age_s.toFixed(0)} s ago` : "-",
         c.track && c.track.stale ? "stale" : "");
    cell(row, c.impact
      ? `${c.impact.ellipse.semi_major_km.toFixed(2)} x ${c.impact.ellipse.semi_minor_km.toFixed(2)} km`
      : "-", c.impact && c.impact.stale ? "stale" : "");
  }
  drawProfile(event);
  drawInset(event);
}

function drawProfile(event) {
  const svg = document.getElementById("profile");
  const [w, h, left, bottom] = [440, 180, 40, 20];
  const series = event.contributions.filter((c) => c.profile.length);
  const xs = series.flatMap((c) => c.profile.map((p) => p[0]));
  const ys = series.flatMap((c) => c.profile.map((p) => p[1]));
  const xMax = Math.max(100, ...xs) * 1.05;
  const yMax = Math.max(100, ...ys) * 1.1;
  const X = (x) => left + (x / xMax) * (w - left - 8);
  const Y = (y) => h - bottom - (y / yMax) * (h - bottom - 8);
  const parts = [
    `<line class="axis" x1="${left}" y1="${h - bottom}" x2="${w}" y2="${h - bottom}"/>`,
    `<line class="axis" x1="${left}" y1="0" x2="${left}" y2="${h - bottom}"/>`,
    `<text x="${left}" y="${h - 5}">0</text>`,
    `<text x="${w - 80}" y="${h - 5}">${xMax.toFixed(0)} km downrange</text>`,
    `<text x="2" y="12">${yMax.toFixed(0)} km</text>`,
  ];
  for (const c of series) {
    const points = c.profile.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ");
    parts.push(`<polyline class="profile-line by-${c.originator}" fill="none" stroke="${colour(c.originator)}" stroke-width="2" points="${points}"/>`);
  }
  svg.innerHTML = parts.join("");
}

function drawLinks() {
  const list = document.getElementById("links");
  list.replaceChildren(...state.links.map((link) => {
    const li = document.createElement("li");
    li.className = link.state;
    li.dataset.peer = link.peer;
    li.textContent = `${state.party}-${link.peer} ${link.state}`;
    li.title = link.last_heartbeat ? `last heartbeat ${clock(link.last_heartbeat)}` : "no heartbeat yet";
    return li;
  }));
}

function drawDecisions() {
  const body = document.querySelector("#decisions tbody");
  body.replaceChildren();
  for (const d of state.decisions.slice(0, 12)) {
    const row = body.insertRow();
    cell(row, clock(d.time).slice(0, 9));
    cell(row, `${d.originator} \u2192 ${d.recipient}`);
    cell(row, d.kind.replace("_", " "));
    cell(row, d.outcome + (d.withheld.length ? ` (${d.withheld.join(", ")} withheld)` : ""));
    row.title = `${d.decider}: ${d.reason}`;
  }
}

function drawSources() {
  const sources = state.sources || [];
  document.getElementById("sources-panel").hidden = sources.length === 0;
  const body = document.querySelector("#sources tbody");
  body.replaceChildren();
  for (const s of sources) {
    const row = body.insertRow();
    row.className = `source-${s.state}`;
    row.dataset.source = s.name;
    cell(row, s.data_mode === "REAL" ? s.name : `${s.name} (${s.data_mode})`);
    cell(row, s.state);
    cell(row, s.last_record ? clock(s.last_record).slice(0, 9) : "never");
    cell(row, String(s.records_last_minute));
    const refused = Object.entries(s.refused);
    cell(row, refused.length ? refused.map(([r, n]) => `${r} ${n}`).join(", ") : "0");
    row.title = `expected every ${s.interval_s} s; ${s.accepted} accepted, ${s.duplicates} repeats`;
  }
}

function drawModeBanner() {
  const banner = document.getElementById("mode-banner");
  const modes = state.non_real_modes;
  banner.hidden = modes.length === 0;
  banner.textContent = modes.length
    ? `${modes.join(" / ")} data on this display: not a real-world warning` : "";
}

function drawBanner() {
  const banner = document.getElementById("banner");
  banner.hidden = state.alerts.length === 0;
  banner.textContent = state.alerts.map((a) => `${a.event_id}: ${a.headline}`).join("  |  ");
}

function render(next) {
  state = next;
  if (!state.events.some((e) => e.event_id === selected)) {
    selected = state.events.length ? state.events[0].event_id : null;
  }
  document.title = `warnlink ${state.party}`;
  document.getElementById("title").textContent = `${state.party_name} (${state.party})`;
  document.getElementById("clock").textContent = clock(state.time);
  drawLinks();
  drawModeBanner();
  drawBanner();
  drawEvents();
  drawDetail();
  drawDecisions();
  drawSources();
  drawMap();
  document.body.dataset.time = state.time || "";
}

function select(eventId) {
  selected = eventId;
  if (state) render(state);
}

document.getElementById("events").addEventListener("keydown", (key) => {
  if (!state || !state.events.length) return;
  const ids = state.events.map((e) => e.event_id);
  const at = ids.indexOf(selected);
  const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: ids.length - 1 };
  if (!(key.key in moves)) return;
  key.preventDefault();
  select(ids[Math.max(0, Math.min(ids.length - 1, moves[key.key]))]);
});

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onmessage = (message) => render(JSON.parse(message.data));
  socket.onclose = () => setTimeout(connect, 1000);
}

loadBase();
fetch("/api/state").then((r) => r.json()).then(render);
connect();
