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

    /** A zero-filled slab. */
    public static Parameters allocate(ParameterLayout layout, Arena arena) {
        return new Parameters(layout, arena.allocate(ValueLayout.JAVA_DOUBLE, Math.max(1, layout.size())));
    }

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
