package org.dtlm.nn;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.FMA;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LE;
import static jdk.incubator.vector.VectorOperators.LSHL;

/**
 * Element-wise tanh kernels of the forward pass and of ADD (SPEC §2) over native segments of doubles, offsets and
 * counts in elements. Each has a scalar reference (built from {@link Tanh}) and a Vector API path; the vector path
 * is the default, {@code -Ddtlm.vector=false} selects the scalar one. The vector path's lanes use the library's
 * vector exp/expm1 (tanh is built from expm1), so it agrees with the scalar reference to a few ulps, not bit for
 * bit; tails run the scalar code.
 *
 * <p>Buffers of one forward pass come as a triple (a, t, o): pre-activations a, t = tanh a, o = omega(a) =
 * 1 - |tanh a|, all at the same offsets. A pair block reads x at xOff and y at yOff of the same triple.
 */
public final class TanhKernels {
    private TanhKernels() {
    }

    /** Whether the Vector API path is used (system property dtlm.vector, default true). */
    public static final boolean VECTORIZED = !"false".equals(System.getProperty("dtlm.vector"));

    static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    static final int L = S.length();
    static final ByteOrder NO = ByteOrder.nativeOrder();

    // The vector loops here and in Mlp call the Vector API and nothing else in their bodies. C2 stops inlining ordinary
    // methods once a compilation has parsed NodeCountInliningCutoff (18000) nodes, and the Vector API's own code,
    // force-inlined, is large: a helper taking or returning a vector that is left out of line turns every vector into
    // a heap object (measured: 64 bytes allocated per element, several times slower). So such helpers are inlined by
    // hand, and the loops name their steps in comments instead.

    private static double get(MemorySegment m, long i) {
        return m.getAtIndex(JAVA_DOUBLE, i);
    }

    private static void put(MemorySegment m, long i, double v) {
        m.setAtIndex(JAVA_DOUBLE, i, v);
    }

    /** End of the vector part of a loop over n elements (a multiple of L; 0 on the scalar path); the tail is scalar. */
    static long vectorEnd(long n) {
        return VECTORIZED ? n - n % L : 0;
    }

    // -------------------------------------------------------------------------- exp and expm1 in one evaluation
    // The library's lane-wise TANH is not an intrinsic on this JDK (ten times slower than EXP: bench/README.md), and
    // tanh needs both EXP (omega at saturation) and EXPM1 (tanh near 0). One reduction y = k ln2 + r, |r| <= ln2/2,
    // and one polynomial p = e^r - 1 give both, each with one rounding from p. The loops below compute ("exp pair"):
    //   y = max(-2|x|, Y_MIN);  k = round(y LOG2E) = (y LOG2E + SHIFTER) - SHIFTER;
    //   r = (y - k LN2_HI) - k LN2_LO (two fmas);  p = r + r^2 (F2 + r F3 + ... + r^11 F13), by Estrin's scheme
    //   (pairs c_j + r c_{j+1}, then powers r^2, r^4, r^8: a third of Horner's dependent chain);
    //   q = 2^k: the bits of k + POW2_SHIFTER shifted left by 52 are 2^(k + 56), normal for k >= -1077; times 2^-56
    //   (exact down to the subnormals);
    //   e = exp y = q p + q;  em = expm1 y = q p + (q - 1).

    /** Below this y, exp y rounds to 0 and expm1 y to -1; keeps k >= -1077. */
    private static final double Y_MIN = -746;
    private static final double LOG2E = 1.4426950408889634;
    /** ln 2 = LN2_HI + LN2_LO to twice double precision. */
    private static final double LN2_HI = 0.6931471805599453, LN2_LO = 2.3190468138462996e-17;
    /** 1.5 * 2^52: adding and subtracting it rounds a double of magnitude below 2^51 to an integer, which is then the
     *  low bits of the sum's representation. */
    private static final double SHIFTER = 0x1.8p52;
    /** SHIFTER + 56 + 1023: k plus this has the biased exponent of 2^(k + 56) in its low bits. */
    private static final double POW2_SHIFTER = SHIFTER + 56 + 1023;
    private static final double POW2_DOWN = 0x1p-56;
    /** 1/n! for n = 2..13: the Taylor polynomial of (e^r - 1 - r)/r^2; the first term left out, r^14/14!, is below
     *  2^-55 of e^r - 1 for |r| <= ln2/2. */
    private static final double F2 = 1 / 2.0, F3 = F2 / 3, F4 = F3 / 4, F5 = F4 / 5, F6 = F5 / 6, F7 = F6 / 7,
            F8 = F7 / 8, F9 = F8 / 9, F10 = F9 / 10, F11 = F10 / 11, F12 = F11 / 12, F13 = F12 / 13;
    /** Tanh.SINH_SERIES as constants (C2 folds static final doubles, not array elements). */
    private static final double G1 = Tanh.SINH_SERIES[0], G2 = Tanh.SINH_SERIES[1], G3 = Tanh.SINH_SERIES[2],
            G4 = Tanh.SINH_SERIES[3], G5 = Tanh.SINH_SERIES[4], G6 = Tanh.SINH_SERIES[5], G7 = Tanh.SINH_SERIES[6],
            G8 = Tanh.SINH_SERIES[7], G9 = Tanh.SINH_SERIES[8], G10 = Tanh.SINH_SERIES[9],
            G11 = Tanh.SINH_SERIES[10], G12 = Tanh.SINH_SERIES[11];

