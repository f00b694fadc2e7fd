package org.dtlm.nn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * Preallocated scratch space of {@link Mlp} for up to {@code rows} points in a forward pass and {@code pairs} rows of
 * a backward chain (pairs of a discrete gradient, or points of a gradient), so that hot loops allocate nothing
 * (STYLE 5). All buffers are native segments of one shared arena; a workspace is used by one thread at a time, or by
 * the threads of one {@link ColumnShare} split together, each writing its own columns.
 */
public final class Workspace implements AutoCloseable {
    final int rows, pairs;
    // forward, per hidden layer k: (rows, H_k)
    final MemorySegment[] a, t, o;
    // per-row gradients of the objective w.r.t. the pre-activations a_k, (rows, H_k)
    final MemorySegment[] aBar;
    // backward chain, per layer: factors s_k, their partials, u_k (before the factor) and delta_k = u_k * s_k, (pairs, H_k)
    final MemorySegment[] s, sa, sb, u, delta;
    // tangents of the forward pass and of the chain (Jacobian-vector products), (pairs, H_k)
    final MemorySegment[] aDot, deltaDot;
    final MemorySegment value;   // (rows)
    final MemorySegment ones;    // (max(rows, pairs)), all 1: column sums by dgemv
    final MemorySegment tmpA, tmpB; // (max(rows, pairs), H_max)
    private final Arena arena;

    public Workspace(MlpShape shape, int rows, int pairs) {
        if (rows < 1) throw new IllegalArgumentException("workspace rows = " + rows + " must be >= 1");
        if (pairs < 1) throw new IllegalArgumentException("workspace pairs = " + pairs + " must be >= 1");
        this.rows = rows;
        this.pairs = pairs;
        this.arena = Arena.ofShared();
        int layers = shape.layers();
        a = new MemorySegment[layers];
        t = new MemorySegment[layers];
        o = new MemorySegment[layers];
        aBar = new MemorySegment[layers];
        s = new MemorySegment[layers];
        sa = new MemorySegment[layers];
        sb = new MemorySegment[layers];
        u = new MemorySegment[layers];
        delta = new MemorySegment[layers];
        aDot = new MemorySegment[layers];
        deltaDot = new MemorySegment[layers];
        for (int k = 0; k < layers; k++) {
            long h = shape.width(k);
            a[k] = alloc(rows * h);
            t[k] = alloc(rows * h);
            o[k] = alloc(rows * h);
            aBar[k] = alloc(rows * h);
            s[k] = alloc(pairs * h);
            sa[k] = alloc(pairs * h);
            sb[k] = alloc(pairs * h);
            u[k] = alloc(pairs * h);
            delta[k] = alloc(pairs * h);
            aDot[k] = alloc(pairs * h);
            deltaDot[k] = alloc(pairs * h);
        }
        value = alloc(rows);
        long m = Math.max(rows, pairs);
        ones = alloc(m);
        for (long i = 0; i < m; i++) ones.setAtIndex(JAVA_DOUBLE, i, 1.0);
        tmpA = alloc(m * shape.maxWidth());
        tmpB = alloc(m * shape.maxWidth());
    }

    private MemorySegment alloc(long n) {
        return arena.allocate(Math.max(1, n) * Double.BYTES, Parameters.ALIGNMENT); // whole vectors, as the weights
    }

    public int rows() {
        return rows;
    }

    public int pairs() {
        return pairs;
    }

    /** V at the rows of the last forward pass, (rows). */
    public MemorySegment value() {
        return value;
    }

    @Override
    public void close() {
        arena.close();
    }
}
