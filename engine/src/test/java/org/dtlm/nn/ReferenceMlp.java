package org.dtlm.nn;

/**
 * A straightforward scalar evaluation of V, grad V and DG (SPEC §1-2) from a parameter slab, one point at a time with
 * plain loops: an oracle independent of {@link Mlp}'s batched kernels.
 */
public final class ReferenceMlp {
    private ReferenceMlp() {
    }

    /** Pre-activations of every layer at x. */
    private static double[][] preActivations(Parameters p, double[] x) {
        ParameterLayout l = p.layout();
        MlpShape shape = l.shape();
        double[][] a = new double[shape.layers()][];
        double[] h = x;
        for (int k = 0; k < shape.layers(); k++) {
            int width = shape.width(k), f = shape.fanIn(k);
            a[k] = new double[width];
            double[] next = new double[width];
            for (int j = 0; j < width; j++) {
                double s = p.get(l.bias(k) + j);
                for (int i = 0; i < f; i++) s += p.get(l.weight(k) + (long) j * f + i) * h[i];
                a[k][j] = s;
                next[j] = Math.tanh(s);
            }
            h = next;
        }
        return a;
    }

    public static double value(Parameters p, double[] x) {
        double[][] a = preActivations(p, x);
        ParameterLayout l = p.layout();
        double[] top = a[a.length - 1];
        double v = 0;
        for (int j = 0; j < top.length; j++) v += p.get(l.output() + j) * Math.tanh(top[j]);
        return v;
    }

    public static double[] gradient(Parameters p, double[] x) {
        return chain(p, preActivations(p, x), null);
    }

    public static double[] discreteGradient(Parameters p, double[] x, double[] y) {
        return chain(p, preActivations(p, x), preActivations(p, y));
    }

    /** W_1^T D_1 ... W_L^T D_L w with D = sech^2(a) (b == null) or the divided difference of a and b. */
    private static double[] chain(Parameters p, double[][] a, double[][] b) {
        ParameterLayout l = p.layout();
        MlpShape shape = l.shape();
        int top = shape.layers() - 1;
        double[] delta = new double[shape.lastWidth()];
        for (int j = 0; j < delta.length; j++) delta[j] = p.get(l.output() + j) * factor(a, b, top, j);
        for (int k = top; k >= 0; k--) {
            int width = shape.width(k), f = shape.fanIn(k);
            double[] next = new double[f];
            for (int i = 0; i < f; i++) {
                double s = 0;
                for (int j = 0; j < width; j++) s += p.get(l.weight(k) + (long) j * f + i) * delta[j];
                next[i] = k > 0 ? s * factor(a, b, k - 1, i) : s;
            }
            delta = next;
        }
        return delta;
    }

    private static double factor(double[][] a, double[][] b, int k, int j) {
        double x = a[k][j], tx = Math.tanh(x), ox = Tanh.omega(x);
        if (b == null) return Tanh.sech2(tx, ox);
        double y = b[k][j];
        return Tanh.dividedDifference(x, tx, ox, y, Math.tanh(y), Tanh.omega(y));
    }
}
