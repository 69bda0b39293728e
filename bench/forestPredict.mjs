// Sieve's side of the forest-predict rows of bench/models.ts, in plain node on the compiled code (dist/), as
// the CLI and the scorer run it: loads each scikit-learn pickle the baseline wrote (the same trees), then
// CPU-seconds of the first predictProba (what a retrain or a queue feels: one call over the pool) and the
// median of 3 after 2 more, with the node count, the deepest tree and whether the probabilities equal
// scikit-learn's. Usage: node bench/forestPredict.mjs DIR NAME:ROWS:COLS...
import { readFileSync } from 'node:fs';
import { randomForestFromSklearnPickle } from '../dist/models/index.js';

const cpu = (f) => {
  const t0 = process.cpuUsage();
  const r = f();
  const t = process.cpuUsage(t0);
  return [r, (t.user + t.system) / 1e6];
};

function depthOf(nodes) {
  let deepest = 0;
  for (const root of nodes.roots) {
    const stack = [root, 0];
    while (stack.length) {
      const d = stack.pop();
      const k = stack.pop();
      if (nodes.feature[k] < 0) deepest = Math.max(deepest, d);
      else stack.push(nodes.left[k], d + 1, nodes.right[k], d + 1);
    }
  }
  return deepest;
}

const [dir, ...specs] = process.argv.slice(2);
const out = {};
for (const spec of specs) {
  const [name, rows, cols] = spec.split(':');
  const f32 = readFileSync(`${dir}/${name}.f32`);
  const X = { data: new Float32Array(f32.buffer, f32.byteOffset, f32.byteLength / 4), rows: Number(rows), cols: Number(cols) };
  const [{ rf }, load] = cpu(() => randomForestFromSklearnPickle(new Uint8Array(readFileSync(`${dir}/${name}.pkl`)), `${name}.pkl`));
  const [p, first] = cpu(() => rf.predictProba(X));
  const ref = readFileSync(`${dir}/${name}.proba.f64`);
  const want = new Float64Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.byteLength));
  let differ = 0;
  for (let i = 0; i < want.length; i++) if (p[i] !== want[i]) differ++;
  for (let k = 0; k < 2; k++) rf.predictProba(X);
  const warm = [0, 1, 2].map(() => cpu(() => rf.predictProba(X))[1]).sort((a, b) => a - b)[1];
  const nodes = rf.toJSON().nodes;
  out[name] = { load, first, warm, nodes: nodes.feature.length, depth: depthOf(nodes), differ };
}
console.log(JSON.stringify(out));
