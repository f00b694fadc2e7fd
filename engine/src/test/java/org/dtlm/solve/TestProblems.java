package org.dtlm.solve;

/** Test problems as {@link PerBlockSystem.Block}s, each with an exact Jacobian-vector product and a term scale. */
final class TestProblems {

    private TestProblems() {
    }

    /** F(x) = A x − c; scale ‖ |A||x| + |c| ‖. */
    static PerBlockSystem.Block linear(double[] a, double[] c) {
        int n = c.length;
        double[] terms = new double[n];
        return new PerBlockSystem.Block() {
            @Override
            public void residual(double[] f, double[] x) {
                DenseLinearAlgebra.multiply(f, a, x);
                for (int i = 0; i < n; i++) {
                    f[i] -= c[i];
                }
            }

            @Override
            public void jacobianTimes(double[] jv, double[] x, double[] v) {
                DenseLinearAlgebra.multiply(jv, a, v);
            }

            @Override
            public double scale(double[] x) {
                for (int i = 0; i < n; i++) {
                    double s = Math.abs(c[i]);
                    for (int j = 0; j < n; j++) {
                        s += Math.abs(a[i * n + j] * x[j]);
                    }
                    terms[i] = s;
                }
                return BlockVectors.norm2(terms, 0, n);
            }
        };
    }

    /**
     * Discretised Bratu problem −u'' = λ eᵘ on (0, 1), u(0) = u(1) = 0, on n interior points (h = 1/(n+1)):
     * F_i(u) = (−u_{i−1} + 2u_i − u_{i+1})/h² − λ e^{u_i}; J = tridiag(−1, 2, −1)/h² − λ diag(eᵘ).
     */
    static PerBlockSystem.Block bratu(int n, double lambda) {
        double inverseH2 = (n + 1.0) * (n + 1.0);
        double[] terms = new double[n];
        return new PerBlockSystem.Block() {
            @Override
            public void residual(double[] f, double[] u) {
                for (int i = 0; i < n; i++) {
                    double left = i > 0 ? u[i - 1] : 0;
                    double right = i < n - 1 ? u[i + 1] : 0;
                    f[i] = (-left + 2 * u[i] - right) * inverseH2 - lambda * Math.exp(u[i]);
                }
            }

            @Override
            public void jacobianTimes(double[] jv, double[] u, double[] v) {
                for (int i = 0; i < n; i++) {
                    double left = i > 0 ? v[i - 1] : 0;
                    double right = i < n - 1 ? v[i + 1] : 0;
                    jv[i] = (-left + 2 * v[i] - right) * inverseH2 - lambda * Math.exp(u[i]) * v[i];
                }
            }

            @Override
            public double scale(double[] u) {
                for (int i = 0; i < n; i++) {
                    double left = i > 0 ? u[i - 1] : 0;
                    double right = i < n - 1 ? u[i + 1] : 0;
                    terms[i] = (Math.abs(left) + 2 * Math.abs(u[i]) + Math.abs(right)) * inverseH2
                            + lambda * Math.exp(u[i]);
                }
                return BlockVectors.norm2(terms, 0, n);
            }
        };
    }

    /**
     * Reference solution of {@link #bratu}: Newton's method with a direct tridiagonal (Thomas) solve of every step,
     * from u = 0 (the lower branch), until the step stops shrinking.
     */
    static double[] bratuReference(int n, double lambda) {
        double inverseH2 = (n + 1.0) * (n + 1.0);
        double[] u = new double[n];
        double[] f = new double[n];
        double[] diagonal = new double[n];
        double[] cPrime = new double[n];
        double[] dPrime = new double[n];
        PerBlockSystem.Block block = bratu(n, lambda);
        double previousStep = Double.POSITIVE_INFINITY;
        for (int iteration = 0; iteration < 100; iteration++) {
            block.residual(f, u);
            for (int i = 0; i < n; i++) {
                diagonal[i] = 2 * inverseH2 - lambda * Math.exp(u[i]);
            }
            double off = -inverseH2; // sub- and super-diagonal
            cPrime[0] = off / diagonal[0];
            dPrime[0] = -f[0] / diagonal[0];
            for (int i = 1; i < n; i++) {
                double denominator = diagonal[i] - off * cPrime[i - 1];
                cPrime[i] = off / denominator;
                dPrime[i] = (-f[i] - off * dPrime[i - 1]) / denominator;
            }
            double[] step = new double[n];
            step[n - 1] = dPrime[n - 1];
            for (int i = n - 2; i >= 0; i--) {
                step[i] = dPrime[i] - cPrime[i] * step[i + 1];
            }
            double stepNorm = BlockVectors.norm2(step, 0, n);
            for (int i = 0; i < n; i++) {
                u[i] += step[i];
            }
            if (stepNorm == 0 || stepNorm >= previousStep && stepNorm < 1e-12) {
                break;
            }
            previousStep = stepNorm;
        }
        return u;
    }

    /** F_i(x) = A_i·x + 0.1 x_i³ + sin(x_i) − c_i: a smooth nonlinear block with a unique root near the linear one. */
    static PerBlockSystem.Block cubic(double[] a, double[] c) {
        int n = c.length;
        double[] terms = new double[n];
        return new PerBlockSystem.Block() {
            @Override
            public void residual(double[] f, double[] x) {
                DenseLinearAlgebra.multiply(f, a, x);
                for (int i = 0; i < n; i++) {
                    f[i] += 0.1 * x[i] * x[i] * x[i] + Math.sin(x[i]) - c[i];
                }
            }

            @Override
            public void jacobianTimes(double[] jv, double[] x, double[] v) {
                DenseLinearAlgebra.multiply(jv, a, v);
                for (int i = 0; i < n; i++) {
                    jv[i] += (0.3 * x[i] * x[i] + Math.cos(x[i])) * v[i];
                }
            }

            @Override
            public double scale(double[] x) {
                for (int i = 0; i < n; i++) {
                    double s = Math.abs(c[i]) + 0.1 * Math.abs(x[i] * x[i] * x[i]) + Math.abs(Math.sin(x[i]));
                    for (int j = 0; j < n; j++) {
                        s += Math.abs(a[i * n + j] * x[j]);
                    }
                    terms[i] = s;
                }
                return BlockVectors.norm2(terms, 0, n);
            }
        };
    }

    /** F(x) = atan(x − root) componentwise: plain Newton from |x − root| ≳ 1.39 diverges, damped Newton converges. */
    static PerBlockSystem.Block arctan(double root) {
        return new PerBlockSystem.Block() {
            @Override
            public void residual(double[] f, double[] x) {
                for (int i = 0; i < x.length; i++) {
                    f[i] = Math.atan(x[i] - root);
                }
            }

            @Override
            public void jacobianTimes(double[] jv, double[] x, double[] v) {
                for (int i = 0; i < x.length; i++) {
                    double d = x[i] - root;
                    jv[i] = v[i] / (1 + d * d);
                }
            }

            @Override
            public double scale(double[] x) {
                double s = 0;
                for (int i = 0; i < x.length; i++) {
                    double t = Math.abs(x[i]) + Math.abs(root); // the terms of the subtraction inside atan
                    s += t * t;
                }
                return Math.sqrt(s);
            }
        };
    }
}
