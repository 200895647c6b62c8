#!/usr/bin/env python3
"""Median wall time of `djpeg -grayscale` on one pinned core, the whole process (start-up included).
Usage: djpeg_time.py FILE REPEAT"""
import statistics
import subprocess
import sys
import time

path, n = sys.argv[1], int(sys.argv[2])
samples = []
for _ in range(n + 1):
    t = time.perf_counter()
    subprocess.run(["taskset", "-c", "0", "djpeg", "-grayscale", "-outfile", "/dev/null", path], check=True)
    samples.append(time.perf_counter() - t)
print(statistics.median(samples[1:]))
