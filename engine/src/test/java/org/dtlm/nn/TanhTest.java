package org.dtlm.nn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.random.RandomGenerator;

import org.junit.jupiter.api.Test;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cancellation-free divided difference of SPEC §2 and its partials against 120-digit values. */
class TanhTest {
    /** The divided difference: a handful of roundings (tanhc, c, one product). */
    static final double DD_ULPS = 4;
    /** The partials: error relative to the larger of the two terms that are summed (they may cancel). */
    static final double PARTIAL_REL = 16 * Math.ulp(1.0);
    /** Vector lanes (library tanh/exp) against the scalar reference, relative. */
    static final double VECTOR_REL = 8 * Math.ulp(1.0);

    /** Saturated, nearly equal, far apart, mixed signs, the |u| = 1 branch boundary, beyond +-400. */
    static final double[][] PAIRS = {
            {0.3, Math.nextUp(0.3)}, {0.5, 0.5 + 1e-8}, {1, -1}, {20, 19}, {-20, -19}, {19.5, 20.5}, {-30, 30},
            {2, -3}, {0.1, -0.1}, {5, 5.5}, {1e-3, 2e-3}, {0.7, 1.7}, {0.0, 1.0}, {0.2, 1.2000000000000002},
            {-0.6, 0.4}, {3, 1e-12}, {1e-300, -1e-300}, {400, 401}, {-405, -402}, {-400, 400}, {12, 12.25},
            {0.0, 1e-8}, {7, 3}, {-1.5, -0.25}, {36, 18}
    };

    @Test
    void dividedDifferenceIsAccurateEverywhere() {
        for (double[] p : PAIRS) {
            double a = p[0], b = p[1];
            double got = Tanh.dividedDifference(a, Math.tanh(a), Tanh.omega(a), b, Math.tanh(b), Tanh.omega(b));
            double want = HighPrecision.dividedDifference(a, b);
            assertTrue(Math.abs(got - want) <= DD_ULPS * Math.ulp(want) || Math.abs(want) < Double.MIN_NORMAL,
                    () -> "s(" + a + ", " + b + ") = " + got + ", exact " + want);
            assertTrue(Double.isFinite(got));
        }
    }

    @Test
    void dividedDifferenceAtEqualArgumentsIsSech2() {
        for (double a : new double[]{0, 1e-9, 0.5, -2, 20, -37, 400}) {
            double t = Math.tanh(a), o = Tanh.omega(a);
            assertEquals(Tanh.sech2(t, o), Tanh.dividedDifference(a, t, o, a, t, o), 0.0);
            double want = HighPrecision.sech2(a).doubleValue();
            assertTrue(Math.abs(Tanh.sech2(t, o) - want) <= DD_ULPS * Math.ulp(want) || want < Double.MIN_NORMAL,
                    "sech2(" + a + ")");
        }
    }

    @Test
    void partialsMatchHighPrecision() {
        for (double[] p : PAIRS) {
            double a = p[0], b = p[1];
            if (Math.abs(a - b) < 1e-100) continue; // the 120-digit oracle cannot resolve u^3 there: see below
            double ta = Math.tanh(a), oa = Tanh.omega(a), tb = Math.tanh(b), ob = Tanh.omega(b);
            double u = a - b;
            double scaleA = Math.abs(Tanh.tanhcPrime(u) * Tanh.oneMinusTanhTanh(ta, oa, tb, ob))
                    + Math.abs(Tanh.tanhc(u) * Tanh.sech2(ta, oa) * tb);
            double scaleB = Math.abs(Tanh.tanhcPrime(u) * Tanh.oneMinusTanhTanh(ta, oa, tb, ob))
                    + Math.abs(Tanh.tanhc(u) * Tanh.sech2(tb, ob) * ta);
            double gotA = Tanh.dividedDifferenceDa(a, ta, oa, b, tb, ob);
            double gotB = Tanh.dividedDifferenceDb(a, ta, oa, b, tb, ob);
            double wantA = HighPrecision.dividedDifferenceDa(a, b), wantB = HighPrecision.dividedDifferenceDb(a, b);
            assertTrue(Math.abs(gotA - wantA) <= PARTIAL_REL * scaleA + Double.MIN_NORMAL,
                    () -> "ds/da(" + a + ", " + b + ") = " + gotA + ", exact " + wantA);
            assertTrue(Math.abs(gotB - wantB) <= PARTIAL_REL * scaleB + Double.MIN_NORMAL,
                    () -> "ds/db(" + a + ", " + b + ") = " + gotB + ", exact " + wantB);
        }
    }

