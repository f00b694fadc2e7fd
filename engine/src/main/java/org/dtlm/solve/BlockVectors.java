package org.dtlm.solve;

/** Per-block vector kernels on (B, n) row-major arrays: a block is the slice [offset, offset + length). */
final class BlockVectors {

    /** Below this a sum of squares may have lost digits to underflow (2^-900 leaves ~120 orders of headroom). */
    private static final double SUM_OF_SQUARES_FLOOR = 0x1p-900;

    private BlockVectors() {
    }

    /**
     * Euclidean norm of a[offset, offset + length): plain sum of squares, with a rescaled second pass only when that
     * sum overflowed or fell near underflow. NaN if an entry is NaN; +∞ if an entry is infinite.
     */
    static double norm2(double[] a, int offset, int length) {
        double sum = 0;
        for (int i = offset; i < offset + length; i++) {
            sum += a[i] * a[i];
        }
        if (sum >= SUM_OF_SQUARES_FLOOR && sum < Double.POSITIVE_INFINITY || Double.isNaN(sum)) {
            return Math.sqrt(sum);
        }
        double max = 0;
        for (int i = offset; i < offset + length; i++) {
            max = Math.max(max, Math.abs(a[i]));
        }
        if (max == 0 || max == Double.POSITIVE_INFINITY) {
            return max;
        }
        double scaled = 0;
        for (int i = offset; i < offset + length; i++) {
            double t = a[i] / max;
            scaled += t * t;
        }
        return max * Math.sqrt(scaled);
    }

    /** Dot product of a[aOffset, aOffset + length) and b[bOffset, bOffset + length). */
    static double dot(double[] a, int aOffset, double[] b, int bOffset, int length) {
        double sum = 0;
        for (int i = 0; i < length; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    /** y[yOffset + i] += alpha x[xOffset + i]. */
    static void axpy(double alpha, double[] x, int xOffset, double[] y, int yOffset, int length) {
        for (int i = 0; i < length; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }

    static boolean any(boolean[] mask) {
        for (boolean m : mask) {
            if (m) {
                return true;
            }
        }
        return false;
    }
}
