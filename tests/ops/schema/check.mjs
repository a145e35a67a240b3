// tests/ops/schema/check.mjs: type-checks Grafana dashboard JSON files against Grafana's official
// dashboard schema, @grafana/schema (TypeScript types generated from Grafana's CUE kinds): the
// dashboard model (panels, rows, gridPos, fieldConfig, thresholds, mappings, templating, links,
// annotations, time), the stat panel's options and the time series panel's options and custom
// field config. Enum types are compared by their values, as JSON holds them; object literals get
// TypeScript's excess-property check, so an unknown or misspelt field fails.
//
//   node check.mjs WORK_DIR DASHBOARD.json...      exit 0: all valid; 1: errors printed
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [work, ...files] = process.argv.slice(2);
if (!work || files.length === 0) {
  console.error('usage: node check.mjs WORK_DIR DASHBOARD.json...');
  process.exit(2);
}
const modules = resolve(process.env.VIGIL_SCHEMA_NODE_MODULES || join(here, 'node_modules'));
const raw = join(modules, '@grafana/schema/dist/types/raw/composable');
mkdirSync(work, { recursive: true });

const header = `import type { Dashboard } from '@grafana/schema';
import type { Options as StatOptions } from '${raw}/stat/panelcfg/x/types.gen';
import type { Options as TimeSeriesOptions, FieldConfig as TimeSeriesFieldConfig } from '${raw}/timeseries/panelcfg/x/types.gen';
// JSON holds an enum's value: compare enums by value ("absolute", 1), everything else as is.
type Value<T> = T extends string ? \`\${T}\` : T extends number ? (\`\${T}\` extends \`\${infer N extends number}\` ? N : number) : T;
type Json<T> = T extends string | number ? Value<T>
  : T extends boolean | null | undefined ? T
  : T extends Array<infer U> ? Array<Json<U>>
  : T extends object ? { [K in keyof T]: Json<T[K]> }
  : T;
`;
const sources = [];
for (const file of files) {
  const d = JSON.parse(readFileSync(file, 'utf8'));
  const panels = (d.panels || []).flatMap((p) => [p, ...(p.panels || [])]);
  const stats = panels.filter((p) => p.type === 'stat').map((p) => p.options ?? {});
  const series = panels.filter((p) => p.type === 'timeseries');
  const name = join(work, basename(file).replace(/[^A-Za-z0-9]/g, '_') + '.ts');
  writeFileSync(name, header +
    `export const dashboard: Json<Dashboard> = ${JSON.stringify(d, null, 1)};\n` +
    `export const stat: Array<Json<Partial<StatOptions>>> = ${JSON.stringify(stats)};\n` +
    `export const series: Array<Json<Partial<TimeSeriesOptions>>> = ${JSON.stringify(series.map((p) => p.options ?? {}))};\n` +
    `export const custom: Array<Json<Partial<TimeSeriesFieldConfig>>> = ${JSON.stringify(series.map((p) => p.fieldConfig?.defaults?.custom ?? {}))};\n`);
  sources.push(name);
}
writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({
  compilerOptions: {
    strict: true, noEmit: true, skipLibCheck: true, target: 'es2020', module: 'commonjs',
    moduleResolution: 'node10', baseUrl: '.', typeRoots: [], types: [],
    paths: { '@grafana/schema': [join(modules, '@grafana/schema/dist/types/index.d.ts')] },
  },
  files: sources,
}));
try {
  execFileSync(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', join(work, 'tsconfig.json')],
    { stdio: 'inherit' });
} catch {
  console.error(`dashboard schema: FAILED (the generated TypeScript is in ${work})`);
  process.exit(1);
}
console.log(`dashboard schema: ${files.length} dashboard(s) valid against @grafana/schema`);
