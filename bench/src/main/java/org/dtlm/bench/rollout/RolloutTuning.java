package org.dtlm.bench.rollout;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.dtlm.blas.Blas;
import org.dtlm.io.Npz;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;
import org.dtlm.rollout.PointObserver;
import org.dtlm.rollout.Stepper;
import org.dtlm.rollout.StepperOptions;
import org.dtlm.rollout.StepperOptions.InitialGuess;
import org.dtlm.scheme.Scheme;
import org.dtlm.solve.NewtonKrylovOptions;
import org.dtlm.solve.NewtonKrylovOptions.Forcing;
import org.dtlm.solve.NewtonKrylovOptions.JacobianProduct;
import org.dtlm.solve.SolverStats;

/**
 * The measurements behind the rollout defaults (a main; bench/README.md, ## Rollouts): for each solver setting (initial
 * guess, Eisenstat–Walker eta0 or a constant forcing with a Krylov cap, GMRES restart, exact or finite-difference
 * products), Newton iterations, Krylov iterations, residual evaluations and Jacobian-vector products per trajectory
 * step, and the stepping thread's CPU time per step (immune to other processes' load, unlike wall time), on
 * {@code args[0]} = "inputs" (the bench inputs of {@link RolloutInputs}, one trajectory, d = 1 and 4, 500 steps from
 * the start, 5 repetitions) or a repository fixture model with its three test starts ("mass_spring", "two_body":
 * data/fixtures/rollout_*.npz, 10^4 steps).
 */
public final class RolloutTuning {
    private RolloutTuning() {
    }

    private record Setting(String name, InitialGuess guess, NewtonKrylovOptions solver) {
    }

    public static void main(String[] args) throws IOException {
        NewtonKrylovOptions d = NewtonKrylovOptions.DEFAULTS;
        List<Setting> settings = new ArrayList<>();
        for (InitialGuess g : InitialGuess.values()) {
            settings.add(new Setting("EW eta0 0.5 (solver default)", g, d));
            settings.add(new Setting("EW eta0 0", g, d.withForcing(Forcing.EISENSTAT_WALKER, 0.0)));
            settings.add(new Setting("constant 0, <= 2 Krylov", g, d.withForcing(Forcing.CONSTANT, 0.0).withKrylov(30, 2)));
        }
        NewtonKrylovOptions tuned = StepperOptions.SOLVER_DEFAULTS;
        settings.add(new Setting("EW eta0 0, restart 1", InitialGuess.EXTRAPOLATED, tuned.withKrylov(1, 200)));
        settings.add(new Setting("EW eta0 0, restart 2", InitialGuess.EXTRAPOLATED, tuned.withKrylov(2, 200)));
        settings.add(new Setting("EW eta0 0, finite differences", InitialGuess.EXTRAPOLATED,
                tuned.withJacobianProduct(JacobianProduct.FINITE_DIFFERENCE)));
        if (args[0].equals("inputs")) {
            for (int dim : new int[]{1, 4}) {
                RolloutInputs in = RolloutInputs.load(dim, Blas.get());
                run("bench inputs d=" + dim, in.model, in.dt, in.starts(1), 500, 5, settings);
            }
        } else {
            Path dir = Path.of(args.length > 1 ? args[1] : "data/fixtures");
            Model model = ModelFile.load(dir.resolve("rollout_" + args[0] + ".npz"), Blas.get());
            double[] starts = Npz.read(dir.resolve("rollout_" + args[0] + "_expected.npz")).get("start").data();
            run(args[0], model, model.dt(), starts, 10_000, 1, settings);
        }
    }

    private static void run(String what, Model model, double dt, double[] starts, int steps, int reps,
                            List<Setting> settings) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        int trajectories = starts.length / (3 * model.dimension());
        PointObserver none = (n, q, v, e) -> { };
        System.out.println("| " + what + " | guess | forcing | Newton | Krylov | residuals | J v | CPU µs/step |");
        System.out.println("|---|---|---|---:|---:|---:|---:|---:|");
        for (int round = 0; round < 2; round++) { // the first round warms the JIT up
            for (Setting s : settings) {
                StepperOptions options = new StepperOptions(dt, s.solver(), s.guess(), 1);
                try (Stepper stepper = new Stepper(model, Scheme.PROPOSED, trajectories, options)) {
                    long cpu = 0;
                    SolverStats stats = null;
                    for (int r = 0; r < reps; r++) {
                        stepper.start(starts);
                        long c0 = mx.getCurrentThreadCpuTime();
                        stepper.advance(steps, none);
                        cpu += mx.getCurrentThreadCpuTime() - c0;
                        stats = stepper.statistics();
                    }
                    if (round == 0) continue;
                    double per = (double) trajectories * steps;
                    System.out.printf("| | %s | %s | %.3f | %.3f | %.3f | %.3f | %.0f |%n", s.guess(), s.name(),
                            stats.totalNewtonIterations() / per, stats.totalKrylovIterations() / per,
                            stats.totalResidualEvaluations() / per, stats.totalJacobianProducts() / per,
                            cpu / 1e3 / reps / steps);
                }
            }
        }
    }
}
