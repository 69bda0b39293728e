from fink_science.ztf.ad_features.processor import extract_features_ad_raw
from fink_science.ztf.ad_features.processor import FEATURES_COLS as AD_FEATURES_COLS
# ----

# ZTF filter ids as band names (fid 1 is g, 2 is r)
AD_BANDS = {1: "g", 2: "r"}


def ad_features(c):
    """Fink's light-curve features for anomaly detection, as fink_science/ztf/ad_features computes them

    extract_features_ad_raw (fink-broker's `lc_features` column) on the concatenated history of each alert,
    one row at a time as the udf runs; each band's features become `<feature>_<band>` (NaN where Fink gives
    none for the band). Every alert is selected.
    """
    rows = []
    args = zip(
        c["cmagpsf"], c["cjd"], c["csigmapsf"], c["cfid"], c["objectId"],
        c["cdistnr"], c["cmagnr"], c["csigmagnr"], c["cisdiffpos"],
    )
    for a in args:
        lc_features = extract_features_ad_raw(*a)
        row = {}
        for fid, band in AD_BANDS.items():
            for name, value in (lc_features.get(fid) or {}).items():
                row["{}_{}".format(name, band)] = value
        rows.append(row)
    columns = ["{}_{}".format(name, band) for band in AD_BANDS.values() for name in AD_FEATURES_COLS]
    return pd.DataFrame(rows, index=range(len(rows)), columns=columns, dtype=float), np.ones(len(rows), dtype=bool)
