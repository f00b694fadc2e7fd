package org.dtlm.nn;

import java.util.Arrays;

/**
 * Widths of the potential network V: R^d -> R (SPEC §1): hidden layers k = 1..L of widths H_k with tanh, then a
 * linear output layer 1 x H_L without bias. Default: d -> 200 -> 200 -> 1.
 */
public record MlpShape(int inputDim, int[] widths) {

    public MlpShape {
        if (inputDim < 1) throw new IllegalArgumentException("input dimension d = " + inputDim + " must be >= 1");
        if (widths.length < 1) throw new IllegalArgumentException("at least one hidden layer is needed");
        for (int w : widths) {
            if (w < 1) throw new IllegalArgumentException("hidden widths " + Arrays.toString(widths) + " must be >= 1");
        }
        widths = widths.clone();
    }

    public static MlpShape of(int inputDim, int... widths) {
        return new MlpShape(inputDim, widths);
    }

    /** Number of hidden layers L. */
    public int layers() {
        return widths.length;
    }

    /** Width H_k of hidden layer k (0-based: k = 0 .. L-1). */
    public int width(int k) {
        return widths[k];
    }

    /** Input width of hidden layer k: d for the first, H_{k-1} after. */
    public int fanIn(int k) {
        return k == 0 ? inputDim : widths[k - 1];
    }

    public int lastWidth() {
        return widths[widths.length - 1];
    }

    public int maxWidth() {
        return Arrays.stream(widths).max().orElseThrow();
    }

    @Override
    public int[] widths() {
        return widths.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MlpShape s && s.inputDim == inputDim && Arrays.equals(s.widths, widths);
    }

    @Override
    public int hashCode() {
        return 31 * inputDim + Arrays.hashCode(widths);
    }

    @Override
    public String toString() {
        return "MlpShape[d=" + inputDim + ", widths=" + Arrays.toString(widths) + "]";
    }
}
