#!/usr/bin/env python3
"""Reference amax values for tests/quant/activation_histogram_test.cpp: the histogram methods of
TensorRT's pytorch-quantization calibrator (calib/histogram.py: _compute_amax_entropy,
_compute_amax_mse, _compute_amax_percentile) in plain numpy, on the hand-made histograms the
test builds. scipy.stats.entropy is written out (sum p log(p / q) on normalized p, q). Entropy
searches at most 2048 bins, as TensorRT's histogram has: a finer histogram first merges adjacent
pairs (entropy_amax_2048)."""
import numpy as np


def entropy_amax(hist, edges, start_bin=128):
    bins = hist.astype(np.float64).copy()
    bins[0] = bins[1]
    nbins = 128
    divergences = []
    for i in range(start_bin, len(bins) + 1):
        space = np.linspace(0, i, num=nbins + 1)
        digitized = np.digitize(range(i), space) - 1
        digitized[bins[:i] == 0] = -1
        counts = np.zeros(nbins)
        for idx, d in enumerate(digitized):
            if d != -1:
                counts[d] += bins[idx]
        keys, nonzero = np.unique(digitized[digitized != -1], return_counts=True)
        counts[keys] /= nonzero
        q = np.zeros(i)
        mask = digitized != -1
        q[mask] = counts[digitized[mask]]
        p = bins[:i].copy()
        p[-1] += bins[i:].sum()
        p, q = p / p.sum(), q / q.sum()
        with np.errstate(divide="ignore"):
            nz = p > 0
            kl = np.inf if np.any(q[nz] == 0) else float(np.sum(p[nz] * np.log(p[nz] / q[nz])))
        divergences.append(kl)
    divergences = np.array(divergences)
    last_argmin = len(divergences) - 1 - np.argmin(divergences[::-1])
    return edges[last_argmin + start_bin]


def entropy_amax_2048(hist, width):
    while len(hist) > 2048:
        hist, width = np.add.reduceat(hist, np.arange(0, len(hist), 2)), 2 * width
    return entropy_amax(hist, np.arange(len(hist) + 1) * width)


def mse_amax(hist, edges, start_bin=128):
    centers = (edges[1:] + edges[:-1]) / 2
    mses = []
    for i in range(start_bin, len(centers)):
        amax = centers[i]
        scale = amax / 127.0
        quant = np.minimum(np.round(centers / scale), 127) * scale
        mses.append(np.sum((quant - centers) ** 2 * hist))
    return centers[start_bin + int(np.argmin(mses))]


def percentile_amax(hist, edges, percentile):
    cdf = np.cumsum(hist / hist.sum())
    return edges[np.searchsorted(cdf, percentile / 100)]


def decaying(n=2048, width=0.01):
    """Counts falling as exp(-j / 150) with a few far outliers: a SiLU-like |x| histogram."""
    hist = np.floor(100000 * np.exp(-np.arange(n) / 150.0))
    hist[1900] += 3
    hist[2047] += 2
    return hist, np.arange(n + 1) * width


def silu_like(n=4096, width=1 / 512):
    """|x| of a SiLU output: the negative lobe flat up to |x| = 0.28 with its minimum's spike
    in bin 142, a falling positive tail and two far outliers, on 4096 bins."""
    hist = np.floor(5000 * np.exp(-np.arange(n) / 400.0))
    hist[:143] += 20000
    hist[142] += 1000000
    hist[[3000, 4095]] += 2
    return hist, width


if __name__ == "__main__":
    hist, edges = decaying()
    print("entropy", repr(float(entropy_amax(hist, edges))))
    print("mse", repr(float(mse_amax(hist, edges))))
    print("percentile 99.99", repr(float(percentile_amax(hist, edges, 99.99))))
    print("percentile 99.9", repr(float(percentile_amax(hist, edges, 99.9))))
    hist, width = silu_like()
    print("silu_like entropy", repr(float(entropy_amax_2048(hist, width))))
    print("silu_like entropy on all 4096 bins", repr(float(entropy_amax(hist, np.arange(len(hist) + 1) * width))))