    // ---------------------------------------------------------------------------------------------- activation
    /** t = tanh a, o = omega(a) = 1 - |tanh a|.  a, t, o: n elements at off; a not modified, t and o written. */
    public static void activate(MemorySegment t, MemorySegment o, MemorySegment a, long off, long n) {
        long end = vectorEnd(n);
        for (long i = 0; i < end; i += L) {
            long b = (off + i) * Double.BYTES;
            DoubleVector va = DoubleVector.fromMemorySegment(S, a, b, NO);
            // exp pair of y = -2|a|
            DoubleVector y = va.abs().mul(-2.0).max(Y_MIN);
            DoubleVector k = y.mul(LOG2E).add(SHIFTER).sub(SHIFTER);
            DoubleVector r = k.lanewise(FMA, -LN2_LO, k.lanewise(FMA, -LN2_HI, y));
            DoubleVector r2 = r.mul(r), r4 = r2.mul(r2);
            DoubleVector lo = r.lanewise(FMA, F5, F4).lanewise(FMA, r2, r.lanewise(FMA, F3, F2));
            DoubleVector mid = r.lanewise(FMA, F9, F8).lanewise(FMA, r2, r.lanewise(FMA, F7, F6));
            DoubleVector hi = r.lanewise(FMA, F13, F12).lanewise(FMA, r2, r.lanewise(FMA, F11, F10));
            DoubleVector p = r2.fma(hi.fma(r4.mul(r4), mid.fma(r4, lo)), r);
            DoubleVector q = k.add(POW2_SHIFTER).reinterpretAsLongs().lanewise(LSHL, 52).reinterpretAsDoubles()
                    .mul(POW2_DOWN);
            DoubleVector e = q.fma(p, q), em = q.fma(p, q.sub(1.0));
            // with w = 1/(1 + e): omega = 2e/(1 + e) = 2e w; tanh|a| = (1 - e)/(1 + e) = -em w, then the sign of a
            DoubleVector w = DoubleVector.broadcast(S, 1.0).div(e.add(1.0));
            DoubleVector th = em.neg().mul(w);
            th.reinterpretAsLongs().or(va.reinterpretAsLongs().and(Long.MIN_VALUE)).reinterpretAsDoubles()
                    .intoMemorySegment(t, b, NO);
            e.add(e).mul(w).intoMemorySegment(o, b, NO);
        }
        for (long i = off + end; i < off + n; i++) {
            double ai = get(a, i);
            put(t, i, Math.tanh(ai));
            put(o, i, Tanh.omega(ai));
        }
    }

    /** s = sech^2 a (from t, o at off) into s at sOff; n elements. */
    public static void sech2(MemorySegment s, long sOff, MemorySegment t, MemorySegment o, long off, long n) {
        long end = vectorEnd(n);
        for (long i = 0; i < end; i += L) {
            DoubleVector vo = DoubleVector.fromMemorySegment(S, o, (off + i) * Double.BYTES, NO);
            // sech^2 = |t| o + o, as Tanh#sech2
            DoubleVector.fromMemorySegment(S, t, (off + i) * Double.BYTES, NO).abs().fma(vo, vo)
                    .intoMemorySegment(s, (sOff + i) * Double.BYTES, NO);
        }
        for (long i = end; i < n; i++) put(s, sOff + i, Tanh.sech2(get(t, off + i), get(o, off + i)));
    }

