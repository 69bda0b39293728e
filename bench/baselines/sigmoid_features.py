"""Baseline for bench/sigmoid.ts: the early SN Ia sigmoid features computed the way Fink's actsnfink does it per
alert, written here from its published definition (not copied): magnitudes to FLUXCAL (zero point 27.5), per
band the detections averaged per night (pandas groupby on the rounded jd), nightly means below -10 dropped,
at least 4 nights, every night rising (the first difference of an EWMA with com=3 never negative), then
scipy.optimize.least_squares of |flux - c / (1 + exp(-a (t - b)))| from actsnfink's starting point with
scipy's defaults (TRF, no bounds); snratio, mse (of the normalised, 4-decimal prediction) and nrise.

Usage: sigmoid_features.py DIR. DIR/points.csv has SNID,jd,mag,magerr,band rows (detections). Writes
DIR/features.csv (SNID then the 12 features) and prints {"seconds": median CPU-seconds of 3 runs, "objects": n}.
"""
import json
import sys

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from cpu_time import median_cpu_seconds

PLACEHOLDER = [0.0, 0.0, 0.0, 0.1, 1e8, 0.0]


def sigmoid(t, a, b, c):
    return c / (1.0 + np.exp(-a * (t - b)))


def initial_guess(t, flux):
    i_max = int(np.argmax(flux))
    i_min = int(np.argmin(flux))
    slope = (i_max - i_min) / (t[i_max] - t[i_min]) if t[i_max] - t[0] > 0 else 1.0
    c = flux[i_max]
    f0 = flux[0]
    b = np.log(c / f0 - 1) / slope if f0 != 0 and c / f0 != 1 else 1.0
    return np.array([slope, b, c])


def band_features(band):
    if len(band) < 4:
        return PLACEHOLDER
    nightly = band.groupby(np.rint(band["jd"].to_numpy())).mean()
    nightly = nightly[nightly["flux"] >= -10]
    if len(nightly) < 4:
        return PLACEHOLDER
    ewma = nightly["flux"].ewm(com=3, adjust=True).mean()
    if (ewma.diff().dropna() < 0).any():
        return PLACEHOLDER
    t = nightly.index.to_numpy(dtype=float)
    t = t - t[0]
    flux = nightly["flux"].to_numpy()
    err = nightly["err"].to_numpy()
    guess = initial_guess(t, flux)
    if not np.all(np.isfinite(guess)):
        return PLACEHOLDER
    fit = least_squares(lambda p: np.abs(flux - sigmoid(t, *p)), guess)
    a, b, c = fit.x
    pred = np.round(sigmoid(t, a, b, c), 4)
    pred[pred == 0] = 1e-5
    mse = float(np.mean((flux / flux.sum() - pred / pred.sum()) ** 2))
    return [a, b, c, float(np.mean(flux / err)), mse, float(len(t))]


def all_features(points):
    out = []
    for snid, alert in points.groupby("SNID", sort=True):
        row = [snid]
        for name in ("g", "r"):
            band = alert[alert["band"] == name]
            flux = 10 ** (-0.4 * band["mag"].to_numpy()) * 1e11
            err = 9.21034e10 * np.exp(-0.921034 * band["mag"].to_numpy()) * band["magerr"].to_numpy()
            keep = np.isfinite(flux) & np.isfinite(err)
            row += band_features(pd.DataFrame({"jd": band["jd"].to_numpy()[keep], "flux": flux[keep], "err": err[keep]}))
        out.append(row)
    return out


def main():
    folder = sys.argv[1]
    points = pd.read_csv(f"{folder}/points.csv")
    rows, seconds = median_cpu_seconds(lambda: all_features(points))
    with open(f"{folder}/features.csv", "w") as f:
        for r in rows:
            f.write(",".join(repr(float(x)) if i else str(x) for i, x in enumerate(r)) + "\n")
    print(json.dumps({"seconds": seconds, "objects": len(rows)}))


if __name__ == "__main__":
    main()
