# ----

# Sieve's cut language, vectorised: a number is float64 with NaN for a missing value, text an object array
# with None (or NaN) for a missing value. Every comparison with a missing value is false, except `!=`,
# which is true when exactly one side is missing.
_NUM_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal}
_TEXT_OPS = {
    "<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y, "==": lambda x, y: x == y, "!=": lambda x, y: x != y,
}


def _num_one(v):
    if isinstance(v, (bool, np.bool_, int, float, np.integer, np.floating)):
        return float(v)
    return np.nan


def _num(x):
    """Numbers as float64: True/False as 1/0; text and missing values as NaN."""
    a = np.asarray(x)
    if a.dtype.kind in "fiub":
        return a.astype("float64")
    return np.vectorize(_num_one, otypes=[np.float64])(a)


def _missing_text(x):
    x = np.asarray(x, dtype=object)
    return np.vectorize(lambda v: v is None or (isinstance(v, float) and v != v), otypes=[bool])(x)


def _cmp_num(op, a, b):
    a, b = _num(a), _num(b)
    ma, mb = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore"):
        r = _NUM_OPS[op](a, b)
    if op == "!=":
        return np.where(ma | mb, ~(ma & mb), r)
    return r & ~ma & ~mb


def _cmp_text(op, a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    ma, mb = _missing_text(a), _missing_text(b)
    f = _TEXT_OPS[op]
    r = np.vectorize(lambda x, y, m: False if m else bool(f(str(x), str(y))), otypes=[bool])(a, b, ma | mb)
    if op == "!=":
        return np.where(ma | mb, ~(ma & mb), r)
    return r


def _truthy_num(x):
    x = _num(x)
    return (x != 0) & ~np.isnan(x)


def _truthy_text(x):
    return np.vectorize(lambda v: not (v is None or (isinstance(v, float) and v != v) or v == ""), otypes=[bool])(np.asarray(x, dtype=object))


def _arith(f, *args):
    with np.errstate(all="ignore"):
        return f(*[_num(a) for a in args])
