package org.dtlm.nn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One contiguous off-heap slab of doubles in a {@link ParameterLayout}: the parameters of a model, or their gradients,
 * or an Adam moment. Owned by the arena it was allocated in.
 */
public final class Parameters {
    private final ParameterLayout layout;
    private final MemorySegment slab;

    private Parameters(ParameterLayout layout, MemorySegment slab) {
        this.layout = layout;
        this.slab = slab;
    }

    /**
     * A zero-filled slab, aligned to 64 bytes (a cache line, and a 512-bit vector): a weight whose offset in the slab
     * is a multiple of 8 doubles (every layer's with hidden widths of 200) is then read by whole vectors without a
     * load that straddles two lines (measured: a single-row product over the 200 x 200 weights from an 8-byte-aligned
     * slab took 3.9 µs, from an aligned one 2.9 µs; bench/README.md, ### Alignment of the weights).
     */
    public static Parameters allocate(ParameterLayout layout, Arena arena) {
        return new Parameters(layout, arena.allocate(Math.max(1, layout.size()) * Double.BYTES, ALIGNMENT));
    }

    /** Byte alignment of every slab. */
    static final long ALIGNMENT = 64;

    public ParameterLayout layout() {
        return layout;
    }

    /** The whole slab; element i of the layout at byte offset 8 i. */
    public MemorySegment slab() {
        return slab;
    }

    public double get(long i) {
        return slab.getAtIndex(ValueLayout.JAVA_DOUBLE, i);
    }

    public void set(long i, double v) {
        slab.setAtIndex(ValueLayout.JAVA_DOUBLE, i, v);
    }

    public void zero() {
        slab.fill((byte) 0);
    }

    public void copyFrom(Parameters other) {
        if (!other.layout.equals(layout)) {
            throw new IllegalArgumentException("parameter layouts differ: " + other.layout + " vs " + layout);
        }
        MemorySegment.copy(other.slab, 0, slab, 0, layout.size() * Double.BYTES);
    }

    /** The slab as a Java array (for files and tests; not for hot paths). */
    public double[] toArray() {
        return slab.asSlice(0, layout.size() * Double.BYTES).toArray(ValueLayout.JAVA_DOUBLE);
    }

    public void copyFrom(double[] values) {
        if (values.length != layout.size()) {
            throw new IllegalArgumentException("values.length = " + values.length + " != layout size " + layout.size());
        }
        MemorySegment.copy(values, 0, slab, ValueLayout.JAVA_DOUBLE, 0, values.length);
    }
}
