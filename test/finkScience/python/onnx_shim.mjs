// The Node half of the onnxruntime stand-in (stubs/onnxruntime): runs one ONNX model with onnxruntime-node on
// float32 inputs written by the Python half, and prints every output (in the session's order) as JSON.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const session = await ort.InferenceSession.create(readFileSync(spec.model), { logSeverityLevel: 3 });
const feeds = {};
for (const [name, x] of Object.entries(spec.inputs)) {
  const b = readFileSync(x.path);
  feeds[name] = new ort.Tensor('float32', new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4), x.dims);
}
const res = await session.run(feeds);
const names = spec.outputs ?? session.outputNames;
process.stdout.write(JSON.stringify(names.map((n) => ({ name: n, dims: res[n].dims, data: Array.from(res[n].data, Number) }))));
