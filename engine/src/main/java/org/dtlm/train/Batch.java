package org.dtlm.train;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import org.dtlm.scheme.Scheme;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The training stencils of one optimiser step, laid out for the kernels (SPEC §4-5): the points the network runs on,
 * the row of each stencil's centre among them, and each stencil's observed acceleration term
 * ({@code proposed}, {@code leapfrog}: a^n = (q^{n+1} - 2q^n + q^{n-1})/dt^2; velocity schemes:
 * (vhat^{n+1} - vhat^n)/dt = (q^{n+2} - q^{n+1} - q^n + q^{n-1})/(2 dt^2)).
 *
 * <p>For {@code proposed} the points are runs of consecutive observations and DG is evaluated between consecutive
 * rows, so DG(q^{n+1}, q^n) is computed once and shared by the two stencils that use it (SPEC §4); stencils of one
 * trajectory whose points overlap or touch share one run. For the gradient schemes the points are the centres.
 * Preallocated for a capacity of stencils and refilled every step without allocation.
 */
final class Batch implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final Scheme scheme;
    private final int d, capacity, maxRows;
    final MemorySegment points;  // (rows, d)
    final MemorySegment accel;   // (stencils, d)
    final int[] centres;         // (stencils): row of q^n in points
    int rows, stencils;
    private final long[] keys;   // sorted (trajectory, centre) keys of the selection
    private final boolean share;

    /** share = false puts every stencil in a run of its own (the unshared evaluation, for tests). */
    Batch(Scheme scheme, int d, int capacity, boolean share) {
        this(scheme, d, capacity, scheme == Scheme.PROPOSED ? 3 * capacity : capacity, share);
    }

    /**
     * A batch whose fills never need more than maxRows points (e.g. every stencil of every trajectory, shared:
     * {@link #fullRows}); the workspace of a {@link Loss} is sized by it.
     */
    Batch(Scheme scheme, int d, int capacity, int maxRows, boolean share) {
        if (capacity < 1) throw new IllegalArgumentException("capacity = " + capacity + " must be >= 1");
        if (maxRows < capacity) throw new IllegalArgumentException("maxRows = " + maxRows + " < capacity " + capacity);
        this.scheme = scheme;
        this.d = d;
        this.capacity = capacity;
        this.maxRows = maxRows;
        this.share = share;
        points = arena.allocate(JAVA_DOUBLE, (long) maxRows * d);
        accel = arena.allocate(JAVA_DOUBLE, (long) capacity * d);
        centres = new int[capacity];
        keys = new long[capacity];
    }

    int capacity() {
        return capacity;
    }

    int maxRows() {
        return maxRows;
    }

    /** Rows of the shared batch of every stencil of trajectories of the given length: the whole runs, or the centres. */
    static int fullRows(Scheme scheme, int trajectories, int points) {
        int per = scheme.stencils(points);
        return Math.multiplyExact(trajectories, scheme == Scheme.PROPOSED ? per + 2 : per);
    }

    /**
     * Fills the batch with the stencils (trajectory[i], centre[i]), i &lt; count, of positions q: (trajectories,
     * points, d) C order. Any order and repeats are allowed; a repeated stencil counts twice in the loss.
     */
    void fill(double[] q, int points, double dt, int[] trajectory, int[] centre, int count) {
        if (count < 1 || count > capacity) throw new IllegalArgumentException("stencils = " + count + " outside 1.." + capacity);
        for (int i = 0; i < count; i++) keys[i] = (long) trajectory[i] * points + centre[i];
        Arrays.sort(keys, 0, count);
        stencils = count;
        rows = 0;
        double inv2 = 1 / (dt * dt);
        int runTrajectory = -1, runEnd = -2; // the current run holds points .. runEnd of runTrajectory, ending at `rows`
        for (int i = 0; i < count; i++) {
            int tr = (int) (keys[i] / points), n = (int) (keys[i] % points);
            long base = (long) tr * points * d;
            if (scheme == Scheme.PROPOSED) {
                if (!share || tr != runTrajectory || n - 1 > runEnd + 1) {
                    runTrajectory = tr;
                    runEnd = n - 2;
                }
                if (rows + n + 1 - runEnd > maxRows) throw new IllegalArgumentException("stencils need more than " + maxRows + " rows");
                for (int k = runEnd + 1; k <= n + 1; k++) copyPoint(q, base + (long) k * d, rows++);
                runEnd = Math.max(runEnd, n + 1);
                centres[i] = rows - 1 - (runEnd - n);
            } else {
                copyPoint(q, base + (long) n * d, rows);
                centres[i] = rows++;
            }
            for (int j = 0; j < d; j++) {
                double qm = q[(int) (base + (long) (n - 1) * d + j)], q0 = q[(int) (base + (long) n * d + j)];
                double qp = q[(int) (base + (long) (n + 1) * d + j)];
                double a = scheme.usesVelocity()
                        ? (q[(int) (base + (long) (n + 2) * d + j)] - qp - q0 + qm) * 0.5 * inv2
                        : (qp - 2 * q0 + qm) * inv2;
                accel.setAtIndex(JAVA_DOUBLE, (long) i * d + j, a);
            }
        }
    }

    private void copyPoint(double[] q, long from, int row) {
        MemorySegment.copy(q, (int) from, points, JAVA_DOUBLE, (long) row * d * Double.BYTES, d);
    }

    @Override
    public void close() {
        arena.close();
    }
}
