"""Baseline for bench/kndetect.ts: kndetect's own feature extraction (the package Fink's kilonova module calls)
on the light curves the bench writes, timed in CPU-seconds.

Usage: kndetect_features.py KNDETECT_SRC DIR. KNDETECT_SRC holds the `kndetect` package (a checkout of
b-biswas/kndetect); DIR/lc.csv has SNID,MJD,FLUXCAL,FLUXCALERR,FLT rows. Writes DIR/features.csv (SNID then the
10 features) and prints {"seconds": median CPU-seconds of 3 runs of extract_features_all_lightcurves}.
"""
import json
import sys
import time

import numpy as np
import pandas as pd


def main():
    sys.path.insert(0, sys.argv[1])
    from kndetect.features import extract_features_all_lightcurves, get_feature_names
    from kndetect.utils import load_pcs

    folder = sys.argv[2]
    lc = pd.read_csv(f"{folder}/lc.csv")
    pcs = load_pcs()
    times = []
    features = None
    for _ in range(3):
        t0 = time.process_time()
        features = extract_features_all_lightcurves(lc, key="SNID", pcs=pcs, filters=["g", "r"])
        times.append(time.process_time() - t0)
    features[["key"] + get_feature_names()].to_csv(f"{folder}/features.csv", index=False)
    print(json.dumps({"seconds": float(np.median(times)), "objects": int(len(features))}))


if __name__ == "__main__":
    main()
