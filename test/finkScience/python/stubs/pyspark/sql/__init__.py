"""pyspark.sql stub: DataFrame and SparkSession exist only to be imported."""


class DataFrame:
    pass


class SparkSession:
    pass
