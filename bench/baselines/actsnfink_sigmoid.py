"""Baseline for bench/sigmoid.ts: actsnfink's own get_sigmoid_features_dev_fast, the function Fink's ZTF early
SN Ia module calls per alert (fink_science/ztf/random_forest_snia/processor.py), on the alerts the bench
writes, timed in CPU-seconds.

Usage: actsnfink_sigmoid.py ACTSNFINK DIR. ACTSNFINK is a checkout of emilleishida/fink_sn_activelearning
(the folder holding the `actsnfink` package). DIR/points.csv has SNID,jd,mag,magerr,band rows (detections).
As fink-utils prepares them for Fink's processor, the magnitudes become FLUXCAL (mag2fluxcal_snana) in
rows SNID, MJD (the jd), FLUXCAL, FLUXCALERR, FLT, one group per alert; each group goes to the function
with the processor's arguments (min_rising_points=2, min_data_points=4, rising_criteria='ewma'). The
package's import-time dependencies that the function does not use (line_profiler's decorator, actsnclass)
are stubbed. Writes DIR/features.csv (SNID then the 12 features) and prints
{"seconds": median CPU-seconds of 3 runs, "objects": n}.
"""
import json
import sys
import types
import warnings

import numpy as np
import pandas as pd

from cpu_time import median_cpu_seconds


def main():
    sys.modules["line_profiler"] = types.SimpleNamespace(profile=lambda f: f)
    sys.modules["actsnclass"] = types.SimpleNamespace(DataBase=object)
    sys.path.insert(0, sys.argv[1])
    warnings.simplefilter("ignore")
    from actsnfink.classifier_sigmoid import get_sigmoid_features_dev_fast

    folder = sys.argv[2]
    points = pd.read_csv(f"{folder}/points.csv")

    def all_features():
        mag = points["mag"].to_numpy()
        pdf = pd.DataFrame({
            "SNID": points["SNID"].to_numpy(),
            "MJD": points["jd"].to_numpy(),
            "FLUXCAL": 10 ** (-0.4 * mag) * 10 ** 11,
            "FLUXCALERR": 9.21034 * 10**10 * np.exp(-0.921034 * mag) * points["magerr"].to_numpy(),
            "FLT": points["band"].to_numpy(),
        })
        return [
            [snid] + [float(x) for x in get_sigmoid_features_dev_fast(sub, min_rising_points=2, min_data_points=4, rising_criteria="ewma")]
            for snid, sub in pdf.groupby("SNID")
        ]

    rows, seconds = median_cpu_seconds(all_features)
    with open(f"{folder}/features.csv", "w") as f:
        for r in rows:
            f.write(",".join([str(r[0])] + [repr(x) for x in r[1:]]) + "\n")
    print(json.dumps({"seconds": seconds, "objects": len(rows)}))

if __name__ == "__main__":
    main()
