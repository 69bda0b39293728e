"""pyspark.sql.functions stub: `pandas_udf` and `udf` give back the plain function (as decorator or call).

A pandas_udf is then called with pandas Series (the batch Spark would hand it), a udf row by row.
"""


def pandas_udf(f=None, returnType=None, functionType=None):
    # @pandas_udf(DoubleType()) passes the type first; pandas_udf(f, DoubleType()) the function
    if callable(f) and not _is_type(f):
        return f
    return lambda g: g


def udf(f=None, returnType=None):
    if callable(f) and not _is_type(f):
        return f
    return lambda g: g


def _is_type(x):
    from pyspark.sql.types import DataType

    return isinstance(x, DataType)


def _unavailable(name):
    def f(*args, **kwargs):
        raise RuntimeError(f"pyspark stub: F.{name} needs Spark")

    return f


col = _unavailable("col")
lit = _unavailable("lit")
