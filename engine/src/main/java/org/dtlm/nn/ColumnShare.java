package org.dtlm.nn;

/**
 * The columns of every layer that one thread computes when several threads run the passes of an {@link Mlp} over the
 * same rows (one workspace), and the barrier they pass between layers, where a layer's product needs every column of
 * the layer before it. Thread {@code part} of {@code parts} takes the columns [c(part), c(part + 1)) of a layer of
 * width H, c(i) = i H / parts rounded down to a multiple of {@link #ALIGN}, c(parts) = H: the leader, which has the
 * serial work besides, gets the smaller share (200 = 96 + 104). Every element is computed by the
 * same arithmetic whoever computes it (each product's element one chain, {@code RowExactBlas}; the element-wise
 * kernels' vectors on the same columns as in a whole row when H is a multiple of the vector length), so a split
 * changes the speed, never the bits. The last product of a chain (the d columns of the input layer) is left to part
 * 0, the leader, after a barrier; V to whoever calls {@link Mlp#value} after the pass.
 */
public final class ColumnShare {

    /** One thread, every column, no barrier: what a pass over its own rows uses. */
    public static final ColumnShare ALL = new ColumnShare(0, 1, () -> { });

    /** Column boundaries are multiples of 8 doubles (one 512-bit vector, so of any shorter one too). */
    static final int ALIGN = 8;

    private final int part;
    private final int parts;
    private final Runnable barrier;

    /**
     * @param part    this thread's index, 0 .. parts - 1 (0 is the leader)
     * @param parts   the threads sharing the passes
     * @param barrier returns once all {@code parts} threads have called it (and throws if one of them failed)
     */
    public ColumnShare(int part, int parts, Runnable barrier) {
        if (parts < 1 || part < 0 || part >= parts) {
            throw new IllegalArgumentException("part " + part + " of " + parts);
        }
        this.part = part;
        this.parts = parts;
        this.barrier = java.util.Objects.requireNonNull(barrier, "barrier");
    }

    boolean whole() {
        return parts == 1;
    }

    boolean leader() {
        return part == 0;
    }

    /** First column of this share in a layer of width h. */
    int from(int h) {
        return boundary(part, h);
    }

    /** One past the last column of this share in a layer of width h. */
    int to(int h) {
        return boundary(part + 1, h);
    }

    private int boundary(int i, int h) {
        return i == parts ? h : (int) ((long) i * h / parts) / ALIGN * ALIGN;
    }

    void await() {
        if (parts > 1) barrier.run();
    }
}
