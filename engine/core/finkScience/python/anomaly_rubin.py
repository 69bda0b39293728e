from fink_science.rubin.ad_features.processor import extract_features_ad_rubin_raw
from fink_science.rubin.ad_features.processor import FEATURES_COLS as AD_RUBIN_FEATURES_COLS
from fink_science.rubin.ad_features.processor import LSST_FILTER_LIST
# ----


def ad_rubin_features(c):
    """Fink's Rubin light-curve features for anomaly detection, as fink_science/rubin/ad_features computes them

    extract_features_ad_rubin_raw (fink-broker's Rubin `lc_features` column) on the concatenated history
    of each alert, one row at a time as the udf runs; each band's features become `<feature>_<band>` (NaN
    where Fink gives none). Every alert is selected.
    """
    rows = []
    args = zip(c["cmidpointMjdTai"], c["cpsfFlux"], c["cpsfFluxErr"], c["cband"], c["diaObject.diaObjectId"])
    for a in args:
        lc_features = extract_features_ad_rubin_raw(*a)
        row = {}
        for band, features in lc_features.items():
            for name, value in features.items():
                row["{}_{}".format(name, band)] = value
        rows.append(row)
    columns = ["{}_{}".format(name, band) for band in LSST_FILTER_LIST for name in AD_RUBIN_FEATURES_COLS]
    return pd.DataFrame(rows, index=range(len(rows)), columns=columns, dtype=float), np.ones(len(rows), dtype=bool)
