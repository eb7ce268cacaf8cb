#!/usr/bin/env python3
"""Fits the float32 erf/erfc polynomials used by moe4j-core's kernel/ErrorFunction.java.

Two regions, each fitted for relative error by iteratively reweighted least squares (Lawson's method) on
Chebyshev nodes against mpmath at 40 digits:
  small |x| : erf(x)  = x * P(x^2)                         (P of degree 6, fitted on [0, 1])
  large |x| : erfc(x) = exp(-x^2) * t * Q(t), t = 1/(1 + x/2)   (Q of degree 8, fitted on [0.5, 10])
erf switches from P to Q at 1; the normal CDF 0.5 (1 + erf(z)) switches at 0.5 already, so that it never cancels
badly for negative z.
Prints the coefficients (lowest degree first) and the worst relative error of each fit and of a float32
evaluation. Needs numpy and mpmath; it is a one-off tool, not part of the build.
"""
import numpy as np
import mpmath as mp

mp.mp.dps = 40


def chebyshev_nodes(lo, hi, n=4000):
    return np.cos(np.pi * (np.arange(n) + 0.5) / n) * (hi - lo) / 2 + (hi + lo) / 2


def lawson(basis, target, iterations=30):
    """Coefficients c minimising max |basis @ c / target - 1|."""
    a = basis / target[:, None]
    w = np.ones(len(target))
    c = None
    for _ in range(iterations):
        c, *_ = np.linalg.lstsq(a * np.sqrt(w)[:, None], np.sqrt(w), rcond=None)
        err = np.abs(a @ c - 1)
        w = w * err
        w /= w.sum()
    return c


def fit_small(degree=6, b=1.0):
    x = chebyshev_nodes(0, b)
    f = np.array([float(mp.erf(v) / v) for v in x])
    return lawson(np.vstack([(x * x) ** k for k in range(degree + 1)]).T, f)


def fit_large(degree=8, p=0.5, lo=0.5, hi=10.0):
    x = chebyshev_nodes(lo, hi)
    t = 1 / (1 + p * x)
    f = np.array([float(mp.erfc(v) * mp.exp(v * v)) for v in x]) / t
    return lawson(np.vstack([t ** k for k in range(degree + 1)]).T, f)


def horner32(coeffs, v):
    r = np.float32(0)
    for c in coeffs[::-1]:
        r = r * v + np.float32(c)
    return r


def main():
    small, large = fit_small(), fit_large()
    print("SMALL =", ", ".join(repr(float(c)) for c in small))
    print("LARGE =", ", ".join(repr(float(c)) for c in large))
    worst_erf = worst_erfc = worst_cdf = 0.0
    for v in np.linspace(1e-4, 9, 20001).astype(np.float32):
        a = abs(v)
        t = np.float32(1) / (np.float32(1) + np.float32(0.5) * a)
        # exp(-x^2) from the exact x^2, as the kernel's FMA correction gives
        erfc_large = np.float32(np.exp(-float(a) * float(a))) * t * horner32(large, t)
        # the lower tail of the CDF: Phi(-v sqrt 2) = 0.5 erfc(v)
        phi = np.float32(0.5) * (erfc_large if a >= 0.5 else np.float32(1) - a * horner32(small, a * a))
        worst_cdf = max(worst_cdf, abs(float(phi) / float(mp.erfc(float(v)) / 2) - 1))
        if a < 1:
            approx = a * horner32(small, a * a)
        else:
            worst_erfc = max(worst_erfc, abs(float(erfc_large) / float(mp.erfc(float(v))) - 1))
            approx = np.float32(1) - erfc_large
        worst_erf = max(worst_erf, abs(float(approx) / float(mp.erf(float(v))) - 1))
    print("float32 worst relative error: erf", worst_erf, "erfc (x >= 1)", worst_erfc, "normal CDF lower tail", worst_cdf)


if __name__ == "__main__":
    main()
