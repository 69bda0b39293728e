import zipfile
import onnxruntime as rt
# ----


def load_band_forests(name, files):
    """The module's per-band AAD forests (ONNX, input X float32 [N, features], output score), read from the
    zip in fink_science/data/models/, one InferenceSession per band."""
    curdir = os.path.dirname(os.path.abspath(__file__))
    with zipfile.ZipFile(os.path.join(curdir, "data", "models", name)) as z:
        return [rt.InferenceSession(z.read(f)) for f in files]


def band_scores(sessions, features, columns):
    """Per band the forest's score (lower = more anomalous), and whether the band's features are all finite.

    The final score is the minimum over the valid bands, NaN when no band is valid, as Fink's anomaly
    module combines its two forests.
    """
    scores, valid = [], []
    for session, cols in zip(sessions, columns):
        x = np.ascontiguousarray(features[:, cols], dtype=np.float32)
        out = session.run(["score"], {"X": x})[0]
        scores.append(np.asarray(out, dtype=np.float64).reshape(len(x), -1)[:, 0])
        valid.append(np.isfinite(x).all(axis=1))
    scores, valid = np.array(scores).reshape(len(sessions), -1), np.array(valid).reshape(len(sessions), -1)
    final = np.where(valid, scores, np.inf).min(axis=0)
    return np.where(valid.any(axis=0), final, np.nan)
