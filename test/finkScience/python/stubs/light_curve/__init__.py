"""light_curve stand-in: the package's own pure-Python features (light_curve.light_curve_py) from a checkout of
light-curve/light-curve-python (SIEVE_LIGHT_CURVE_PY), since its Rust extension cannot be built here.

- `light_curve_ext` is the stub beside this file (the names the Python package imports from it).
- The pure-Python Extractor has no `.names`; Fink's processors read it. It is given the field names of
  Fink's published `lc_features_g` struct (the Rust Extractor's names for Fink's feature list), read from
  the schema file named by SIEVE_FINK_LC_SCHEMA, and refused when their number is not the extractor's size.
- RainbowFit refuses iminuit < 2.21 by a version check only (Debian has 2.11): the check is skipped.
"""
import json
import os

__path__.append(os.path.join(os.environ["SIEVE_LIGHT_CURVE_PY"], "light-curve", "light_curve"))

from .light_curve_py import *  # noqa: E402,F401,F403
from .light_curve_py import Extractor as _PyExtractor  # noqa: E402
from .light_curve_py.features.rainbow._base import BaseRainbowFit  # noqa: E402

BaseRainbowFit._check_iminuit = staticmethod(lambda: None)


def _fink_names():
    def find(node):
        if isinstance(node, dict):
            if node.get("name") == "lc_features_g" and isinstance(node.get("type"), dict):
                return [f["name"] for f in node["type"]["fields"]]
            for v in node.values():
                r = find(v)
                if r:
                    return r
        elif isinstance(node, list):
            for v in node:
                r = find(v)
                if r:
                    return r
        return None

    with open(os.environ["SIEVE_FINK_LC_SCHEMA"]) as f:
        names = find(json.load(f))
    if not names:
        raise RuntimeError("no lc_features_g struct in " + os.environ["SIEVE_FINK_LC_SCHEMA"])
    return names


_NAMES = _fink_names()


def Extractor(*features):
    ex = _PyExtractor(*features)
    if ex.size_single_band != len(_NAMES):
        raise RuntimeError(f"light_curve stand-in: {ex.size_single_band} features, Fink's struct names {len(_NAMES)}")
    ex.names = list(_NAMES)
    return ex
