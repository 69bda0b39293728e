"""Baseline for bench/forestPredict.mjs: scikit-learn's random forest predict_proba, in CPU-seconds.

For each table named on the command line as NAME:ROWS:COLS, reads DIR/NAME.f32 (float32, row-major) and
DIR/NAME.i32 (labels), or with NAME:ROWS:COLS:make:INFORMATIVE first writes them from
sklearn.datasets.make_classification(ROWS, COLS, n_informative=INFORMATIVE, random_state=0) (deep trees).
Fits RandomForestClassifier(100 trees, n_jobs=1, random_state=1), pickles it to DIR/NAME.pkl (Sieve predicts
with the same trees), and prints one JSON object: per table the CPU-seconds of the first predict_proba and the
median of 3 after 2 more, the node count and the deepest tree. Run with Debian's python3 (python3-sklearn).
"""
import json
import pickle
import sys
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier


def cpu(f):
    t0 = time.process_time()
    f()
    return time.process_time() - t0


def main():
    folder = sys.argv[1]
    out = {"sklearn": __import__("sklearn").__version__}
    for spec in sys.argv[2:]:
        parts = spec.split(":")
        name, rows, cols = parts[0], int(parts[1]), int(parts[2])
        if len(parts) > 3 and parts[3] == "make":
            X, y = make_classification(rows, cols, n_informative=int(parts[4]), random_state=0)
            X.astype(np.float32).tofile(f"{folder}/{name}.f32")
            y.astype(np.int32).tofile(f"{folder}/{name}.i32")
        X = np.fromfile(f"{folder}/{name}.f32", dtype=np.float32).reshape(rows, cols)
        y = np.fromfile(f"{folder}/{name}.i32", dtype=np.int32)
        rf = RandomForestClassifier(n_estimators=100, max_features="sqrt", n_jobs=1, random_state=1).fit(X, y)
        with open(f"{folder}/{name}.pkl", "wb") as f:
            pickle.dump(rf, f)
        t0 = time.process_time()
        proba = rf.predict_proba(X)
        first = time.process_time() - t0
        proba.astype(np.float64).tofile(f"{folder}/{name}.proba.f64")
        for _ in range(2):
            rf.predict_proba(X)
        warm = sorted(cpu(lambda: rf.predict_proba(X)) for _ in range(3))[1]
        out[name] = {"first": first, "warm": warm, "nodes": int(sum(e.tree_.node_count for e in rf.estimators_)),
                     "depth": int(max(e.tree_.max_depth for e in rf.estimators_))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
