package org.dtlm.bench.rollout;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import org.dtlm.blas.Blas;
import org.dtlm.rollout.PointObserver;
import org.dtlm.rollout.Stepper;
import org.dtlm.rollout.StepperOptions;
import org.dtlm.scheme.Scheme;
import org.dtlm.solve.NewtonKrylovOptions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Rollout throughput in steps per second (SPEC §3, §5): each invocation starts B trajectories from their initial
 * conditions and advances them {@link #STEPS} points, as torch_bench.py's rollouts do; a step advances all B, so
 * trajectory-steps per second are the score times B. Cases: one trajectory at d = 1 and d = 4, 256 at d = 4; schemes
 * proposed (Newton–Krylov, {@link StepperOptions#SOLVER_DEFAULTS} unless the tuning parameters say otherwise) and
 * leapfrog. Inputs: {@link RolloutInputs}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3)
@Measurement(iterations = 5)
public class RolloutBench {
    /** Points advanced per invocation (torch_bench.py --quick: 99 steps for one trajectory, 29 for 256). */
    static final int STEPS = 100;

    /** d x B: d1b1, d4b1 or d4b256. */
    @Param({"d1b1", "d4b1", "d4b256"})
    String shape;
    @Param({"proposed", "leapfrog"})
    String scheme;
    /** Stepper threads (0: the BLAS thread count, the default). */
    @Param({"0"})
    int threads;
    /** Tuning (proposed only): initial guess, Eisenstat–Walker eta0, GMRES restart, exact or finite-difference products. */
    @Param({"EXTRAPOLATED"})
    String guess;
    @Param({"0.0"})
    double eta0;
    @Param({"30"})
    int restart;
    @Param({"EXACT"})
    String products;

    private RolloutInputs inputs;
    private Stepper stepper;
    private double[] starts;
    private final PointObserver none = (n, q, v, e) -> { };

    @Setup
    public void setUp() throws IOException {
        int d = Integer.parseInt(shape.substring(1, shape.indexOf('b')));
        int batch = Integer.parseInt(shape.substring(shape.indexOf('b') + 1));
        inputs = RolloutInputs.load(d, Blas.get());
        NewtonKrylovOptions solver = StepperOptions.SOLVER_DEFAULTS
                .withForcing(NewtonKrylovOptions.Forcing.EISENSTAT_WALKER, eta0)
                .withKrylov(restart, StepperOptions.SOLVER_DEFAULTS.maxKrylovIterations())
                .withJacobianProduct(NewtonKrylovOptions.JacobianProduct.valueOf(products));
        StepperOptions options = new StepperOptions(inputs.dt, solver, StepperOptions.InitialGuess.valueOf(guess), threads);
        stepper = new Stepper(inputs.model, Scheme.parse(scheme), batch, options);
        starts = inputs.starts(batch);
        // the kernels run uncompiled, hundreds of times slower, until C2 has them: warm up before the first iteration
        for (int i = 0; i < (batch == 1 ? 20 : 2); i++) rollout();
    }

    @Benchmark
    @OperationsPerInvocation(STEPS)
    public long rollout() {
        stepper.start(starts);
        stepper.advance(STEPS, none);
        return stepper.statistics().totalNewtonIterations();
    }

    @TearDown
    public void tearDown() {
        if (stepper.failures().size() > 0) throw new IllegalStateException("failures: " + stepper.failures());
        stepper.close();
        inputs.model.close();
    }
}
