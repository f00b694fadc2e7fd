package org.dtlm.nn;

/**
 * Where every parameter lives in the one flat slab (STYLE 3): for k = 0 .. L-1 the weight W_k (H_k x fanIn_k,
 * row-major, out x in as PyTorch stores Linear weights) then the bias b_k (H_k); then the output weights w (H_L);
 * then the mass-matrix parameters (SPEC §1: none, theta (d), or the d x d row-major factor of which the lower
 * triangle is used). Gradients and Adam moments use the same layout, so the optimiser is one flat loop.
 */
public record ParameterLayout(MlpShape shape, int massParameters) {

    public ParameterLayout {
        if (massParameters < 0) throw new IllegalArgumentException("massParameters = " + massParameters);
    }

    public long weight(int k) {
        long off = 0;
        for (int j = 0; j < k; j++) off += (long) shape.width(j) * (shape.fanIn(j) + 1);
        return off;
    }

    public long bias(int k) {
        return weight(k) + (long) shape.width(k) * shape.fanIn(k);
    }

    public long output() {
        return weight(shape.layers());
    }

    public long mass() {
        return output() + shape.lastWidth();
    }

    /** Number of doubles of the potential's own parameters (weights, biases, output). */
    public long potentialSize() {
        return mass();
    }

    /** Total number of doubles in the slab. */
    public long size() {
        return mass() + massParameters;
    }
}
