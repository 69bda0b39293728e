"""Stub of light-curve's Rust extension: only the names the pure-Python package imports from it."""
__version__ = "0.0.0-python-only"


class Extractor:
    pass


class _FeatureEvaluator:
    pass


class JSONDeserializedFeature:
    pass
