package org.dtlm.nn;

import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Fresh parameters (SPEC §1): orthogonal weights (as torch.nn.init.orthogonal_: the Q factor of a Gaussian matrix,
 * signs fixed by R's diagonal, rows or columns orthonormal whichever are fewer), zero biases. Mass parameters are
 * left to the mass matrix. Seeded with a named algorithm so that a seed means the same weights on every JDK.
 */
public final class Init {
    private Init() {
    }

    /** The random algorithm behind every seed of the project. */
    public static final String ALGORITHM = "L64X128MixRandom";

    public static RandomGenerator random(long seed) {
        return RandomGeneratorFactory.of(ALGORITHM).create(seed);
    }

    /** Orthogonal weights and zero biases of the potential network into p. */
    public static void orthogonal(Parameters p, long seed) {
        RandomGenerator rng = random(seed);
        ParameterLayout layout = p.layout();
        MlpShape shape = layout.shape();
        for (int k = 0; k <= shape.layers(); k++) {
            int rows = k < shape.layers() ? shape.width(k) : 1;
            int cols = k < shape.layers() ? shape.fanIn(k) : shape.lastWidth();
            double[] w = orthogonal(rows, cols, rng);
            long off = k < shape.layers() ? layout.weight(k) : layout.output();
            for (int i = 0; i < w.length; i++) p.set(off + i, w[i]);
            if (k < shape.layers()) {
                for (int i = 0; i < rows; i++) p.set(layout.bias(k) + i, 0.0);
            }
        }
    }

    /** A rows x cols row-major matrix with orthonormal columns (rows >= cols) or orthonormal rows (rows < cols). */
    static double[] orthogonal(int rows, int cols, RandomGenerator rng) {
        boolean tall = rows >= cols;
        int m = tall ? rows : cols, n = tall ? cols : rows;   // orthonormalise the n columns of an m x n matrix
        double[][] q = new double[n][m];                       // q[j] = column j
        for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) q[j][i] = rng.nextGaussian();
        for (int j = 0; j < n; j++) {
            double rjj = 0;
            for (int pass = 0; pass < 2; pass++) {              // Gram-Schmidt twice: orthogonal to rounding
                for (int l = 0; l < j; l++) {
                    double dot = 0;
                    for (int i = 0; i < m; i++) dot += q[l][i] * q[j][i];
                    for (int i = 0; i < m; i++) q[j][i] -= dot * q[l][i];
                }
            }
            for (int i = 0; i < m; i++) rjj += q[j][i] * q[j][i];
            double norm = Math.sqrt(rjj);
            for (int i = 0; i < m; i++) q[j][i] /= norm;
        }
        double[] w = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) w[r * cols + c] = tall ? q[c][r] : q[r][c];
        }
        return w;
    }
}
