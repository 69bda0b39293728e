"""Runs a generated fink-science processor on batches of alerts, as Spark would call its pandas_udf.

Usage: harness.py SPEC.json OUT.json
  SPEC: {"module": "fink_science.ztf.<name>.processor", "function": "<name>_score", "arguments": [...],
         "batches": [{"file": ..., "columns": {name: {"type": "array<float>" | "float" | ..., "values": [...]}}}]}
  The import path (PYTHONPATH) holds the pyspark / light_curve / onnxruntime stand-ins of stubs/, the
  fink-science tree the module was dropped into, fink-utils, actsnfink and kndetect.

Each batch becomes the pandas Series Spark hands a pandas_udf (array<double> -> float64 arrays, array<float> ->
float32 arrays with NaN for nulls, array<int> -> int32, array<string> -> object; scalars likewise), the
function is called once per batch, and OUT gets, per batch, the output columns and the features the
processor computed (its extract_features and passes_cuts, recorded as the udf calls them).
"""
import importlib
import json
import sys
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

NUMPY = {"double": np.float64, "float": np.float32, "int": np.int32, "long": np.int64}


def element_array(values, type_):
    if type_ in ("string", "binary"):
        return np.array(values, dtype=object)
    if type_ == "boolean":
        return np.array(values, dtype=object if any(v is None for v in values) else bool)
    dtype = NUMPY[type_]
    if any(v is None for v in values):
        # a null in a numeric array: NaN (integers become float64, as Arrow hands them to pandas)
        dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        return np.array([np.nan if v is None else v for v in values], dtype=dtype)
    return np.array(values, dtype=dtype)


def series(column):
    type_ = column["type"]
    if type_.startswith("array<"):
        inner = type_[len("array<"):-1]
        return pd.Series([None if v is None else element_array(v, inner) for v in column["values"]])
    values = column["values"]
    if type_ in ("string", "binary"):
        return pd.Series(values, dtype=object)
    if type_ == "long" and any(isinstance(v, str) for v in values):
        values = [None if v is None else int(v) for v in values]
    return pd.Series(element_array(values, type_))


def plain(x):
    x = float(x)
    return x if np.isfinite(x) else None


def main():
    spec = json.load(open(sys.argv[1]))
    module = importlib.import_module(spec["module"])
    function = getattr(module, spec["function"])
    recorded = {}
    extract, cuts = module.extract_features, module.passes_cuts

    def recording_features(c):
        recorded["features"], recorded["selected"] = extract(c)
        return recorded["features"], recorded["selected"]

    def recording_cuts(v):
        recorded["cuts"] = np.broadcast_to(cuts(v), recorded["selected"].shape)
        return recorded["cuts"]

    # the udf looks both up in its module when it runs: record what it computed on the way
    module.extract_features, module.passes_cuts = recording_features, recording_cuts
    out = []
    for batch in spec["batches"]:
        args = [series(batch["columns"][name]) for name in spec["arguments"]]
        recorded.clear()
        result = function(*args)
        frame = result.to_frame(module.SCORE_COLUMN) if isinstance(result, pd.Series) else result
        out.append({
            "file": batch["file"],
            "scores": {k: [plain(v) for v in frame[k].to_numpy()] for k in module.OUTPUT_COLUMNS},
            "features": [[plain(v) for v in row] for row in recorded["features"]],
            "selected": [bool(s) for s in recorded["selected"]],
            "cuts": [bool(s) for s in recorded["cuts"]],
        })
    json.dump({"featureColumns": list(module.FEATURE_COLUMNS), "batches": out}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
