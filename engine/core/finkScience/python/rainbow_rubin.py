from actsnfink.rainbow import fit_rainbow
# ----

# Fink's LSST effective wavelengths (Angstrom), as fink_science/rubin/random_forest_snia gives them
RAINBOW_FIT_BAND_WAVE_AA = {"u": 3671.0, "g": 4827.0, "r": 6223.0, "i": 7546.0, "z": 8691.0, "y": 9712.0}
RAINBOW_FIT_COLUMNS = ["reference_time", "amplitude", "rise_time", "Tmin", "delta_T", "k_sig", "reduced_chi2", "lc_max"]


def rainbow_fit_features(c):
    """The Rainbow fit alone, with Fink's recipe (fink_science/rubin/random_forest_snia, actsnfink.rainbow)

    Per alert: valid fluxes sorted by time (stable: equal times keep the alert's order); with 7 points or more, actsnfink's fit_rainbow (flux and error
    divided by the maximum flux, light-curve's RainbowFit with Fink's LSST wavelengths, no baseline) with
    no rising-band requirement (nrising_filters=-1), i.e. reference_time, the six Rainbow values and lc_max.
    NaN where there are fewer points or the fit fails (fit_rainbow's zeros). Selected: the fitted alerts.
    """
    rows = []
    for mjd, band, flux, err in zip(c["cmidpointMjdTai"], c["cband"], c["cpsfFlux"], c["cpsfFluxErr"]):
        flux = np.asarray(flux, dtype=float)
        mask = ~pd.isna(flux)
        mjd = np.asarray(mjd)[mask]
        order = mjd.argsort(kind="stable")
        values = [np.nan] * len(RAINBOW_FIT_COLUMNS)
        if len(mjd) >= 7:
            try:
                res = fit_rainbow(
                    mjd[order],
                    np.asarray(band)[mask][order],
                    flux[mask][order],
                    np.asarray(err, dtype=float)[mask][order],
                    band_wave_aa=RAINBOW_FIT_BAND_WAVE_AA,
                    with_baseline=False,
                    min_data_points=7,
                    list_filters=RAINBOW_FIT_BAND_WAVE_AA.keys(),
                    nrising_filters=-1,
                    low_bound=-10,
                )
                if any(v != 0 for v in res):
                    values = [float(v) for v in res]
            except (ValueError, RuntimeError):
                pass
        rows.append(values)
    out = pd.DataFrame(rows, columns=RAINBOW_FIT_COLUMNS, dtype=float)
    return out, np.isfinite(out["amplitude"].to_numpy())
