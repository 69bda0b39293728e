"""onnxruntime stand-in (no Python wheel here): the same ONNX model run by onnxruntime-node (the same native
ONNX Runtime) in a Node subprocess, `onnx_shim.mjs` beside the harness. Inputs and outputs keep their dtype
(float32 as in Fink). SIEVE_NODE names the node executable.
"""
import json
import os
import subprocess
import tempfile

import numpy as np

_SHIM = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "onnx_shim.mjs")


class InferenceSession:
    def __init__(self, path_or_bytes, *args, **kwargs):
        if isinstance(path_or_bytes, (bytes, bytearray)):
            self._bytes = bytes(path_or_bytes)
        else:
            with open(path_or_bytes, "rb") as f:
                self._bytes = f.read()

    def run(self, output_names, feeds):
        with tempfile.TemporaryDirectory() as tmp:
            model = os.path.join(tmp, "model.onnx")
            with open(model, "wb") as f:
                f.write(self._bytes)
            inputs = {}
            for name, value in feeds.items():
                arr = np.ascontiguousarray(value, dtype=np.float32)
                path = os.path.join(tmp, f"in_{len(inputs)}.f32")
                arr.astype("<f4").tofile(path)
                inputs[name] = {"path": path, "dims": list(arr.shape)}
            spec = os.path.join(tmp, "spec.json")
            with open(spec, "w") as f:
                json.dump({"model": model, "inputs": inputs, "outputs": output_names}, f)
            out = subprocess.run([os.environ["SIEVE_NODE"], _SHIM, spec], capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError("onnxruntime-node: " + out.stderr.strip())
            result = json.loads(out.stdout)
        return [np.array(r["data"], dtype=np.float32).reshape(r["dims"]) for r in result]