    /** s = sech^2 a and ds = d sech^2(a)/da = -2 tanh(a) sech^2(a); n elements. */
    public static void sech2WithDerivative(MemorySegment s, MemorySegment ds, long sOff,
                                           MemorySegment t, MemorySegment o, long off, long n) {
        long end = vectorEnd(n);
        for (long i = 0; i < end; i += L) {
            DoubleVector vt = DoubleVector.fromMemorySegment(S, t, (off + i) * Double.BYTES, NO);
            DoubleVector vo = DoubleVector.fromMemorySegment(S, o, (off + i) * Double.BYTES, NO);
            DoubleVector v = vt.abs().fma(vo, vo);
            v.intoMemorySegment(s, (sOff + i) * Double.BYTES, NO);
            v.mul(vt).mul(-2.0).intoMemorySegment(ds, (sOff + i) * Double.BYTES, NO);
        }
        for (long i = end; i < n; i++) {
            double ti = get(t, off + i), v = Tanh.sech2(ti, get(o, off + i));
            put(s, sOff + i, v);
            put(ds, sOff + i, -2 * ti * v);
        }
    }

    // ----------------------------------------------------------------------------------- divided differences
    /** s = (tanh a_x - tanh a_y)/(a_x - a_y) for n pairs: x at xOff, y at yOff of (a, t, o); s at sOff. */
    public static void dividedDifference(MemorySegment s, long sOff, MemorySegment a, MemorySegment t,
                                         MemorySegment o, long xOff, long yOff, long n) {
        long end = vectorEnd(n);
        for (long i = 0; i < end; i += L) {
            long bx = (xOff + i) * Double.BYTES, by = (yOff + i) * Double.BYTES;
            DoubleVector tx = DoubleVector.fromMemorySegment(S, t, bx, NO);
            DoubleVector ty = DoubleVector.fromMemorySegment(S, t, by, NO);
            DoubleVector ox = DoubleVector.fromMemorySegment(S, o, bx, NO);
            DoubleVector oy = DoubleVector.fromMemorySegment(S, o, by, NO);
            DoubleVector u = DoubleVector.fromMemorySegment(S, a, bx, NO)
                    .sub(DoubleVector.fromMemorySegment(S, a, by, NO));
            // c = 1 - tx ty as Tanh#oneMinusTanhTanh: ox + |tx| oy for equal signs, 1 + |tx ty| otherwise
            DoubleVector txy = tx.mul(ty);
            DoubleVector c = txy.abs().add(1.0).blend(tx.abs().fma(oy, ox), txy.compare(GT, 0.0));
            // exp pair of y = -2|u|
            DoubleVector y = u.abs().mul(-2.0).max(Y_MIN);
            DoubleVector k = y.mul(LOG2E).add(SHIFTER).sub(SHIFTER);
            DoubleVector r = k.lanewise(FMA, -LN2_LO, k.lanewise(FMA, -LN2_HI, y));
            DoubleVector r2 = r.mul(r), r4 = r2.mul(r2);
            DoubleVector lo = r.lanewise(FMA, F5, F4).lanewise(FMA, r2, r.lanewise(FMA, F3, F2));
            DoubleVector mid = r.lanewise(FMA, F9, F8).lanewise(FMA, r2, r.lanewise(FMA, F7, F6));
            DoubleVector hi = r.lanewise(FMA, F13, F12).lanewise(FMA, r2, r.lanewise(FMA, F11, F10));
            DoubleVector p = r2.fma(hi.fma(r4.mul(r4), mid.fma(r4, lo)), r);
            DoubleVector q = k.add(POW2_SHIFTER).reinterpretAsLongs().lanewise(LSHL, 52).reinterpretAsDoubles()
                    .mul(POW2_DOWN);
            // tanhc(u) = tanh|u|/|u| = -em/((1 + e) |u|), 1 at u = 0
            DoubleVector tc = q.fma(p, q.sub(1.0)).neg().div(q.fma(p, q).add(1.0).mul(u.abs()));
            tc.blend(1.0, u.compare(EQ, 0.0)).mul(c).intoMemorySegment(s, (sOff + i) * Double.BYTES, NO);
        }
        for (long i = end; i < n; i++) {
            long x = xOff + i, y = yOff + i;
            put(s, sOff + i, Tanh.dividedDifference(get(a, x), get(t, x), get(o, x), get(a, y), get(t, y), get(o, y)));
        }
    }

