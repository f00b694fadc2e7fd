package org.dtlm.nn;

import java.math.BigDecimal;
import java.math.MathContext;

/** tanh and the divided difference with its partials in 120-digit decimal arithmetic: the oracle for {@link Tanh}. */
final class HighPrecision {
    static final MathContext MC = new MathContext(120);

    private HighPrecision() {
    }

    static BigDecimal exp(BigDecimal x) {
        int halvings = 0;
        while (x.abs().compareTo(new BigDecimal("0.01")) > 0) {
            x = x.divide(BigDecimal.TWO, MC);
            halvings++;
        }
        BigDecimal sum = BigDecimal.ONE, term = BigDecimal.ONE;
        for (int k = 1; k < 60; k++) {
            term = term.multiply(x, MC).divide(BigDecimal.valueOf(k), MC);
            sum = sum.add(term, MC);
        }
        for (int i = 0; i < halvings; i++) sum = sum.multiply(sum, MC);
        return sum;
    }

    /** e^y - 1 without cancellation: the series from its linear term where |y| is small. */
    static BigDecimal expm1(BigDecimal y) {
        if (y.abs().compareTo(new BigDecimal("0.01")) > 0) return exp(y).subtract(BigDecimal.ONE, MC);
        BigDecimal sum = BigDecimal.ZERO, term = BigDecimal.ONE;
        for (int k = 1; k < 60; k++) {
            term = term.multiply(y, MC).divide(BigDecimal.valueOf(k), MC);
            sum = sum.add(term, MC);
        }
        return sum;
    }

    /** tanh a = expm1(2a) / (expm1(2a) + 2), to 120 significant digits for every a. */
    static BigDecimal tanh(double a) {
        BigDecimal m = expm1(new BigDecimal(2 * a));
        return m.divide(m.add(BigDecimal.TWO, MC), MC);
    }

    static BigDecimal sech2(double a) {
        BigDecimal t = tanh(a);
        return BigDecimal.ONE.subtract(t.multiply(t, MC), MC);
    }

    /** (tanh a - tanh b)/(a - b); sech^2 a at a = b. */
    static double dividedDifference(double a, double b) {
        if (a == b) return sech2(a).doubleValue();
        BigDecimal u = new BigDecimal(a).subtract(new BigDecimal(b), MC);
        return tanh(a).subtract(tanh(b), MC).divide(u, MC).doubleValue();
    }

    /** ds/da = (sech^2(a) (a - b) - (tanh a - tanh b)) / (a - b)^2, a != b. */
    static double dividedDifferenceDa(double a, double b) {
        BigDecimal u = new BigDecimal(a).subtract(new BigDecimal(b), MC);
        BigDecimal num = sech2(a).multiply(u, MC).subtract(tanh(a).subtract(tanh(b), MC), MC);
        return num.divide(u.multiply(u, MC), MC).doubleValue();
    }

    /** ds/db = ((tanh a - tanh b) - sech^2(b) (a - b)) / (a - b)^2, a != b. */
    static double dividedDifferenceDb(double a, double b) {
        BigDecimal u = new BigDecimal(a).subtract(new BigDecimal(b), MC);
        BigDecimal num = tanh(a).subtract(tanh(b), MC).subtract(sech2(b).multiply(u, MC), MC);
        return num.divide(u.multiply(u, MC), MC).doubleValue();
    }
}
