package org.dtlm.solve;

/**
 * B independent linear operators A_b of size n x n, applied together: the operator interface of {@link BatchedGmres}.
 * In the Newton–Krylov solver A_b is the (scaled) Jacobian of block b, applied exactly or by finite differences.
 */
@FunctionalInterface
public interface BlockLinearOperator {

    /**
     * out[b] = A_b in[b] for every block b with active[b]; rows of inactive blocks of out are ignored by the caller.
     *
     * @param out    (B, n) row-major, modified
     * @param in     (B, n) row-major, not modified
     * @param active (B) not modified
     */
    void apply(double[] out, double[] in, boolean[] active);
}
