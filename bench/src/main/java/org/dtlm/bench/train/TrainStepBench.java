package org.dtlm.bench.train;

import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.dtlm.blas.Blas;
import org.dtlm.data.Dataset;
import org.dtlm.data.Generator;
import org.dtlm.data.Task;
import org.dtlm.nn.MlpShape;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;
import org.dtlm.train.Trainer;
import org.dtlm.train.TrainingData;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One full training step (SPEC §4-5: zero the gradient, loss and exact gradient, Adam update) at H = 200 (two hidden
 * layers), float64, as torch_bench.py's {@code train_step} times it:
 * <ul>
 * <li>{@code mass-spring}: full batch of the 25 trajectories x 100 points of Generator MASS_SPRING seed 0 (d = 1),
 * weight decay 1e-4;</li>
 * <li>{@code two-body}: minibatches of 200 stencils from 100 trajectories x 500 points of TWO_BODY seed 0 (d = 4);</li>
 * <li>{@code large}: minibatches of 4096 stencils from the same data.</li>
 * </ul>
 * {@link #gemms} replays, on scratch buffers, exactly the dgemm calls (shapes, transposes, leading dimensions) of one
 * step as recorded in setup (each shard's calls on a thread of its own), so that the step's GEMM GFLOP/s can be set
 * against dgemm's own in the same run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class TrainStepBench {
    static final int H = 200;

    @Param({"mass-spring", "two-body", "large"})
    String setting;
    @Param({"proposed", "leapfrog"})
    String scheme;
    @Param({"1", "2"})
    int threads;
    /**
     * How the threads are used: {@code blas}, one batch per step and OpenBLAS on {@code threads} threads;
     * {@code shards}, the batch split into {@code threads} shards on as many Java threads, OpenBLAS single-threaded
     * (what {@code dtlm train --threads} does).
     */
    @Param({"blas", "shards"})
    String parallel;

    Model model;
    Trainer trainer;
    GemmReplay[] replays;   // one per thread of a step: the caller's first

    @Setup(Level.Trial)
    public void setUp() {
        Blas blas = Blas.get();
        boolean shards = parallel.equals("shards");
        blas.setNumThreads(shards ? 1 : threads);
        int workers = shards ? threads : 1;
        TrainingData data = data(setting);
        Trainer.Options options = options(setting, Scheme.parse(scheme));
        // record one step's dgemm calls on a twin model, then time the real one
        GemmReplay.Recorder recorder = new GemmReplay.Recorder(blas);
        try (Model twin = Model.create(MlpShape.of(data.d(), H, H), MassMatrix.Kind.IDENTITY, 0, recorder);
             Trainer t = new Trainer(twin, data, options, workers)) {
            t.step();
        }
        replays = recorder.replays();
        model = Model.create(MlpShape.of(data.d(), H, H), MassMatrix.Kind.IDENTITY, 0, blas);
        trainer = new Trainer(model, data, options, workers);
    }

    static TrainingData data(String setting) {
        Dataset ds = setting.equals("mass-spring")
                ? Generator.generate(Task.MASS_SPRING, 0)
                : Generator.generate(Task.TWO_BODY, 0, 100, 1, Task.TWO_BODY.points());
        return new TrainingData(ds.trainPositions(), ds.trainTrajectories(), ds.points(), ds.dimension(), ds.dt(), setting);
    }

    static Trainer.Options options(String setting, Scheme scheme) {
        Trainer.Options o = Trainer.Options.defaults(scheme).withSteps(Integer.MAX_VALUE);
        return switch (setting) {
            case "mass-spring" -> new Trainer.Options(scheme, Integer.MAX_VALUE, Trainer.FULL_BATCH, o.lr(), 1e-4, 0, 0);
            case "two-body" -> o.withBatch(200);
            case "large" -> o.withBatch(4096);
            default -> throw new IllegalArgumentException("setting " + setting);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        double flops = 0;
        int calls = 0;
        for (GemmReplay r : replays) {
            flops += r.flops();
            calls += r.calls();
        }
        System.out.printf("%n[%s %s threads=%d %s] GEMM flops per step: %.4g in %d dgemm calls on %d thread(s)%n", setting,
                scheme, threads, parallel, flops, calls, replays.length);
        trainer.close();
        model.close();
        for (GemmReplay r : replays) r.close();
    }

    @Benchmark
    public double step() {
        return trainer.step();
    }

    /** The step's dgemm calls alone, each thread's on a thread of its own (shards), at the step's BLAS threads. */
    @Benchmark
    public double gemms() {
        if (replays.length == 1) return replays[0].run();
        return IntStream.range(0, replays.length).parallel().mapToDouble(i -> replays[i].run()).sum();
    }
}
