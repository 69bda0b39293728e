import pickle
# ----


def load_forest(name):
    """The module's scikit-learn RandomForestClassifier, from fink_science/data/models/."""
    curdir = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(curdir, "data", "models", name), "rb") as f:
        return pickle.load(f)


def forest_proba(clf, features):
    """Class probabilities, the forest's classes in the module's class order.

    As RandomForestClassifier.predict_proba (the trees' probabilities summed in order, divided by their
    number), tree by tree so that a missing feature (NaN) is allowed: it goes to the right child at every
    split (`x <= threshold` is false), as Sieve trains and scores the forest.
    """
    x = np.ascontiguousarray(features, dtype=np.float32)
    proba = np.zeros((len(x), len(clf.classes_)), dtype=np.float64)
    for tree in clf.estimators_:
        proba += tree.predict_proba(x, check_input=False)
    return proba / len(clf.estimators_)
