package org.dtlm.train;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import org.dtlm.scheme.Scheme;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The training stencils of one optimiser step, laid out for the kernels (SPEC §4-5): the points the network runs on,
 * the pairs a discrete gradient is taken of, where each stencil finds its force terms, and each stencil's observed
 * acceleration term ({@code proposed}, {@code leapfrog}: a^n = (q^{n+1} - 2q^n + q^{n-1})/dt^2; velocity schemes:
 * (vhat^{n+1} - vhat^n)/dt = (q^{n+2} - q^{n+1} - q^n + q^{n-1})/(2 dt^2)).
 *
 * <p>For {@code proposed}, pair i is (row pairX + i, row pairY + i) and stencil s uses pairs {@code upper[s]}
 * (DG(q^{n+1}, q^n)) and {@code lower[s]} (DG(q^n, q^{n-1})). Two layouts:
 * <ul>
 * <li>runs: runs of consecutive observations, DG between consecutive rows, so that DG(q^{n+1}, q^n) is computed once
 * for the two stencils that use it (SPEC §4); stencils of one trajectory whose points overlap or touch share a run.
 * About one row and one pair per stencil for a dense batch (the full batch), but three rows and three pairs, one of
 * them wasted between runs, per isolated stencil;</li>
 * <li>blocks: rows q^{n+1} of every stencil, then every q^n, then every q^{n-1}, pairs (row i, row n + i) for
 * i &lt; 2n: three rows and two pairs per stencil, nothing wasted, nothing shared.</li>
 * </ul>
 * Each fill takes the layout with fewer rows plus pairs (both cost about the same per row and per pair: three GEMM
 * rows each). For the gradient schemes the points are the centres and {@code upper[s]} is the row of stencil s.
 * Preallocated for a capacity of stencils and refilled every step without allocation.
 */
final class Batch implements AutoCloseable {
    /** How a fill lays out the proposed scheme's stencils. */
    enum Layout { CHEAPER, RUNS, BLOCKS }

    private final Arena arena = Arena.ofShared();
    private final Scheme scheme;
    private final int d, capacity, maxRows;
    private final Layout layout;
    final MemorySegment points;  // (rows, d)
    final MemorySegment accel;   // (stencils, d)
    final int[] upper, lower;    // (stencils): pair (proposed) or row (gradient schemes) of each stencil's force terms
    int rows, stencils;
    int pairX, pairY, pairs;     // proposed: the pairs (row pairX + i, row pairY + i), i < pairs
    private final long[] keys;   // sorted (trajectory, centre) keys of the selection
    private final long[] keyScratch;
    private final int[] digitCounts = new int[1 << RADIX_BITS];

    /** A batch for up to {@code capacity} stencils; the layout of {@code proposed} batches as given. */
    Batch(Scheme scheme, int d, int capacity, Layout layout) {
        this(scheme, d, capacity, scheme == Scheme.PROPOSED ? 3 * capacity : capacity, layout);
    }

    /**
     * A batch whose fills never need more than maxRows points (e.g. every stencil of every trajectory in runs:
     * {@link #fullRows}); the workspace of a {@link Loss} is sized by it.
     */
    Batch(Scheme scheme, int d, int capacity, int maxRows, Layout layout) {
        if (capacity < 1) throw new IllegalArgumentException("capacity = " + capacity + " must be >= 1");
        if (maxRows < capacity) throw new IllegalArgumentException("maxRows = " + maxRows + " < capacity " + capacity);
        this.scheme = scheme;
        this.d = d;
        this.capacity = capacity;
        this.maxRows = maxRows;
        this.layout = layout;
        points = arena.allocate(JAVA_DOUBLE, (long) maxRows * d);
        accel = arena.allocate(JAVA_DOUBLE, (long) capacity * d);
        upper = new int[capacity];
        lower = new int[capacity];
        keys = new long[capacity];
        keyScratch = new long[capacity];
    }

    int capacity() {
        return capacity;
    }

    int maxRows() {
        return maxRows;
    }

    /** Rows of the batch of every stencil of trajectories of the given length, in runs: whole trajectories, or the centres. */
    static int fullRows(Scheme scheme, int trajectories, int points) {
        int per = scheme.stencils(points);
        return Math.multiplyExact(trajectories, scheme == Scheme.PROPOSED ? per + 2 : per);
    }

    /**
     * Fills the batch with the stencils (trajectory[i], centre[i]), i &lt; count, of positions q: (trajectories,
     * points, d) C order. Any order and repeats are allowed; a repeated stencil counts twice in the loss.
     */
    void fill(double[] q, int points, double dt, int[] trajectory, int[] centre, int count) {
        fill(q, points, dt, trajectory, centre, 0, count);
    }

