"""pyspark.sql.types stub: the type objects Fink's processors build (only constructed, never checked)."""


class DataType:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs


class DoubleType(DataType):
    pass


class FloatType(DataType):
    pass


class IntegerType(DataType):
    pass


class LongType(DataType):
    pass


class StringType(DataType):
    pass


class BooleanType(DataType):
    pass


class ArrayType(DataType):
    pass


class MapType(DataType):
    pass


class StructField(DataType):
    pass


class StructType(DataType):
    pass
