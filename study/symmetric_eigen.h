// A small dense symmetric eigen-solver (cyclic Jacobi rotations) for the m x m tridiagonal
// matrices of Lanczos (study/curvature.h): m is tens, so O(m^3) per sweep costs nothing.
//
// Method: cyclic Jacobi (Golub & Van Loan, Matrix Computations, 4th ed., section 8.5): each
// rotation zeroes one off-diagonal pair; sweeps repeat until the off-diagonal mass is below
// 1e-15 of the Frobenius norm (quadratic convergence; typically 5-10 sweeps).
#pragma once

#include <cstdint>
#include <vector>

namespace descent::study {

struct SymmetricEigen {
  std::vector<double> eigenvalues;   // ascending
  std::vector<double> eigenvectors;  // n x n row-major; column j belongs to eigenvalues[j]
};

// `matrix` is n x n row-major and symmetric (only its upper triangle is read).
SymmetricEigen symmetric_eigen(const std::vector<double>& matrix, int64_t n);

}  // namespace descent::study