    @Test
    void partialsAtTinyArgumentsFollowTheTaylorLimit() {
        // s(a, b) = 1 - (a^2 + ab + b^2)/3 + O(a^4): ds/da = -(2a + b)/3, ds/db = -(a + 2b)/3
        double a = 1e-300, b = -1e-300, ta = Math.tanh(a), tb = Math.tanh(b), oa = Tanh.omega(a), ob = Tanh.omega(b);
        assertEquals(-(2 * a + b) / 3, Tanh.dividedDifferenceDa(a, ta, oa, b, tb, ob), 4 * Math.ulp(a / 3));
        assertEquals(-(a + 2 * b) / 3, Tanh.dividedDifferenceDb(a, ta, oa, b, tb, ob), 4 * Math.ulp(a / 3));
    }

    @Test
    void tanhcPrimeSeriesAndDirectBranchesAgreeAtTheBoundary() {
        double below = Tanh.tanhcPrime(1.0), above = Tanh.tanhcPrime(Math.nextUp(1.0));
        double exact = (1.0 - Math.pow(Math.tanh(1.0), 2) - Math.tanh(1.0)); // u sech^2 u - tanh u at u = 1
        assertEquals(exact, below, 4 * Math.ulp(exact));
        assertEquals(below, above, 4 * Math.ulp(below));
    }

    @Test
    void vectorKernelsMatchScalarReference() {
        RandomGenerator rng = Init.random(7);
        int n = 1003; // not a multiple of any vector length: exercises the tails
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(JAVA_DOUBLE, 2L * n), t = arena.allocate(JAVA_DOUBLE, 2L * n),
                    o = arena.allocate(JAVA_DOUBLE, 2L * n), s = arena.allocate(JAVA_DOUBLE, n),
                    sa = arena.allocate(JAVA_DOUBLE, n), sb = arena.allocate(JAVA_DOUBLE, n),
                    s2 = arena.allocate(JAVA_DOUBLE, n), ds2 = arena.allocate(JAVA_DOUBLE, n);
            for (int i = 0; i < 2 * n; i++) {
                double scale = switch (i % 4) { case 0 -> 0.01; case 1 -> 1; case 2 -> 20; default -> 500; };
                double v = scale * rng.nextGaussian();
                if (i % 7 == 3 && i >= n) v = a.getAtIndex(JAVA_DOUBLE, i - n); // some exactly equal pairs
                a.setAtIndex(JAVA_DOUBLE, i, v);
            }
            TanhKernels.activate(t, o, a, 0, 2L * n);
            TanhKernels.dividedDifferenceWithPartials(s, sa, sb, 0, a, t, o, 0, n, n);
            TanhKernels.sech2WithDerivative(s2, ds2, 0, t, o, 0, n);
            MemorySegment s1 = arena.allocate(JAVA_DOUBLE, n);
            TanhKernels.dividedDifference(s1, 0, a, t, o, 0, n, n);
            for (int i = 0; i < n; i++) {
                double ax = a.getAtIndex(JAVA_DOUBLE, i), ay = a.getAtIndex(JAVA_DOUBLE, n + i);
                double tx = Math.tanh(ax), ox = Tanh.omega(ax), ty = Math.tanh(ay), oy = Tanh.omega(ay);
                close(Math.tanh(ax), t.getAtIndex(JAVA_DOUBLE, i), 1, "tanh", i);
                close(ox, o.getAtIndex(JAVA_DOUBLE, i), 1, "omega", i);
                double ws = Tanh.dividedDifference(ax, tx, ox, ay, ty, oy);
                close(ws, s.getAtIndex(JAVA_DOUBLE, i), 1, "s", i);
                close(ws, s1.getAtIndex(JAVA_DOUBLE, i), 1, "s (no partials)", i);
                double u = ax - ay, c = Tanh.oneMinusTanhTanh(tx, ox, ty, oy);
                double scale = Math.abs(Tanh.tanhcPrime(u) * c) + Math.abs(Tanh.tanhc(u)) * (Tanh.sech2(tx, ox) + Tanh.sech2(ty, oy));
                close(Tanh.dividedDifferenceDa(ax, tx, ox, ay, ty, oy), sa.getAtIndex(JAVA_DOUBLE, i), scale, "sa", i);
                close(Tanh.dividedDifferenceDb(ax, tx, ox, ay, ty, oy), sb.getAtIndex(JAVA_DOUBLE, i), scale, "sb", i);
                double w2 = Tanh.sech2(tx, ox);
                close(w2, s2.getAtIndex(JAVA_DOUBLE, i), 1, "sech2", i);
                close(-2 * tx * w2, ds2.getAtIndex(JAVA_DOUBLE, i), 1, "d sech2", i);
            }
        }
    }

    /** |got - want| within VECTOR_REL of max(|want|, scale * min normal-relevant magnitude). */
    private static void close(double want, double got, double scale, String what, int i) {
        double tol = VECTOR_REL * Math.max(Math.abs(want), scale == 1 ? 0 : scale) + Double.MIN_NORMAL;
        assertTrue(Math.abs(got - want) <= tol, () -> what + "[" + i + "] = " + got + ", reference " + want);
    }
}
