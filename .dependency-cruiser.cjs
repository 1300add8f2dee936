/**
 * The layers of src/, lowest first: a module may import its own layer and the ones below it, never one above.
 * ARCHITECTURE.md draws the same list; `npm run lint` runs this (dependency-cruiser).
 */
const LAYERS = [
  { name: "base", paths: ["src/errors/", "src/clock\\.ts$", "src/version\\.ts$"] },
  { name: "domain", paths: ["src/apixo/", "src/net/"] },
  { name: "simulator", paths: ["src/simulator/"] },
  { name: "config", paths: ["src/config/"] },
  { name: "telemetry", paths: ["src/telemetry/"] },
  { name: "limits", paths: ["src/limits/"] },
  { name: "tenants", paths: ["src/tenants/"] },
  { name: "ledger, upstream", paths: ["src/ledger/", "src/upstream/"] },
  { name: "callbacks", paths: ["src/callbacks/"] },
  { name: "routes", paths: ["src/routes/"] },
  { name: "http, admin", paths: ["src/http/", "src/admin/"] },
  { name: "gateway", paths: ["src/gateway/"] },
  { name: "cli", paths: ["src/cli/"] },
];

const pattern = (paths) => `^(${paths.join("|")})`;

const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.name.replace(/[^a-z]+/g, "-")}`,
  comment: `${layer.name} may import only itself and the layers below it`,
  severity: "error",
  from: { path: pattern(layer.paths) },
  to: { path: pattern(LAYERS.slice(i + 1).flatMap((l) => l.paths)) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "an import cycle makes the layers meaningless and the start-up order fragile",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "src-not-to-tests",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|dashboards)/" },
    },
    {
      name: "layer-unknown",
      comment: "every module of src/ belongs to a layer: add new folders to LAYERS",
      severity: "error",
      from: { path: "^src/", pathNot: pattern(LAYERS.flatMap((l) => l.paths)) },
      to: {},
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
