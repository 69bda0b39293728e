"""Baseline for bench/rubin.ts: the light-curve package's pure-Python features as Fink's Rubin modules call
them, on the light curves the bench writes, timed in CPU-seconds.

Usage: rubin_features.py LIGHT_CURVE_SRC DIR
       rubin_features.py LIGHT_CURVE_SRC --perturbed LIGHTCURVES_JSONL OUT_CSV up|down
  LIGHT_CURVE_SRC holds an importable `light_curve` package whose `light_curve_py` is the checkout's
  (bench/rubin.ts prepares it from a checkout of light-curve/light-curve-python; the Rust extension is
  not needed by the Python features).
  DIR/points.csv: id,mjd,band,flux,err rows (Fink's Rubin light curve: detections, NaN fluxes dropped,
  sorted by time). Writes DIR/rainbow.csv (id, reference_time ... reduced_chi2, nan where the fit raised;
  then the fit's CPU-seconds)
  and DIR/ad.csv (id, band, the 26 features of fink_science/rubin/ad_features), and prints
  {"rainbow_seconds", "rainbow_fits", "ad_seconds", "ad_bands"}.
  --perturbed: the Rainbow fit of every light curve of ../shared/data/rubin/reference/lightcurves.jsonl with
  7 points or more, each normalised flux first moved by one ulp up or down (numpy.nextafter), written as
  file,row,alertId,reference_time,...,reduced_chi2 (nan where the fit raised): how
  test/fixtures/rubin/rainbow_fit_1ulp*.csv were made.

RainbowFit is called as actsnfink.rainbow.fit_rainbow does (from_angstrom with Fink's LSST wavelengths,
with_baseline=False, bolometric='sigmoid', temperature='sigmoid'; flux and error divided by the maximum
flux). The package asks for iminuit >= 2.21 and Debian has 2.11: the version check is skipped, as it was
for the references in ../shared/data/rubin.
"""
import csv
import json
import sys
import time
import warnings

import numpy as np

WAVES = {"u": 3671.0, "g": 4827.0, "r": 6223.0, "i": 7546.0, "z": 8691.0, "y": 9712.0}


def read_points(folder):
    curves = {}
    with open(f"{folder}/points.csv") as f:
        for row in csv.DictReader(f):
            c = curves.setdefault(int(row["id"]), ([], [], [], []))
            c[0].append(float(row["mjd"]))
            c[1].append(row["band"])
            c[2].append(float(row["flux"]))
            c[3].append(float(row["err"]))
    return {k: (np.array(v[0]), np.array(v[1]), np.array(v[2]), np.array(v[3])) for k, v in curves.items()}


def rainbow_feature():
    from light_curve.light_curve_py.features.rainbow._base import BaseRainbowFit

    BaseRainbowFit._check_iminuit = staticmethod(lambda: None)
    import light_curve.light_curve_py as lc

    return lc.RainbowFit.from_angstrom(WAVES, with_baseline=False, bolometric="sigmoid", temperature="sigmoid")


def perturbed(jsonl, out_csv, direction):
    rainbow = rainbow_feature()
    towards = np.inf if direction == "up" else -np.inf
    with open(out_csv, "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["file", "row", "alertId", "reference_time", "amplitude", "rise_time", "Tmin", "delta_T", "k_sig", "reduced_chi2"])
        for line in open(jsonl):
            d = json.loads(line)
            flux = np.array([np.nan if x is None else x for x in d["flux"]], dtype=float)
            mask = ~np.isnan(flux)
            if mask.sum() < 7:
                continue
            order = np.argsort(np.array(d["mjd"])[mask], kind="stable")
            t = np.array(d["mjd"])[mask][order]
            f = flux[mask][order]
            e = np.array(d["err"])[mask][order]
            band = np.array(d["band"])[mask][order]
            mx = f.max()
            try:
                v = [repr(float(x)) for x in rainbow(t, np.nextafter(f / mx, towards), sigma=e / mx, band=band)]
            except Exception:
                v = ["nan"] * 7
            w.writerow([d["file"].split(".")[0], d["row"], d["alertId"]] + v)


def main():
    sys.path.insert(0, sys.argv[1])
    warnings.simplefilter("ignore")
    if sys.argv[2] == "--perturbed":
        return perturbed(sys.argv[3], sys.argv[4], sys.argv[5])
    folder = sys.argv[2]
    import light_curve.light_curve_py as lc

    curves = read_points(folder)
    rainbow = rainbow_feature()
    rows = []
    fits = 0
    t0 = time.process_time()
    for key, (t, band, flux, err) in curves.items():
        if len(t) < 7:
            continue
        mx = flux.max()
        fits += 1
        t1 = time.process_time()
        try:
            v = [repr(float(x)) for x in rainbow(t, flux / mx, sigma=err / mx, band=band)]
        except Exception:
            v = ["nan"] * 7
        rows.append([key] + v + [repr(time.process_time() - t1)])
    rainbow_seconds = time.process_time() - t0
    with open(f"{folder}/rainbow.csv", "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["id", "reference_time", "amplitude", "rise_time", "Tmin", "delta_T", "k_sig", "reduced_chi2", "seconds"])
        w.writerows(rows)
    result = {"rainbow_seconds": rainbow_seconds, "rainbow_fits": fits}
    # fink_science/rubin/ad_features create_extractor(), one call per band with Fink's fill value
    extractor = lc.Extractor(
        lc.Mean(), lc.WeightedMean(), lc.StandardDeviation(), lc.Median(), lc.Amplitude(), lc.BeyondNStd(nstd=1),
        lc.Cusum(), lc.InterPercentileRange(quantile=0.1), lc.Kurtosis(), lc.LinearTrend(), lc.LinearFit(),
        lc.MagnitudePercentageRatio(quantile_numerator=0.4, quantile_denominator=0.05),
        lc.MagnitudePercentageRatio(quantile_numerator=0.2, quantile_denominator=0.1), lc.MaximumSlope(),
        lc.MedianAbsoluteDeviation(), lc.MedianBufferRangePercentage(quantile=0.1), lc.PercentAmplitude(),
        lc.MeanVariance(), lc.AndersonDarlingNormal(), lc.ReducedChi2(), lc.Skew(), lc.StetsonK(),
    )
    ad_rows = []
    t0 = time.process_time()
    for key, (t, band, flux, err) in curves.items():
        # repeated times are dropped across bands, the first kept (the points come sorted, stably)
        keep = np.concatenate([[True], np.diff(t) != 0])
        t, band, flux, err = t[keep], band[keep], flux[keep], err[keep]
        for b in WAVES:
            m = band == b
            if not m.any():
                continue
            v = extractor(t[m], flux[m], err[m], sorted=True, fill_value=np.nan)
            ad_rows.append([key, b] + [repr(float(x)) for x in v])
    result["ad_seconds"] = time.process_time() - t0
    result["ad_bands"] = len(ad_rows)
    with open(f"{folder}/ad.csv", "w", newline="") as out:
        csv.writer(out).writerows(ad_rows)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
