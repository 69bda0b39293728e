from fink_science.rubin.random_forest_snia.processor import extract_features_rainbow
from fink_science.rubin.random_forest_snia.processor import RAINBOW_FEATURES_NAMES
# ----

# Fink's LSST effective wavelengths (Angstrom), as rfscore_rainbow_elasticc_nometa gives them
RAINBOW_BAND_WAVE_AA = {"u": 3671.0, "g": 4827.0, "r": 6223.0, "i": 7546.0, "z": 8691.0, "y": 9712.0}


def rainbow_snia_features(c):
    """Fink's Rubin early SN Ia features, as fink_science/rubin/random_forest_snia computes them

    Per alert, sorted by time: [npoints] + extract_features_rainbow (actsnfink's rising-band selection,
    then light-curve's RainbowFit; zeros when the selection or the fit fails). Selected: the alerts whose
    amplitude is not zero (the processor's own flag).
    """
    rows = []
    for mjd, band, flux, err in zip(c["cmidpointMjdTai"], c["cband"], c["cpsfFlux"], c["cpsfFluxErr"]):
        mjd = np.asarray(mjd)
        order = mjd.argsort()
        features = extract_features_rainbow(
            mjd[order],
            np.asarray(band)[order],
            np.asarray(flux)[order],
            np.asarray(err)[order],
            band_wave_aa=RAINBOW_BAND_WAVE_AA,
            with_baseline=False,
            min_data_points=7,
            low_bound=-10,
        )
        rows.append([len(mjd)] + list(features))
    out = pd.DataFrame(np.array(rows, dtype=float).reshape(len(rows), 1 + len(RAINBOW_FEATURES_NAMES)), columns=["npoints"] + RAINBOW_FEATURES_NAMES)
    return out, out["amplitude"].to_numpy() != 0
