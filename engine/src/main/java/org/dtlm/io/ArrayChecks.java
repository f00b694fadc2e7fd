package org.dtlm.io;

import java.util.HashMap;
import java.util.Map;

/** Checks on arrays read from disk, failing with {@link IllegalArgumentException}s that name the array and the place. */
public final class ArrayChecks {

    private ArrayChecks() {
    }

    /**
     * Requires every element to be finite. For a (trajectories, points, d) positions array the message reads
     * {@code "data.npy: trajectory 3, point 17, coordinate 0 is NaN"}; for other ranks
     * {@code "name: element at index (2, 7) is Infinity"}.
     */
    public static void requireFinite(NdArray a, String name) {
        double[] data = a.data();
        for (int i = 0; i < data.length; i++) {
            if (!Double.isFinite(data[i])) {
                int[] index = new int[a.rank()];
                for (int axis = a.rank() - 1, rest = i; axis >= 0; axis--) {
                    index[axis] = rest % a.dim(axis);
                    rest /= a.dim(axis);
                }
                String where = a.rank() == 3
                        ? "trajectory " + index[0] + ", point " + index[1] + ", coordinate " + index[2]
                        : "element at index " + NdArray.shapeString(index);
                throw new IllegalArgumentException(name + ": " + where + " is " + data[i]);
            }
        }
    }

    /**
     * Requires {@code a}'s shape to match {@code expected}, written as numpy prints shapes, e.g.
     * {@code "(B, T, d)"}, {@code "(B, 4)"}, {@code "(d, d)"}, {@code "()"}: a number must match exactly, a
     * name matches any extent, the same name the same extent. Fails with
     * {@code "x.npy: expected shape (B, 4), got (10, 3)"}.
     */
    public static void requireShape(NdArray a, String name, String expected) {
        String inner = expected.strip();
        if (!inner.startsWith("(") || !inner.endsWith(")")) {
            throw new IllegalArgumentException("shape pattern '" + expected + "' is not parenthesised");
        }
        inner = inner.substring(1, inner.length() - 1).strip();
        if (inner.endsWith(",")) {
            inner = inner.substring(0, inner.length() - 1); // "(n,)"
        }
        String[] axes = inner.isEmpty() ? new String[0] : inner.split(",");
        boolean matches = axes.length == a.rank();
        Map<String, Integer> bound = new HashMap<>();
        for (int axis = 0; matches && axis < axes.length; axis++) {
            String symbol = axes[axis].strip();
            int extent = a.dim(axis);
            if (symbol.isEmpty()) {
                throw new IllegalArgumentException("shape pattern '" + expected + "' has an empty axis");
            } else if (symbol.chars().allMatch(Character::isDigit)) {
                matches = Integer.parseInt(symbol) == extent;
            } else {
                matches = bound.computeIfAbsent(symbol, s -> extent) == extent;
            }
        }
        if (!matches) {
            throw new IllegalArgumentException(name + ": expected shape " + expected + ", got " + a.shapeString());
        }
    }
}
