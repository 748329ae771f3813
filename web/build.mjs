// Copies the pinned front-end assets into the Python package's static folder:
// Leaflet's dist, and Natural Earth 1:50m countries (world-atlas TopoJSON) converted to
// GeoJSON, kept to the region the display covers. Run by `make web-assets` after `npm ci`.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, cpSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { feature, mesh } from "topojson-client";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "warnlink", "web", "static", "vendor");
const modules = join(here, "node_modules");
// West, south, east, north (degrees): East Asia and the western Pacific.
const REGION = [95, -5, 175, 62];

mkdirSync(out, { recursive: true });
for (const name of ["leaflet.js", "leaflet.css"]) {
  copyFileSync(join(modules, "leaflet", "dist", name), join(out, name));
}
cpSync(join(modules, "leaflet", "dist", "images"), join(out, "images"), { recursive: true });
copyFileSync(join(modules, "leaflet", "LICENSE"), join(out, "LICENSE-leaflet"));
copyFileSync(join(modules, "world-atlas", "LICENSE"), join(out, "LICENSE-world-atlas"));

const round = (c) => (typeof c[0] === "number" ? [+c[0].toFixed(3), +c[1].toFixed(3)] : c.map(round));
const inRegion = (coords) => {
  const flat = coords.flat(Infinity);
  for (let i = 0; i < flat.length; i += 2) {
    const [lon, lat] = [flat[i], flat[i + 1]];
    if (lon >= REGION[0] && lon <= REGION[2] && lat >= REGION[1] && lat <= REGION[3]) return true;
  }
  return false;
};
const clip = (geometry) => {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  const kept = polygons.filter(inRegion).map(round);
  return kept.length ? { type: "MultiPolygon", coordinates: kept } : null;
};

const world = JSON.parse(readFileSync(join(modules, "world-atlas", "countries-50m.json"), "utf8"));
const countries = feature(world, world.objects.countries).features.flatMap((f) => {
  const geometry = f.geometry && clip(f.geometry);
  return geometry ? [{ type: "Feature", properties: { name: f.properties.name }, geometry }] : [];
});
const borders = mesh(world, world.objects.countries, (a, b) => a !== b);
borders.coordinates = borders.coordinates.filter(inRegion).map(round);
const write = (name, value) => writeFileSync(join(out, name), JSON.stringify(value));
write("countries.geojson", { type: "FeatureCollection", features: countries });
write("borders.geojson", { type: "Feature", properties: {}, geometry: borders });
console.log(`vendor assets in ${out}: ${countries.length} countries`);
