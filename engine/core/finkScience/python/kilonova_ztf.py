from fink_utils.photometry.conversion import mag2fluxcal_snana
from kndetect.utils import load_pcs
from kndetect.features import extract_features_all_lightcurves, get_feature_names
# ----


def kndetect_features(c):
    """kndetect's kilonova features, as fink_science/ztf/kilonova computes them

    Alerts with more than one valid magnitude: SNANA fluxes (mag2fluxcal_snana), then kndetect's
    extract_features_all_lightcurves with its own principal components, bands g and r; zeros for the others
    (extract_features_knscore). Every alert is selected (the module's cuts say which are scored).
    """
    jd, fid, magpsf, sigmapsf = c["cjd"], c["cfid"], c["cmagpsf"], c["csigmapsf"]
    names = get_feature_names()
    mask = magpsf.apply(lambda x: np.sum(np.array(x) == np.array(x))) > 1
    out = np.zeros((len(jd), len(names)), dtype=float)
    if mask.any():
        df_tmp = pd.DataFrame.from_dict({"jd": jd[mask], "SNID": range(len(jd[mask]))})
        df_tmp = df_tmp.explode("jd")
        data = [mag2fluxcal_snana(*args) for args in zip(magpsf[mask].explode(), sigmapsf[mask].explode())]
        flux, error = np.transpose(data)
        pdf = pd.DataFrame.from_dict(
            {
                "SNID": df_tmp["SNID"],
                "MJD": df_tmp["jd"],
                "FLUXCAL": flux,
                "FLUXCALERR": error,
                "FLT": fid[mask].explode().replace({1: "g", 2: "r"}),
            }
        )
        features_df = extract_features_all_lightcurves(pdf, key="SNID", pcs=load_pcs(), filters=["g", "r"])
        out[mask.to_numpy()] = features_df[names].to_numpy()
    return pd.DataFrame(out, columns=names), np.ones(len(jd), dtype=bool)
