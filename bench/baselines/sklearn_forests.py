"""Baseline for bench/models.ts: scikit-learn's forests on the tables the bench writes, timed in CPU-seconds.

Reads DIR/NAME.f32 (rows x cols float32, row-major) and DIR/NAME.i32 (labels) for each table named on the
command line as NAME:ROWS:COLS, and prints one JSON object with the median CPU-seconds of 3 runs per step.
Run with Debian's python3 (python3-sklearn); n_jobs=1 so the figures are per core, as Sieve's are.
"""
import json
import sys

import numpy as np
from sklearn.ensemble import IsolationForest, RandomForestClassifier

from cpu_time import median_cpu_seconds as cpu


def main():
    folder = sys.argv[1]
    out = {"sklearn": __import__("sklearn").__version__}
    for spec in sys.argv[2:]:
        name, rows, cols = spec.split(":")
        rows, cols = int(rows), int(cols)
        X = np.fromfile(f"{folder}/{name}.f32", dtype=np.float32).reshape(rows, cols)
        y = np.fromfile(f"{folder}/{name}.i32", dtype=np.int32)
        rf, fit_s = cpu(lambda: RandomForestClassifier(n_estimators=100, max_features="sqrt", n_jobs=1, random_state=1).fit(X, y), runs=1)
        _, predict_s = cpu(lambda: rf.predict_proba(X))
        iso, if_fit_s = cpu(lambda: IsolationForest(n_estimators=100, n_jobs=1, random_state=1).fit(X))
        _, if_score_s = cpu(lambda: iso.score_samples(X))
        out[name] = {"rfFit": fit_s, "rfPredict": predict_s, "ifFit": if_fit_s, "ifScore": if_score_s,
                     "rfNodes": int(sum(e.tree_.node_count for e in rf.estimators_))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