    /** As {@link #fill(double[], int, double, int[], int[], int)} with the stencils from .. from + count - 1. */
    void fill(double[] q, int points, double dt, int[] trajectory, int[] centre, int from, int count) {
        if (count < 1 || count > capacity) throw new IllegalArgumentException("stencils = " + count + " outside 1.." + capacity);
        for (int i = 0; i < count; i++) keys[i] = (long) trajectory[from + i] * points + centre[from + i];
        sortAscending(keys, count, keyScratch, digitCounts);
        stencils = count;
        if (scheme != Scheme.PROPOSED) {
            for (int s = 0; s < count; s++) {
                copyPoint(q, key(s, points, 0), s);
                upper[s] = s;
            }
            rows = count;
        } else {
            int runRows = runRows(points, count);
            boolean runsFit = runRows <= maxRows, blocksFit = 3L * count <= maxRows;
            boolean runs = switch (layout) {
                case RUNS -> true;
                case BLOCKS -> false;
                case CHEAPER -> runsFit && (!blocksFit || 2L * runRows - 1 <= 5L * count); // rows + pairs
            };
            if (runs ? !runsFit : !blocksFit) {
                throw new IllegalArgumentException(count + " stencils need more than the batch's " + maxRows + " rows");
            }
            if (runs) {
                fillRuns(q, points, count);
            } else {
                fillBlocks(q, points, count);
            }
        }
        double inv2 = 1 / (dt * dt);
        for (int s = 0; s < count; s++) {
            long qm = key(s, points, -1), q0 = key(s, points, 0), qp = key(s, points, 1), q2 = key(s, points, 2);
            for (int j = 0; j < d; j++) {
                double a = scheme.usesVelocity()
                        ? (q[(int) (q2 + j)] - q[(int) (qp + j)] - q[(int) (q0 + j)] + q[(int) (qm + j)]) * 0.5 * inv2
                        : (q[(int) (qp + j)] - 2 * q[(int) (q0 + j)] + q[(int) (qm + j)]) * inv2;
                accel.setAtIndex(JAVA_DOUBLE, (long) s * d + j, a);
            }
        }
    }

    /** Bits of a key sorted per pass of {@link #sortAscending}. */
    static final int RADIX_BITS = 11;

    /**
     * Sorts keys[0, count) (non-negative) ascending without allocating: a least-significant-digit radix sort through
     * scratch (at least count long) with counts (2^{@link #RADIX_BITS} int). Arrays.sort is not used because it
     * allocates on some machines (JDK 25 with the AVX-512 sort of x86: its partition steps return new arrays, 48 bytes
     * for 200 keys, 240 for 600, measured on an Intel Xeon with AVX-512), and a training step must allocate nothing.
     */
    static void sortAscending(long[] keys, int count, long[] scratch, int[] counts) {
        long max = 0;
        for (int i = 0; i < count; i++) max = Math.max(max, keys[i]);
        long[] from = keys, to = scratch;
        int mask = counts.length - 1;
        for (int shift = 0; shift < Long.SIZE && (shift == 0 || max >>> shift != 0); shift += RADIX_BITS) {
            Arrays.fill(counts, 0);
            for (int i = 0; i < count; i++) counts[(int) (from[i] >>> shift) & mask]++;
            for (int digit = 0, before = 0; digit < counts.length; digit++) {
                int c = counts[digit];
                counts[digit] = before;
                before += c;
            }
            for (int i = 0; i < count; i++) to[counts[(int) (from[i] >>> shift) & mask]++] = from[i];
            long[] swap = from;
            from = to;
            to = swap;
        }
        if (from != keys) System.arraycopy(from, 0, keys, 0, count);
    }

    /** Offset in q of point centre + k of the s-th sorted stencil (only for k within the stencil's reach). */
    private long key(int s, int points, int k) {
        return (keys[s] + k) * d;
    }

    /** Rows the runs layout needs: per run, from its first stencil's q^{n-1} to its last stencil's q^{n+1}. */
    private int runRows(int points, int count) {
        int total = 0;
        int runTrajectory = -1, runEnd = -2;
        for (int s = 0; s < count; s++) {
            int tr = (int) (keys[s] / points), n = (int) (keys[s] % points);
            if (tr != runTrajectory || n - 1 > runEnd + 1) {
                runTrajectory = tr;
                runEnd = n - 2;
            }
            total += Math.max(0, n + 1 - runEnd);
            runEnd = Math.max(runEnd, n + 1);
        }
        return total;
    }

    private void fillRuns(double[] q, int points, int count) {
        rows = 0;
        int runTrajectory = -1, runEnd = -2; // the current run holds points .. runEnd of runTrajectory, ending at `rows`
        for (int s = 0; s < count; s++) {
            int tr = (int) (keys[s] / points), n = (int) (keys[s] % points);
            long base = (long) tr * points * d;
            if (tr != runTrajectory || n - 1 > runEnd + 1) {
                runTrajectory = tr;
                runEnd = n - 2;
            }
            for (int k = runEnd + 1; k <= n + 1; k++) copyPoint(q, base + (long) k * d, rows++);
            runEnd = Math.max(runEnd, n + 1);
            int centreRow = rows - 1 - (runEnd - n);
            upper[s] = centreRow;       // pair (centre + 1, centre)
            lower[s] = centreRow - 1;   // pair (centre, centre - 1)
        }
        pairX = 1;
        pairY = 0;
        pairs = rows - 1;
    }

    private void fillBlocks(double[] q, int points, int count) {
        for (int s = 0; s < count; s++) {
            copyPoint(q, key(s, points, 1), s);
            copyPoint(q, key(s, points, 0), count + s);
            copyPoint(q, key(s, points, -1), 2 * count + s);
            upper[s] = s;               // pair (q^{n+1}, q^n)
            lower[s] = count + s;       // pair (q^n, q^{n-1})
        }
        rows = 3 * count;
        pairX = 0;
        pairY = count;
        pairs = 2 * count;
    }

    private void copyPoint(double[] q, long from, int row) {
        MemorySegment.copy(q, (int) from, points, JAVA_DOUBLE, (long) row * d * Double.BYTES, d);
    }

    @Override
    public void close() {
        arena.close();
    }
}
