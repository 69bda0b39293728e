// The layout is the architecture: this reads every import of the product's code and fails on an arrow that
// runs backwards (a lower layer importing a higher one, an application importing another) or on a circle.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../shared.ts';

const LAYERS = ['datasets', 'features', 'models', 'engine', 'ui'] as const;

/** What each part of engine/ may import inside engine/ (besides itself; the layers below engine/ are always allowed). */
const ENGINE_RULES: Record<string, readonly string[]> = {
  core: [],
  adapters: ['core'],
  experiments: ['core', 'adapters'],
  cli: ['core', 'adapters', 'experiments'],
  server: ['core', 'adapters'],
  scorer: ['core', 'adapters'],
  // engine/index.ts: the surface of the core and the adapters
  'index.ts': ['core', 'adapters'],
  // engine/main.ts: the `sieve` command, the one place that wires the three applications together
  'main.ts': ['cli', 'server', 'scorer'],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist' && e.name !== 'data') out.push(...sourceFiles(rel));
    } else if (/\.(ts|mts|mjs|svelte)$/.test(e.name)) out.push(rel);
  }
  return out;
}

/** Relative specifiers a file loads: static and dynamic imports, re-exports, and worker entries (new URL('./x.ts', import.meta.url)). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const specs: string[] = [];
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (/\.(ts|mts|mjs|js|svelte)$/.test(m[2])) specs.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), m[2])));
  }
  return specs;
}

const files = LAYERS.flatMap((l) => sourceFiles(l));
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const layerOf = (f: string) => LAYERS.indexOf(f.split('/')[0] as (typeof LAYERS)[number]);
const enginePart = (f: string) => f.split('/')[1];

describe('the import graph', () => {
  it('reads the product code (a sanity check on the reader itself)', () => {
    expect(files.length).toBeGreaterThan(130);
    expect(graph.get('engine/server/serve.ts')).toContain('engine/server/app.ts');
    expect(graph.get('engine/core/retrain.ts')).toContain('engine/core/retrainWorker.ts');
  });

  it('has no arrow from a layer to a layer on its right (datasets → features → models → engine → ui)', () => {
    const back = [...graph].flatMap(([f, deps]) => deps.filter((d) => layerOf(d) > layerOf(f)).map((d) => `${f} -> ${d}`));
    expect(back).toEqual([]);
  });

  it('keeps the UI on its side of the HTTP API (it imports nothing from the other layers)', () => {
    const out = [...graph].filter(([f]) => f.startsWith('ui/')).flatMap(([f, deps]) => deps.filter((d) => !d.startsWith('ui/')).map((d) => `${f} -> ${d}`));
    expect(out).toEqual([]);
  });

  it('keeps engine/ core below its adapters and the adapters below the applications, which never import each other', () => {
    const bad: string[] = [];
    for (const [f, deps] of graph) {
      if (!f.startsWith('engine/')) continue;
      const from = enginePart(f);
      const allowed = ENGINE_RULES[from];
      if (!allowed) {
        bad.push(`${f}: engine/${from} is not a known part of engine/ (${Object.keys(ENGINE_RULES).join(', ')})`);
        continue;
      }
      for (const d of deps) {
        if (!d.startsWith('engine/')) continue;
        const to = enginePart(d);
        if (to !== from && !allowed.includes(to)) bad.push(`${f} -> ${d}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('has no circle', () => {
    const state = new Map<string, 0 | 1 | 2>();
    const stack: string[] = [];
    const circles: string[] = [];
    const visit = (f: string) => {
      state.set(f, 1);
      stack.push(f);
      for (const d of graph.get(f) ?? []) {
        if (!graph.has(d)) continue;
        if (state.get(d) === 1) circles.push([...stack.slice(stack.indexOf(d)), d].join(' -> '));
        else if (!state.get(d)) visit(d);
      }
      stack.pop();
      state.set(f, 2);
    };
    for (const f of graph.keys()) if (!state.get(f)) visit(f);
    expect(circles).toEqual([]);
  });
});
