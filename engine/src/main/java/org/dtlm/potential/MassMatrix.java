package org.dtlm.potential;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;

import org.dtlm.nn.Parameters;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The mass matrix M of H(q, p) = 1/2 p^T M^{-1} p + V(q), parameterised as SPEC §1 says:
 * {@code identity} (fixed, no parameter); {@code diagonal}: M^{-1} = diag softplus(theta);
 * {@code full}: M^{-1} = L L^T, L lower triangular, L_ii = softplus(rho_ii), free entries below the diagonal
 * (rho stored as a d x d row-major block of which the lower triangle is used); {@code fixed}: M^{-1} given verbatim and
 * not learned (a model file without metadata). Parameters live in the model's slab at {@code layout.mass()}.
 *
 * <p>{@link #update} recomputes M^{-1} and M from the parameters; the appliers then work on rows of (n, d) buffers.
 */
public final class MassMatrix {

    public enum Kind {
        IDENTITY, DIAGONAL, FULL, FIXED;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Kind parse(String s) {
            for (Kind k : values()) if (k.id().equals(s)) return k;
            throw new IllegalArgumentException("unknown mass option '" + s + "' (expected identity, diagonal or full)");
        }

        /** Number of parameters in the slab for dimension d. */
        public int parameters(int d) {
            return switch (this) {
                case IDENTITY, FIXED -> 0;
                case DIAGONAL -> d;
                case FULL -> d * d;
            };
        }
    }

    private final Kind kind;
    private final int d;
    private final long offset;
    private final double[] minv, m, fixed;

    /** fixedMinv: the d x d M^{-1} for Kind.FIXED, ignored otherwise. */
    public MassMatrix(Kind kind, int d, long offset, double[] fixedMinv) {
        this.kind = kind;
        this.d = d;
        this.offset = offset;
        this.minv = new double[d * d];
        this.m = new double[d * d];
        this.fixed = kind == Kind.FIXED ? fixedMinv.clone() : null;
        if (kind == Kind.FIXED) {
            checkSymmetricPositiveDefinite(fixedMinv, d);
        }
    }

    public Kind kind() {
        return kind;
    }

    public int dimension() {
        return d;
    }

    // ----------------------------------------------------------------------------- parameters <-> M^{-1}
    public static double softplus(double t) {
        return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
    }

    /** softplus^{-1}(y) = y + log(1 - e^{-y}), y > 0. */
    public static double softplusInverse(double y) {
        return y + Math.log(-Math.expm1(-y));
    }

    static double sigmoid(double t) {
        return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
    }

    /** Fresh parameters: M^{-1} = I (SPEC §1: theta = rho_ii = softplus^{-1}(1), off-diagonal 0). */
    public void initialize(Parameters p) {
        double[] eye = new double[d * d];
        for (int i = 0; i < d; i++) eye[i * d + i] = 1;
        initialize(p, eye);
    }

    /** Parameters that reproduce the given M^{-1} (SPEC §1: from a model file). */
    public void initialize(Parameters p, double[] givenMinv) {
        checkSymmetricPositiveDefinite(givenMinv, d);
        switch (kind) {
            case IDENTITY -> {
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j < d; j++) {
                        if (givenMinv[i * d + j] != (i == j ? 1 : 0)) {
                            throw new IllegalArgumentException("mass 'identity' but Minv is not the identity: Minv["
                                    + i + "][" + j + "] = " + givenMinv[i * d + j]);
                        }
                    }
                }
            }
            case DIAGONAL -> {
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j < d; j++) {
                        if (i != j && givenMinv[i * d + j] != 0) {
                            throw new IllegalArgumentException("mass 'diagonal' but Minv[" + i + "][" + j + "] = "
                                    + givenMinv[i * d + j] + " is off the diagonal");
                        }
                    }
                    p.set(offset + i, softplusInverse(givenMinv[i * d + i]));
                }
            }
            case FULL -> {
                double[] l = cholesky(givenMinv, d);
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j < d; j++) {
                        p.set(offset + (long) i * d + j, i == j ? softplusInverse(l[i * d + i]) : j < i ? l[i * d + j] : 0);
                    }
                }
            }
            case FIXED -> {
                if (!Arrays.equals(givenMinv, fixed)) throw new IllegalArgumentException("a fixed Minv cannot be re-initialised");
            }
        }
        update(p);
    }

    /** Recomputes M^{-1} and M from the parameters in p. */
    public void update(Parameters p) {
        Arrays.fill(minv, 0);
        switch (kind) {
            case IDENTITY -> {
                for (int i = 0; i < d; i++) minv[i * d + i] = 1;
            }
            case DIAGONAL -> {
                for (int i = 0; i < d; i++) minv[i * d + i] = softplus(p.get(offset + i));
            }
            case FULL -> {
                double[] l = factor(p);
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j < d; j++) {
                        double s = 0;
                        for (int k = 0; k <= Math.min(i, j); k++) s += l[i * d + k] * l[j * d + k];
                        minv[i * d + j] = s;
                    }
                }
            }
            case FIXED -> System.arraycopy(fixed, 0, minv, 0, d * d);
        }
        invertSymmetricPositiveDefinite(minv, m, d);
    }

    /** L with softplus on the diagonal, from rho. */
    private double[] factor(Parameters p) {
        double[] l = new double[d * d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j <= i; j++) {
                double r = p.get(offset + (long) i * d + j);
                l[i * d + j] = i == j ? softplus(r) : r;
            }
        }
        return l;
    }

    /** A copy of M^{-1} (d x d row-major). */
    public double[] inverse() {
        return minv.clone();
    }

    /** A copy of M (d x d row-major). */
    public double[] matrix() {
        return m.clone();
    }

    /** M^{-1}[i][j] without copying. */
    public double inverse(int i, int j) {
        return minv[i * d + j];
    }

    /** M[i][j] without copying. */
    public double matrix(int i, int j) {
        return m[i * d + j];
    }

    // ------------------------------------------------------------------------------------------- gradients
    /**
     * Accumulates into grad the gradient of a loss with respect to the mass parameters, given
     * dLdMinv[i][j] = dL/d(M^{-1})_{ij} (d x d row-major): diagonal: dtheta_i = G_ii sigmoid(theta_i);
     * full: dL/dL = (G + G^T) L, with the softplus chain rule on the diagonal.
     */
    public void backward(Parameters p, Parameters grad, double[] dLdMinv) {
        switch (kind) {
            case IDENTITY, FIXED -> {
            }
            case DIAGONAL -> {
                for (int i = 0; i < d; i++) {
                    long at = offset + i;
                    grad.set(at, grad.get(at) + dLdMinv[i * d + i] * sigmoid(p.get(at)));
                }
            }
            case FULL -> {
                double[] l = factor(p);
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j <= i; j++) {
                        double s = 0;
                        for (int k = 0; k < d; k++) s += (dLdMinv[i * d + k] + dLdMinv[k * d + i]) * l[k * d + j];
                        long at = offset + (long) i * d + j;
                        if (i == j) s *= sigmoid(p.get(at));
                        grad.set(at, grad.get(at) + s);
                    }
                }
            }
        }
    }

    // -------------------------------------------------------------------------------------------- applying
    /** out_r = M^{-1} g_r for rows r of (n, d) buffers at offsets; out must not alias g. */
    public void applyInverse(MemorySegment out, long outOff, MemorySegment g, long gOff, int n) {
        apply(minv, out, outOff, g, gOff, n);
    }

    /** out_r = M g_r. */
    public void apply(MemorySegment out, long outOff, MemorySegment g, long gOff, int n) {
        apply(m, out, outOff, g, gOff, n);
    }

    private void apply(double[] a, MemorySegment out, long outOff, MemorySegment g, long gOff, int n) {
        for (long r = 0; r < n; r++) {
            for (int i = 0; i < d; i++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += a[i * d + j] * g.getAtIndex(JAVA_DOUBLE, gOff + r * d + j);
                out.setAtIndex(JAVA_DOUBLE, outOff + r * d + i, s);
            }
        }
    }

    // ---------------------------------------------------------------------------------------- small algebra
    static void checkSymmetricPositiveDefinite(double[] a, int d) {
        if (a.length != d * d) throw new IllegalArgumentException("Minv has " + a.length + " entries, expected " + d + " x " + d);
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                double v = a[i * d + j];
                if (!Double.isFinite(v)) throw new IllegalArgumentException("Minv[" + i + "][" + j + "] = " + v);
                if (v != a[j * d + i]) {
                    throw new IllegalArgumentException("Minv is not symmetric: Minv[" + i + "][" + j + "] = " + v
                            + " but Minv[" + j + "][" + i + "] = " + a[j * d + i]);
                }
            }
        }
        cholesky(a, d);
    }

    /** Lower Cholesky factor of a symmetric positive-definite a (d x d); throws if a is not positive definite. */
    static double[] cholesky(double[] a, int d) {
        double[] l = new double[d * d];
        for (int j = 0; j < d; j++) {
            double s = a[j * d + j];
            for (int k = 0; k < j; k++) s -= l[j * d + k] * l[j * d + k];
            if (!(s > 0)) throw new IllegalArgumentException("Minv is not positive definite (pivot " + j + " = " + s + ")");
            double ljj = Math.sqrt(s);
            l[j * d + j] = ljj;
            for (int i = j + 1; i < d; i++) {
                double t = a[i * d + j];
                for (int k = 0; k < j; k++) t -= l[i * d + k] * l[j * d + k];
                l[i * d + j] = t / ljj;
            }
        }
        return l;
    }

    /** inv = a^{-1} for symmetric positive-definite a, by its Cholesky factor. */
    static void invertSymmetricPositiveDefinite(double[] a, double[] inv, int d) {
        double[] l = cholesky(a, d);
        double[] col = new double[d];
        for (int c = 0; c < d; c++) {
            // solve L y = e_c, then L^T x = y
            for (int i = 0; i < d; i++) {
                double s = i == c ? 1 : 0;
                for (int k = 0; k < i; k++) s -= l[i * d + k] * col[k];
                col[i] = s / l[i * d + i];
            }
            for (int i = d - 1; i >= 0; i--) {
                double s = col[i];
                for (int k = i + 1; k < d; k++) s -= l[k * d + i] * col[k];
                col[i] = s / l[i * d + i];
            }
            for (int i = 0; i < d; i++) inv[i * d + c] = col[i];
        }
    }
}
