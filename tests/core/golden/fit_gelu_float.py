"""Fits the coefficients of the float32 GELU kernel in core/vecmath.h (detail::GeluFloat) and
prints them as C++ initialisers; not a golden-file generator (nothing is written), but kept with
them because it, too, is run by hand with /usr/bin/python3 (numpy, mpmath):

  Phi(-a) = exp(-a^2/2) R(a),  a = |x|,  R(a) = erfc(a/sqrt 2)/2 exp(a^2/2)   (a in [0, 13.25])
  R(a)   ~ N(a) / D(a), N of degree 4, D = 1 + ... of degree 5
  exp(r) ~ 1 + r + c2 r^2 + ... + c6 r^6                                      (|r| <= 0.35)

Both minimise the largest relative error (Lawson's iteratively reweighted least squares on
Chebyshev nodes; for N/D, Loeb's linearisation N - R D = 0 weighted by 1/(R D_previous)).
Each coefficient is then rounded to float32 in turn, highest degree first, and the others
refitted, so that the printed (float) coefficients are themselves near-minimax."""
import mpmath as mp
import numpy as np

mp.mp.dps = 30
NODES = 3000
ITERATIONS = 40
A_MAX = 13.25  # beyond |x| = 13.19 (x^2/2 > 87) the kernel saturates
EXP_HALF_RANGE = 0.35  # |r| <= ln2/2 plus the rounding of the reduction


def to_float32(v):
    return float(np.float32(v))


def chebyshev_nodes(low, high):
    k = np.arange(NODES)
    return low + (high - low) * (1 - np.cos(np.pi * (k + 0.5) / NODES)) / 2


def lawson(columns, known, target):
    """c minimising max |(known + columns @ c) / target - 1|."""
    weights = np.full(len(target), 1.0 / len(target))
    best = None
    for _ in range(ITERATIONS):
        scale = np.sqrt(weights) / target
        matrix = columns * scale[:, None]
        norms = np.abs(matrix).max(0)
        c = np.linalg.lstsq(matrix / norms, (target - known) * scale, rcond=None)[0] / norms
        error = (known + columns @ c) / target - 1
        if best is None or np.abs(error).max() < best[0]:
            best = (np.abs(error).max(), c)
        weights = weights * np.abs(error)
        weights /= weights.sum()
    return best


def fit_exp(degree):
    r = chebyshev_nodes(-EXP_HALF_RANGE, EXP_HALF_RANGE)
    fixed = {0: 1.0, 1: 1.0}
    for k in range(degree, 1, -1):
        free = [i for i in range(2, degree + 1) if i not in fixed]
        known = sum(c * r**i for i, c in fixed.items())
        _, c = lawson(np.stack([r**i for i in free], 1), known, np.exp(r))
        fixed[k] = to_float32(dict(zip(free, c))[k])
    coefficients = [fixed[i] for i in range(degree + 1)]
    error = np.abs(np.polyval(coefficients[::-1], r) / np.exp(r) - 1).max()
    return coefficients, error


def fit_rational(m, n):
    a = chebyshev_nodes(0.0, A_MAX)
    target = np.array([float(mp.erfc(mp.mpf(v) / mp.sqrt(2)) / 2 * mp.exp(mp.mpf(v) ** 2 / 2)) for v in a])
    fixed_n, fixed_d = {}, {0: 1.0}

    def refit():
        denominator = np.ones_like(a)
        weights = np.full(len(a), 1.0 / len(a))
        best = None
        free_n = [i for i in range(m + 1) if i not in fixed_n]
        free_d = [j for j in range(n + 1) if j not in fixed_d]
        for _ in range(ITERATIONS):
            # N(a) - R(a) D_free(a) = R(a) D_fixed(a) - N_fixed(a), scaled by 1/(R D_previous)
            columns = np.stack([a**i for i in free_n] + [-target * a**j for j in free_d], 1)
            rhs = sum(target * c * a**j for j, c in fixed_d.items()) - sum(c * a**i for i, c in fixed_n.items())
            scale = np.sqrt(weights) / (target * denominator)
            matrix = columns * scale[:, None]
            norms = np.abs(matrix).max(0)
            solution = np.linalg.lstsq(matrix / norms, rhs * scale, rcond=None)[0] / norms
            numerator_c = [fixed_n.get(i, 0.0) for i in range(m + 1)]
            denominator_c = [fixed_d.get(j, 0.0) for j in range(n + 1)]
            for i, c in zip(free_n, solution[: len(free_n)]):
                numerator_c[i] = c
            for j, c in zip(free_d, solution[len(free_n):]):
                denominator_c[j] = c
            denominator = np.polyval(denominator_c[::-1], a)
            error = np.polyval(numerator_c[::-1], a) / denominator / target - 1
            if best is None or np.abs(error).max() < best[0]:
                best = (np.abs(error).max(), numerator_c, denominator_c)
            weights = weights * np.abs(error)
            weights /= weights.sum()
        return best

    for kind, k in [("d", j) for j in range(n, 0, -1)] + [("n", i) for i in range(m, -1, -1)]:
        _, numerator_c, denominator_c = refit()
        if kind == "d":
            fixed_d[k] = to_float32(denominator_c[k])
        else:
            fixed_n[k] = to_float32(numerator_c[k])
    numerator_c = [fixed_n[i] for i in range(m + 1)]
    denominator_c = [fixed_d[j] for j in range(n + 1)]
    error = np.abs(np.polyval(numerator_c[::-1], a) / np.polyval(denominator_c[::-1], a) / target - 1).max()
    return numerator_c, denominator_c, error


def cpp(values):
    def literal(v):
        text = f"{float(np.float32(v)):.9g}"
        return text + ("" if "." in text or "e" in text else ".0") + "f"

    return "{" + ", ".join(literal(v) for v in values) + "}"


if __name__ == "__main__":
    numerator, denominator, rational_error = fit_rational(4, 5)
    exp_coefficients, exp_error = fit_exp(6)
    print(f"// N/D: relative error {rational_error:.2e}; exp: relative error {exp_error:.2e}")
    print("kTailNumerator =", cpp(numerator))
    print("kTailDenominator =", cpp(denominator))
    print("kExp (in r) =", cpp(exp_coefficients))
