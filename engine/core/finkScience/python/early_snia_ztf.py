from fink_utils.data.utils import format_data_as_snana
from actsnfink.classifier_sigmoid import get_sigmoid_features_dev_fast
from actsnfink.classifier_sigmoid import RF_FEATURE_NAMES
from fink_science.ztf.random_forest_snia.processor import apply_selection_cuts_ztf
# ----


def sigmoid_features(c):
    """Fink's early SN Ia features and selection, as fink_science/ztf/random_forest_snia computes them

    apply_selection_cuts_ztf (4 valid magnitudes, ndethist <= 20, an extra-galactic or unknown SIMBAD class),
    then actsnfink's get_sigmoid_features_dev_fast (min_rising_points=2, min_data_points=4,
    rising_criteria="ewma") on the SNANA-formatted light curve of each selected alert.

    Returns the features (columns RF_FEATURE_NAMES; NaN outside the selection) and the selection.
    """
    mask = apply_selection_cuts_ztf(c["cmagpsf"], c["candidate.ndethist"], c["cdsxmatch"])
    mask = pd.Series(np.asarray(mask, dtype=bool))
    out = np.full((len(mask), len(RF_FEATURE_NAMES)), np.nan)
    if mask.any():
        candid = pd.Series(range(len(mask)))
        pdf = format_data_as_snana(c["cjd"], c["cmagpsf"], c["csigmapsf"], c["cfid"], candid, mask)
        rows = [
            get_sigmoid_features_dev_fast(
                pdf_sub,
                min_rising_points=2,
                min_data_points=4,
                rising_criteria="ewma",
            )
            for _, pdf_sub in pdf.groupby("SNID")
        ]
        out[mask.to_numpy()] = np.array(rows, dtype=float)
    return pd.DataFrame(out, columns=RF_FEATURE_NAMES), mask.to_numpy()