    /** s and its partials sa = ds/da_x, sb = ds/da_y for n pairs (as {@link #dividedDifference}); outputs at sOff. */
    public static void dividedDifferenceWithPartials(MemorySegment s, MemorySegment sa, MemorySegment sb, long sOff,
                                                     MemorySegment a, MemorySegment t, MemorySegment o,
                                                     long xOff, long yOff, long n) {
        long end = vectorEnd(n);
        for (long i = 0; i < end; i += L) {
            long bx = (xOff + i) * Double.BYTES, by = (yOff + i) * Double.BYTES;
            DoubleVector tx = DoubleVector.fromMemorySegment(S, t, bx, NO);
            DoubleVector ty = DoubleVector.fromMemorySegment(S, t, by, NO);
            DoubleVector ox = DoubleVector.fromMemorySegment(S, o, bx, NO);
            DoubleVector oy = DoubleVector.fromMemorySegment(S, o, by, NO);
            DoubleVector u = DoubleVector.fromMemorySegment(S, a, bx, NO)
                    .sub(DoubleVector.fromMemorySegment(S, a, by, NO));
            DoubleVector txy = tx.mul(ty);
            DoubleVector c = txy.abs().add(1.0).blend(tx.abs().fma(oy, ox), txy.compare(GT, 0.0));
            // exp pair of y = -2|u|
            DoubleVector y = u.abs().mul(-2.0).max(Y_MIN);
            DoubleVector k = y.mul(LOG2E).add(SHIFTER).sub(SHIFTER);
            DoubleVector r = k.lanewise(FMA, -LN2_LO, k.lanewise(FMA, -LN2_HI, y));
            DoubleVector r2 = r.mul(r), r4 = r2.mul(r2);
            DoubleVector lo = r.lanewise(FMA, F5, F4).lanewise(FMA, r2, r.lanewise(FMA, F3, F2));
            DoubleVector mid = r.lanewise(FMA, F9, F8).lanewise(FMA, r2, r.lanewise(FMA, F7, F6));
            DoubleVector hi = r.lanewise(FMA, F13, F12).lanewise(FMA, r2, r.lanewise(FMA, F11, F10));
            DoubleVector p = r2.fma(hi.fma(r4.mul(r4), mid.fma(r4, lo)), r);
            DoubleVector q = k.add(POW2_SHIFTER).reinterpretAsLongs().lanewise(LSHL, 52).reinterpretAsDoubles()
                    .mul(POW2_DOWN);
            DoubleVector e = q.fma(p, q), w = DoubleVector.broadcast(S, 1.0).div(e.add(1.0));
            // tanh u = -em/(1 + e) with the sign of u; sech^2 u = 4e/(1 + e)^2 (as Tanh#tanhcPrime)
            DoubleVector th = q.fma(p, q.sub(1.0)).neg().mul(w).reinterpretAsLongs()
                    .or(u.reinterpretAsLongs().and(Long.MIN_VALUE)).reinterpretAsDoubles();
            DoubleVector sech2u = e.mul(4.0).mul(w).mul(w);
            DoubleVector tc = th.div(u).blend(1.0, u.compare(EQ, 0.0));
            // tanhc'(u) as Tanh#tanhcPrime: -4u sech^2(u) P(4u^2) for |u| <= 1, (u sech^2 u - th)/u^2 beyond
            VectorMask<Double> small = u.abs().compare(LE, 1.0);
            DoubleVector us = u.blend(0.0, small.not()), z = us.mul(us).mul(4.0);
            DoubleVector series = us.mul(-4.0).mul(sech2u).mul(z.lanewise(FMA, G12, G11).lanewise(FMA, z, G10)
                    .lanewise(FMA, z, G9).lanewise(FMA, z, G8).lanewise(FMA, z, G7).lanewise(FMA, z, G6)
                    .lanewise(FMA, z, G5).lanewise(FMA, z, G4).lanewise(FMA, z, G3).lanewise(FMA, z, G2)
                    .lanewise(FMA, z, G1));
            DoubleVector ul = u.blend(1.0, small);
            DoubleVector tcpc = ul.fma(sech2u, th.neg()).div(ul.mul(ul)).blend(series, small).mul(c);
            // s = tc c; sa = tc' c - tc sech^2(a_x) t_y; sb = -tc' c - tc sech^2(a_y) t_x
            long bs = (sOff + i) * Double.BYTES;
            tc.mul(c).intoMemorySegment(s, bs, NO);
            tcpc.sub(tc.mul(tx.abs().fma(ox, ox)).mul(ty)).intoMemorySegment(sa, bs, NO);
            tcpc.neg().sub(tc.mul(ty.abs().fma(oy, oy)).mul(tx)).intoMemorySegment(sb, bs, NO);
        }
        for (long i = end; i < n; i++) {
            long x = xOff + i, y = yOff + i;
            double axi = get(a, x), txi = get(t, x), oxi = get(o, x), ayi = get(a, y), tyi = get(t, y), oyi = get(o, y);
            put(s, sOff + i, Tanh.dividedDifference(axi, txi, oxi, ayi, tyi, oyi));
            put(sa, sOff + i, Tanh.dividedDifferenceDa(axi, txi, oxi, ayi, tyi, oyi));
            put(sb, sOff + i, Tanh.dividedDifferenceDb(axi, txi, oxi, ayi, tyi, oyi));
        }
    }
}
