package org.dtlm.nn;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

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

    private static double get(MemorySegment m, long i) {
        return m.getAtIndex(JAVA_DOUBLE, i);
    }

    private static void put(MemorySegment m, long i, double v) {
        m.setAtIndex(JAVA_DOUBLE, i, v);
    }

    /** L lanes from element i of m. */
    static DoubleVector load(MemorySegment m, long i) {
        return DoubleVector.fromMemorySegment(S, m, i * Double.BYTES, NO);
    }

    /** v into m from element i. */
    static void store(DoubleVector v, MemorySegment m, long i) {
        v.intoMemorySegment(m, i * Double.BYTES, NO);
    }

    /** End of the vector part of a loop over n elements (a multiple of L; 0 on the scalar path): the tail runs scalar. */
    static long vectorEnd(long n) {
        return VECTORIZED ? n - n % L : 0;
    }

    // ---------------------------------------------------------------------------------------------- activation
    /** t = tanh a, o = omega(a) = 1 - |tanh a|.  a, t, o: n elements at off; a not modified, t and o written. */
    public static void activate(MemorySegment t, MemorySegment o, MemorySegment a, long off, long n) {
        long end = vectorEnd(n);
        for (long i = 0; i < end; i += L) {
            DoubleVector va = load(a, off + i);
            DoubleVector m2 = va.abs().mul(-2.0);
            tanh(va, m2).intoMemorySegment(t, (off + i) * Double.BYTES, NO);
            DoubleVector e = m2.lanewise(VectorOperators.EXP);
            e.add(e).div(e.add(1.0)).intoMemorySegment(o, (off + i) * Double.BYTES, NO);
        }
        for (long i = off + end; i < off + n; i++) {
            double ai = get(a, i);
            put(t, i, Math.tanh(ai));
            put(o, i, Tanh.omega(ai));
        }
    }

    /**
     * tanh x from m2 = -2|x|: tanh|x| = -expm1(m2)/(2 + expm1(m2)), no cancellation at small |x| and 1 at the
     * saturation; the sign of x is copied in. The library's lane-wise TANH is not an intrinsic on this JDK (about ten
     * times slower than EXPM1, and slower than scalar Math.tanh: bench/README.md), EXPM1 is.
     */
    private static DoubleVector tanh(DoubleVector x, DoubleVector m2) {
        DoubleVector em = m2.lanewise(VectorOperators.EXPM1);
        DoubleVector mag = em.neg().div(em.add(2.0));
        return mag.reinterpretAsLongs().or(x.reinterpretAsLongs().and(Long.MIN_VALUE)).reinterpretAsDoubles();
    }

    private static DoubleVector tanh(DoubleVector x) {
        return tanh(x, x.abs().mul(-2.0));
    }

    /** s = sech^2 a (from t, o at off) into s at sOff; n elements. */
    public static void sech2(MemorySegment s, long sOff, MemorySegment t, MemorySegment o, long off, long n) {
        long end = vectorEnd(n);
        for (long i = 0; i < end; i += L) {
            sech2(load(t, off + i), load(o, off + i)).intoMemorySegment(s, (sOff + i) * Double.BYTES, NO);
        }
        for (long i = end; i < n; i++) put(s, sOff + i, Tanh.sech2(get(t, off + i), get(o, off + i)));
    }

    /** s = sech^2 a and ds = d sech^2(a)/da = -2 tanh(a) sech^2(a); n elements. */
    public static void sech2WithDerivative(MemorySegment s, MemorySegment ds, long sOff,
                                           MemorySegment t, MemorySegment o, long off, long n) {
        long end = vectorEnd(n);
        for (long i = 0; i < end; i += L) {
            DoubleVector vt = load(t, off + i);
            DoubleVector v = sech2(vt, load(o, off + i));
            v.intoMemorySegment(s, (sOff + i) * Double.BYTES, NO);
            v.mul(vt).mul(-2.0).intoMemorySegment(ds, (sOff + i) * Double.BYTES, NO);
        }
        for (long i = end; i < n; i++) {
            double ti = get(t, off + i), v = Tanh.sech2(ti, get(o, off + i));
            put(s, sOff + i, v);
            put(ds, sOff + i, -2 * ti * v);
        }
    }

    private static DoubleVector sech2(DoubleVector t, DoubleVector o) {
        return t.abs().fma(o, o);
    }

    // ----------------------------------------------------------------------------------- divided differences
    /** s = (tanh a_x - tanh a_y)/(a_x - a_y) for n pairs: x at xOff, y at yOff of (a, t, o); s at sOff. */
    public static void dividedDifference(MemorySegment s, long sOff, MemorySegment a, MemorySegment t,
                                         MemorySegment o, long xOff, long yOff, long n) {
        long end = vectorEnd(n);
        for (long i = 0; i < end; i += L) {
            DoubleVector ax = load(a, xOff + i), ay = load(a, yOff + i);
            DoubleVector tx = load(t, xOff + i), ty = load(t, yOff + i);
            DoubleVector c = oneMinusTanhTanh(tx, load(o, xOff + i), ty, load(o, yOff + i));
            DoubleVector u = ax.sub(ay);
            tanhc(u, tanh(u)).mul(c).intoMemorySegment(s, (sOff + i) * Double.BYTES, NO);
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
            DoubleVector ax = load(a, xOff + i), ay = load(a, yOff + i);
            DoubleVector tx = load(t, xOff + i), ty = load(t, yOff + i);
            DoubleVector ox = load(o, xOff + i), oy = load(o, yOff + i);
            DoubleVector c = oneMinusTanhTanh(tx, ox, ty, oy);
            DoubleVector u = ax.sub(ay);
            DoubleVector m2 = u.abs().mul(-2.0);
            DoubleVector th = tanh(u, m2);
            DoubleVector tc = tanhc(u, th);
            DoubleVector tcpc = tanhcPrime(u, m2, th).mul(c);
            long b = (sOff + i) * Double.BYTES;
            tc.mul(c).intoMemorySegment(s, b, NO);
            tcpc.sub(tc.mul(sech2(tx, ox)).mul(ty)).intoMemorySegment(sa, b, NO);
            tcpc.neg().sub(tc.mul(sech2(ty, oy)).mul(tx)).intoMemorySegment(sb, b, NO);
        }
        for (long i = end; i < n; i++) {
            long x = xOff + i, y = yOff + i;
            double axi = get(a, x), txi = get(t, x), oxi = get(o, x), ayi = get(a, y), tyi = get(t, y), oyi = get(o, y);
            put(s, sOff + i, Tanh.dividedDifference(axi, txi, oxi, ayi, tyi, oyi));
            put(sa, sOff + i, Tanh.dividedDifferenceDa(axi, txi, oxi, ayi, tyi, oyi));
            put(sb, sOff + i, Tanh.dividedDifferenceDb(axi, txi, oxi, ayi, tyi, oyi));
        }
    }

    private static DoubleVector oneMinusTanhTanh(DoubleVector ta, DoubleVector oa, DoubleVector tb, DoubleVector ob) {
        DoubleVector p = ta.mul(tb);
        VectorMask<Double> same = p.compare(VectorOperators.GT, 0.0);
        return p.abs().add(1.0).blend(ta.abs().fma(ob, oa), same);
    }

    private static DoubleVector tanhc(DoubleVector u, DoubleVector th) {
        VectorMask<Double> zero = u.compare(VectorOperators.EQ, 0.0);
        return th.div(u).blend(1.0, zero);
    }

    /** As {@link Tanh#tanhcPrime} (m2 = -2|u|, th = tanh u): series branch for |u| <= 1, direct quotient beyond. */
    private static DoubleVector tanhcPrime(DoubleVector u, DoubleVector m2, DoubleVector th) {
        DoubleVector e = m2.lanewise(VectorOperators.EXP), e1 = e.add(1.0);
        DoubleVector sech2u = e.mul(4.0).div(e1.mul(e1));
        VectorMask<Double> small = u.abs().compare(VectorOperators.LE, 1.0);
        DoubleVector us = u.blend(0.0, small.not());
        DoubleVector z = us.mul(us).mul(4.0);
        double[] c = Tanh.SINH_SERIES;
        DoubleVector p = DoubleVector.broadcast(S, c[c.length - 1]);
        for (int k = c.length - 2; k >= 0; k--) p = p.fma(z, DoubleVector.broadcast(S, c[k]));
        DoubleVector series = us.mul(-4.0).mul(sech2u).mul(p);
        DoubleVector ul = u.blend(1.0, small);
        DoubleVector direct = ul.fma(sech2u, th.neg()).div(ul.mul(ul));
        return direct.blend(series, small);
    }
}
