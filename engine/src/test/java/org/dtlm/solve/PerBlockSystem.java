package org.dtlm.solve;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

import java.lang.foreign.MemorySegment;

/**
 * Test adapter: a {@link NonlinearSystem} whose block b is the Java function {@code functions[b]} on double[] of
 * length n. Copies rows in and out of the solver's segments through preallocated buffers (allocation-free), counts
 * evaluations per block and can record the residual norm of every evaluation of block 0.
 */
final class PerBlockSystem implements NonlinearSystem {

    /** One block's F, optional exact J v and optional scale of the terms of F. */
    interface Block {
        /** f: (n) modified; x: (n) not modified. */
        void residual(double[] f, double[] x);

        /** jv: (n) modified; x, v: (n) not modified. */
        default void jacobianTimes(double[] jv, double[] x, double[] v) {
            throw new UnsupportedOperationException("no exact Jacobian-vector product in this test block");
        }

        /** Scale of the terms of F at x (see {@link NonlinearSystem#residualScale}). */
        default double scale(double[] x) {
            return 0.0;
        }
    }

    private final Block[] functions;
    private final int n;
    private final double[] xRow;
    private final double[] vRow;
    private final double[] outRow;
    private final double[] scales;
    final int[] evaluations;
    final double[] history = new double[256];
    int historyLength;

    PerBlockSystem(int n, Block... functions) {
        this.functions = functions;
        this.n = n;
        xRow = new double[n];
        vRow = new double[n];
        outRow = new double[n];
        scales = new double[functions.length];
        evaluations = new int[functions.length];
    }

    /** The single-block system made of block b of this one. */
    PerBlockSystem block(int b) {
        return new PerBlockSystem(n, functions[b]);
    }

    @Override
    public int blocks() {
        return functions.length;
    }

    @Override
    public int blockSize() {
        return n;
    }

    @Override
    public void residual(MemorySegment f, MemorySegment x, boolean[] active) {
        for (int b = 0; b < functions.length; b++) {
            if (!active[b]) {
                continue;
            }
            MemorySegment.copy(x, JAVA_DOUBLE, (long) b * n * Double.BYTES, xRow, 0, n);
            functions[b].residual(outRow, xRow);
            scales[b] = functions[b].scale(xRow);
            MemorySegment.copy(outRow, 0, f, JAVA_DOUBLE, (long) b * n * Double.BYTES, n);
            evaluations[b]++;
            if (b == 0 && historyLength < history.length) {
                history[historyLength++] = BlockVectors.norm2(outRow, 0, n);
            }
        }
    }

    @Override
    public void jacobianTimes(MemorySegment jv, MemorySegment x, MemorySegment v, boolean[] active) {
        for (int b = 0; b < functions.length; b++) {
            if (!active[b]) {
                continue;
            }
            MemorySegment.copy(x, JAVA_DOUBLE, (long) b * n * Double.BYTES, xRow, 0, n);
            MemorySegment.copy(v, JAVA_DOUBLE, (long) b * n * Double.BYTES, vRow, 0, n);
            functions[b].jacobianTimes(outRow, xRow, vRow);
            MemorySegment.copy(outRow, 0, jv, JAVA_DOUBLE, (long) b * n * Double.BYTES, n);
        }
    }

    @Override
    public double residualScale(int block) {
        return scales[block];
    }
}
