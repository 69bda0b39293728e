"""pyspark stub: Fink's processors run unchanged, called directly with what Spark would hand them."""


class SparkConf:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("pyspark stub: no Spark here (the processors are called directly)")
