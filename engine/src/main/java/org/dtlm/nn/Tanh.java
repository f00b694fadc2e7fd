package org.dtlm.nn;

/**
 * Scalar reference of the tanh quantities that ADD needs (SPEC §2), written so that nothing cancels or overflows.
 * These are the test oracle and the tails of the vectorised {@link TanhKernels}.
 *
 * <p>The divided difference s(a, b) = (tanh a - tanh b)/(a - b) is evaluated as tanhc(u) c(a, b) with u = a - b,
 * tanhc(u) = tanh(u)/u and c(a, b) = 1 - tanh a tanh b (from tanh(a - b) = (tanh a - tanh b)/(1 - tanh a tanh b));
 * this equals SPEC's sinhc(u)/(cosh a cosh b) since sinhc(u) = tanhc(u) cosh u. c is formed from
 * omega(x) = 1 - |tanh x| = 2/(e^{2|x|} + 1) when tanh a and tanh b have the same sign (SPEC §2: both saturated),
 * so s keeps full relative accuracy for a = 20, b = 19 and beyond +-400.
 */
public final class Tanh {
    private Tanh() {
    }

    /** 1 - |tanh a| = 2 e / (1 + e), e = exp(-2|a|): exact to rounding even where tanh a rounds to +-1. */
    public static double omega(double a) {
        double e = Math.exp(-2 * Math.abs(a));
        return 2 * e / (1 + e);
    }

    /** 1 - ta tb from ta = tanh a, oa = omega(a), tb, ob; = oa + |ta| ob for equal signs, 1 + |ta tb| otherwise. */
    public static double oneMinusTanhTanh(double ta, double oa, double tb, double ob) {
        return ta * tb > 0 ? Math.fma(Math.abs(ta), ob, oa) : 1 + Math.abs(ta * tb);
    }

    /** sech^2 a = c(a, a), computed by the very expression of {@link #oneMinusTanhTanh}, so that s(a, a) = sech^2 a. */
    public static double sech2(double t, double o) {
        return Math.fma(Math.abs(t), o, o);
    }

    /** tanh(u)/u, 1 at u = 0. No cancellation: tanh is accurate near 0. */
    public static double tanhc(double u) {
        return u == 0 ? 1 : Math.tanh(u) / u;
    }

    /**
     * d/du tanhc(u) = (u sech^2 u - tanh u)/u^2. For |u| <= 1 that difference cancels; there it is rewritten as
     * -(sinh 2u - 2u)/(2 u^2 cosh^2 u) = -4u sech^2(u) P(4u^2), P(z) = sum_{k>=1} z^{k-1}/(2k+1)!, a series of
     * positive terms (12 terms reach 2^-53 at z = 4). sech^2 u is 4e/(1 + e)^2, e = exp(-2|u|), not 1 - th^2: near
     * saturation one ulp of th is a large relative error of 1 - th^2, and u sech^2 u carries it into the result
     * (about 2|u| ulps of it at |u| = 15).
     */
    public static double tanhcPrime(double u) {
        double th = Math.tanh(u);
        double sech2u = sech2Exp(u);
        if (Math.abs(u) <= 1) return -4 * u * sech2u * sinhSeries(4 * u * u);
        return (u * sech2u - th) / (u * u);
    }

    /** sech^2 u = 4e/(1 + e)^2 with e = exp(-2|u|): full relative accuracy for every u. */
    static double sech2Exp(double u) {
        double e = Math.exp(-2 * Math.abs(u)), e1 = 1 + e;
        return 4 * e / (e1 * e1);
    }

    /** P(z) = sum_{k=1}^{12} z^{k-1}/(2k+1)! by Horner. */
    static double sinhSeries(double z) {
        double p = SINH_SERIES[SINH_SERIES.length - 1];
        for (int i = SINH_SERIES.length - 2; i >= 0; i--) p = p * z + SINH_SERIES[i];
        return p;
    }

    /** 1/(2k+1)! for k = 1..12. */
    static final double[] SINH_SERIES = new double[12];

    static {
        double f = 1; // (2k+1)!
        for (int k = 1; k <= 12; k++) {
            f *= (2.0 * k) * (2.0 * k + 1);
            SINH_SERIES[k - 1] = 1 / f;
        }
    }

    /** s(a, b) = (tanh a - tanh b)/(a - b), sech^2 a at a = b; ta, oa: tanh a and omega(a) (likewise for b). */
    public static double dividedDifference(double a, double ta, double oa, double b, double tb, double ob) {
        return tanhc(a - b) * oneMinusTanhTanh(ta, oa, tb, ob);
    }

    /** ds/da = tanhc'(u) c - tanhc(u) sech^2(a) tanh(b), u = a - b (SPEC §2, rewritten with c). */
    public static double dividedDifferenceDa(double a, double ta, double oa, double b, double tb, double ob) {
        double u = a - b;
        return tanhcPrime(u) * oneMinusTanhTanh(ta, oa, tb, ob) - tanhc(u) * sech2(ta, oa) * tb;
    }

    /** ds/db = -tanhc'(u) c - tanhc(u) sech^2(b) tanh(a). */
    public static double dividedDifferenceDb(double a, double ta, double oa, double b, double tb, double ob) {
        double u = a - b;
        return -tanhcPrime(u) * oneMinusTanhTanh(ta, oa, tb, ob) - tanhc(u) * sech2(tb, ob) * ta;
    }
}
