package org.dtlm.rollout;

import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;
import org.dtlm.solve.SolverStats;

/** Rollouts small enough to hold in memory (test sets, figures), on top of the streaming {@link Stepper}. */
public final class Rollouts {
    private Rollouts() {
    }

    /**
     * Rolls every trajectory of {@code start} out to {@code points} points with one batched stepper.
     *
     * @param start  (B, 3, d): the first three observed positions of each trajectory (SPEC §6: position schemes start
     *               from q^0, q^1; velocity schemes from q^1 and v̂^1 = (q^2 − q^0)/(2Δt))
     * @param points N ≥ 1, the points n = 0 .. N − 1 to return
     */
    public static RolloutResult run(Model model, Scheme scheme, double[] start, int points, StepperOptions options) {
        int d = model.dimension();
        if (start.length == 0 || start.length % (3 * d) != 0) {
            throw new IllegalArgumentException("start has " + start.length + " values, not (B, 3, " + d + ")");
        }
        if (points < 1) {
            throw new IllegalArgumentException("points must be >= 1, got " + points);
        }
        int trajectories = start.length / (3 * d);
        long size = (long) trajectories * points * d;
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(trajectories + " trajectories x " + points + " points x " + d
                    + " is too large to hold in memory: stream it with Stepper instead");
        }
        double[] q = new double[(int) size], v = new double[(int) size], p = new double[(int) size];
        double[] energy = new double[trajectories * points];
        try (Stepper stepper = new Stepper(model, scheme, trajectories, options)) {
            stepper.start(start);
            PointObserver keep = (n, qn, vn, en) -> {
                for (int b = 0; b < trajectories; b++) {
                    int at = (int) ((b * (long) points + n) * d);
                    System.arraycopy(qn, b * d, q, at, d);
                    System.arraycopy(vn, b * d, v, at, d);
                    System.arraycopy(stepper.momenta(), b * d, p, at, d);
                    energy[(int) (b * (long) points + n)] = en[b];
                }
            };
            stepper.observe(keep);
            stepper.advance(points - 1, keep);
            SolverStats statistics = new SolverStats(trajectories);
            statistics.accumulate(stepper.statistics());
            return new RolloutResult(trajectories, points, d, q, v, p, energy, statistics, stepper.failures());
        }
    }
}
