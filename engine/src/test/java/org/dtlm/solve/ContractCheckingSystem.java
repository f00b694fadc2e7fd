package org.dtlm.solve;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

import java.lang.foreign.MemorySegment;

/**
 * Wraps a system and fails (AssertionError) when the solver breaks the {@link NonlinearSystem} contract: a
 * Jacobian-vector product requested at a point other than the block's last residual evaluation, a residual scale asked
 * for a block that was never evaluated, or a callback whose mask selects no block. It also counts the evaluations the
 * solver expected to be last ({@link NonlinearSystem#residual}'s hint) and the products asked at such points anyway.
 */
final class ContractCheckingSystem implements NonlinearSystem {

    private final NonlinearSystem inner;
    private final int n;
    private final double[] lastX;      // (B, n)
    private final boolean[] evaluated; // (B)
    private final boolean[] expected;  // (B): the block's last evaluation was expected to be its last
    private int expectedLastCount;
    private int productsAtExpectedLast;

    ContractCheckingSystem(NonlinearSystem inner) {
        this.inner = inner;
        n = inner.blockSize();
        lastX = new double[inner.blocks() * n];
        evaluated = new boolean[inner.blocks()];
        expected = new boolean[inner.blocks()];
    }

    @Override
    public int blocks() {
        return inner.blocks();
    }

    @Override
    public int blockSize() {
        return n;
    }

    @Override
    public void residual(MemorySegment f, MemorySegment x, boolean[] active) {
        record(x, active, null);
        inner.residual(f, x, active);
    }

    @Override
    public void residual(MemorySegment f, MemorySegment x, boolean[] active, boolean[] expectedLast) {
        record(x, active, expectedLast);
        inner.residual(f, x, active, expectedLast);
    }

    private void record(MemorySegment x, boolean[] active, boolean[] expectedLast) {
        requireSomeActive(active);
        for (int b = 0; b < active.length; b++) {
            if (active[b]) {
                MemorySegment.copy(x, JAVA_DOUBLE, (long) b * n * Double.BYTES, lastX, b * n, n);
                evaluated[b] = true;
                expected[b] = expectedLast != null && expectedLast[b];
                if (expected[b]) expectedLastCount++;
            }
        }
    }

    /** Evaluations the solver expected to be the block's last. */
    int expectedLast() {
        return expectedLastCount;
    }

    /** Jacobian-vector products asked (per block) at a point expected to be the block's last. */
    int productsAtExpectedLast() {
        return productsAtExpectedLast;
    }

    @Override
    public void jacobianTimes(MemorySegment jv, MemorySegment x, MemorySegment v, boolean[] active) {
        requireSomeActive(active);
        for (int b = 0; b < active.length; b++) {
            if (!active[b]) {
                continue;
            }
            if (expected[b]) productsAtExpectedLast++;
            for (int i = 0; i < n; i++) {
                double xi = x.getAtIndex(JAVA_DOUBLE, (long) b * n + i);
                if (Double.doubleToRawLongBits(xi) != Double.doubleToRawLongBits(lastX[b * n + i])) {
                    throw new AssertionError("J v of block " + b + " at x[" + i + "] = " + xi
                            + ", but its last residual evaluation was at " + lastX[b * n + i]);
                }
            }
        }
        inner.jacobianTimes(jv, x, v, active);
    }

    @Override
    public double residualScale(int block) {
        if (!evaluated[block]) {
            throw new AssertionError("residualScale(" + block + ") before any residual evaluation of that block");
        }
        return inner.residualScale(block);
    }

    private static void requireSomeActive(boolean[] active) {
        for (boolean a : active) {
            if (a) {
                return;
            }
        }
        throw new AssertionError("callback with no active block");
    }
}
