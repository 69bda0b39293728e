"""The CPU time the baselines report: the median over three runs of the same work."""
import time

import numpy as np


def median_cpu_seconds(work, runs=3):
    """Calls work() `runs` times; returns its last result and the median CPU-seconds of one call."""
    times = []
    result = None
    for _ in range(runs):
        t0 = time.process_time()
        result = work()
        times.append(time.process_time() - t0)
    return result, float(np.median(times))
