package org.dtlm.solve;

import java.util.SplittableRandom;

/** Test oracles: dense matrices (row-major n x n), Gaussian elimination with partial pivoting, random matrices. */
final class DenseLinearAlgebra {

    private DenseLinearAlgebra() {
    }

    /** Solves A z = r; a: (n, n) and r: (n) not modified; returns z. */
    static double[] solve(double[] a, double[] r) {
        int n = r.length;
        double[] m = a.clone();
        double[] z = r.clone();
        for (int k = 0; k < n; k++) {
            int p = k;
            for (int i = k + 1; i < n; i++) {
                if (Math.abs(m[i * n + k]) > Math.abs(m[p * n + k])) {
                    p = i;
                }
            }
            if (p != k) {
                for (int j = 0; j < n; j++) {
                    double t = m[k * n + j];
                    m[k * n + j] = m[p * n + j];
                    m[p * n + j] = t;
                }
                double t = z[k];
                z[k] = z[p];
                z[p] = t;
            }
            for (int i = k + 1; i < n; i++) {
                double l = m[i * n + k] / m[k * n + k];
                for (int j = k; j < n; j++) {
                    m[i * n + j] -= l * m[k * n + j];
                }
                z[i] -= l * z[k];
            }
        }
        for (int i = n - 1; i >= 0; i--) {
            double s = z[i];
            for (int j = i + 1; j < n; j++) {
                s -= m[i * n + j] * z[j];
            }
            z[i] = s / m[i * n + i];
        }
        return z;
    }

    /** out = A v. */
    static void multiply(double[] out, double[] a, double[] v) {
        int n = v.length;
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < n; j++) {
                s += a[i * n + j] * v[j];
            }
            out[i] = s;
        }
    }

    /** A nonsymmetric matrix magnitude·(I·shift + N(0,1)/√n), well conditioned for shift ≳ 3. */
    static double[] randomMatrix(SplittableRandom random, int n, double shift, double magnitude) {
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[i * n + j] = magnitude * ((i == j ? shift : 0) + random.nextGaussian() / Math.sqrt(n));
            }
        }
        return a;
    }

    /** A symmetric positive-definite matrix magnitude·(B Bᵀ/n + I). */
    static double[] randomSpd(SplittableRandom random, int n, double magnitude) {
        double[] b = new double[n * n];
        for (int i = 0; i < n * n; i++) {
            b[i] = random.nextGaussian();
        }
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = i == j ? n : 0;
                for (int k = 0; k < n; k++) {
                    s += b[i * n + k] * b[j * n + k];
                }
                a[i * n + j] = magnitude * s / n;
            }
        }
        return a;
    }

    static double[] randomVector(SplittableRandom random, int n, double magnitude) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = magnitude * random.nextGaussian();
        }
        return v;
    }

    /** max_i |a_i − b_i| / max_i |b_i|. */
    static double relativeMaxError(double[] a, double[] b) {
        double err = 0;
        double ref = 0;
        for (int i = 0; i < a.length; i++) {
            err = Math.max(err, Math.abs(a[i] - b[i]));
            ref = Math.max(ref, Math.abs(b[i]));
        }
        return err / ref;
    }
}
