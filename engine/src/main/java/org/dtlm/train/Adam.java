package org.dtlm.train;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.dtlm.nn.ParameterLayout;
import org.dtlm.nn.Parameters;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * Adam with L2 weight decay (SPEC §4), exactly torch.optim.Adam(weight_decay=wd) of PyTorch 1.13 (single-tensor,
 * non-amsgrad), operation for operation, at step t = 1, 2, ...:
 * <pre>
 *   g  = grad + wd * theta
 *   m  = b1 * m + (1 - b1) * g
 *   v  = b2 * v + ((1 - b2) * g) * g
 *   theta += (-(lr / (1 - b1^t)) * m) / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 * The moments are slabs in the model's parameter layout, so the update is one flat loop (STYLE 3); it allocates
 * nothing. The gradient slab is read, not modified.
 */
public final class Adam implements AutoCloseable {
    /** Hyper-parameters; {@link #defaults(double, double)} gives SPEC §4's b1 0.9, b2 0.999, eps 1e-8. */
    public record Options(double lr, double beta1, double beta2, double eps, double weightDecay) {
        public static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, LR = 1e-3;

        public Options {
            if (!(lr > 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("learning rate " + lr + ": must be > 0 and finite");
            if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 " + beta1 + ": must be in [0, 1)");
            if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 " + beta2 + ": must be in [0, 1)");
            if (!(eps >= 0) || !Double.isFinite(eps)) throw new IllegalArgumentException("eps " + eps + ": must be >= 0 and finite");
            if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
                throw new IllegalArgumentException("weight decay " + weightDecay + ": must be >= 0 and finite");
            }
        }

        public static Options defaults(double lr, double weightDecay) {
            return new Options(lr, BETA1, BETA2, EPS, weightDecay);
        }
    }

    private final Arena arena = Arena.ofShared();
    private final Options options;
    private final Parameters m, v;   // first and second moments, in the parameter layout
    private long step;

    public Adam(ParameterLayout layout, Options options) {
        this.options = options;
        this.m = Parameters.allocate(layout, arena);
        this.v = Parameters.allocate(layout, arena);
    }

    public Options options() {
        return options;
    }

    /** Number of updates made so far (PyTorch's state['step']). */
    public long steps() {
        return step;
    }

    /** The first moment (the optimiser's own slab: for checkpoints and tests). */
    public Parameters firstMoment() {
        return m;
    }

    /** The second moment. */
    public Parameters secondMoment() {
        return v;
    }

    /** Restores the state of a checkpoint: the step count and both moments (copied). */
    public void restore(long steps, double[] firstMoment, double[] secondMoment) {
        if (steps < 0) throw new IllegalArgumentException("steps = " + steps + " must be >= 0");
        m.copyFrom(firstMoment);
        v.copyFrom(secondMoment);
        step = steps;
    }

    /** One update of theta from grad (both in the layout of the moments). */
    public void update(Parameters theta, Parameters grad) {
        if (!theta.layout().equals(m.layout()) || !grad.layout().equals(m.layout())) {
            throw new IllegalArgumentException("Adam: parameter layouts differ: theta " + theta.layout() + ", grad "
                    + grad.layout() + ", moments " + m.layout());
        }
        step++;
        double b1 = options.beta1, b2 = options.beta2, wd = options.weightDecay, eps = options.eps;
        double biasCorrection1 = 1 - Math.pow(b1, step), biasCorrection2 = 1 - Math.pow(b2, step);
        double stepSize = options.lr / biasCorrection1;
        double biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
        double c1 = 1 - b1, c2 = 1 - b2;
        MemorySegment p = theta.slab(), g = grad.slab(), ms = m.slab(), vs = v.slab();
        long n = m.layout().size();
        for (long i = 0; i < n; i++) {
            double pi = p.getAtIndex(JAVA_DOUBLE, i);
            double gi = g.getAtIndex(JAVA_DOUBLE, i);
            if (wd != 0) gi = gi + wd * pi;
            double mi = b1 * ms.getAtIndex(JAVA_DOUBLE, i) + c1 * gi;
            double vi = b2 * vs.getAtIndex(JAVA_DOUBLE, i) + c2 * gi * gi;
            ms.setAtIndex(JAVA_DOUBLE, i, mi);
            vs.setAtIndex(JAVA_DOUBLE, i, vi);
            double denom = Math.sqrt(vi) / biasCorrection2Sqrt + eps;
            p.setAtIndex(JAVA_DOUBLE, i, pi + -stepSize * mi / denom);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
