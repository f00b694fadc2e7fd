package org.dtlm.bench.potential;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.random.RandomGenerator;
import java.util.concurrent.TimeUnit;

import org.dtlm.blas.Blas;
import org.dtlm.nn.Init;
import org.dtlm.nn.Mlp;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.ParameterLayout;
import org.dtlm.nn.Parameters;
import org.dtlm.nn.Workspace;
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
import org.openjdk.jmh.infra.Blackhole;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * Throughput (calls per second) of the potential network of SPEC §1 at width H = 200 (two hidden layers) on batches
 * of B points: V (forward of B rows), grad V (forward + gradient of B rows) and DG by ADD (SPEC §2: forward of the 2B
 * stacked points [x; y] + discreteGradient of the B pairs). {@link #dgemmBaseline} runs only the four GEMMs of DG on
 * the same shapes, so that DG's GFLOP/s over dgemm's GFLOP/s is the ratio of the two scores ({@link #dgFlops}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3)
@Measurement(iterations = 5)
public class PotentialBench {
    /** Hidden width H of both layers. */
    static final int H = 200;
    /** Spread of y - x: a time step of a trajectory moves a point by a fraction of its scale. */
    static final double STEP = 0.1;

    @Param({"1", "4", "64"})
    int d;
    @Param({"1", "16", "256", "4096"})
    int batch;
    /** OpenBLAS threads (Blas#setNumThreads); bench/README.md also runs -p threads=2. */
    @Param({"1"})
    int threads;

    Arena arena;
    Blas blas;
    Mlp mlp;
    Parameters params;
    Workspace work;
    // xy: (2B, d), rows x_0 .. x_{B-1} then y_0 .. y_{B-1}; g: (B, d)
    MemorySegment xy, g;
    // dgemm baseline buffers: a0, t0, a1: (2B, H); delta1, u0: (B, H); gd: (B, d)
    MemorySegment a0, t0, a1, delta1, u0, gd;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        blas = Blas.get();
        blas.setNumThreads(threads);
        MlpShape shape = MlpShape.of(d, H, H);
        ParameterLayout layout = new ParameterLayout(shape, 0);
        mlp = new Mlp(layout, blas);
        params = Parameters.allocate(layout, arena);
        Init.orthogonal(params, 1);
        RandomGenerator rng = Init.random(2);
        for (int k = 0; k < shape.layers(); k++) {
            for (int j = 0; j < H; j++) params.set(layout.bias(k) + j, 0.3 * rng.nextGaussian());
        }
        int n = batch;
        work = new Workspace(shape, 2 * n, n);
        xy = gaussian(rng, 2L * n * d, 1.0);
        for (long i = 0; i < (long) n * d; i++) {
            double x = xy.getAtIndex(JAVA_DOUBLE, i);
            xy.setAtIndex(JAVA_DOUBLE, (long) n * d + i, x + STEP * rng.nextGaussian());
        }
        g = arena.allocate(JAVA_DOUBLE, (long) n * d);
        warmUp(shape, rng);
        a0 = arena.allocate(JAVA_DOUBLE, 2L * n * H);
        t0 = gaussian(rng, 2L * n * H, 0.5);
        a1 = arena.allocate(JAVA_DOUBLE, 2L * n * H);
        delta1 = gaussian(rng, (long) n * H, 0.1);
        u0 = arena.allocate(JAVA_DOUBLE, (long) n * H);
        gd = arena.allocate(JAVA_DOUBLE, (long) n * d);
    }

    /**
     * Runs the three passes on WARM_PAIRS pairs WARM_CALLS times, so that C2 has compiled the vector kernels before the
     * first warmup iteration: until then the Vector API runs uncompiled, hundreds of times slower, and at B = 4096 a
     * few calls would fill JMH's warmup time.
     */
    private void warmUp(MlpShape shape, RandomGenerator rng) {
        int n = WARM_PAIRS;
        MemorySegment x = gaussian(rng, 2L * n * d, 1.0), out = arena.allocate(JAVA_DOUBLE, (long) n * d);
        try (Workspace small = new Workspace(shape, 2 * n, n)) {
            for (int i = 0; i < WARM_CALLS; i++) {
                mlp.forward(small, params, x, 0, 2 * n);
                mlp.gradient(small, params, 0, n, out, 0, false);
                mlp.discreteGradient(small, params, 0, n, n, out, 0, false);
            }
        }
    }

    static final int WARM_PAIRS = 16, WARM_CALLS = 300;

    private MemorySegment gaussian(RandomGenerator rng, long n, double scale) {
        MemorySegment s = arena.allocate(JAVA_DOUBLE, n);
        for (long i = 0; i < n; i++) s.setAtIndex(JAVA_DOUBLE, i, scale * rng.nextGaussian());
        return s;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        work.close();
        arena.close();
    }

    /** FLOPs of DG's four GEMMs for B pairs: forward of 2B rows, then the chain of B rows (multiply-add = 2). */
    public static double dgFlops(int batch, int d) {
        double rows = 2.0 * batch;
        return 2 * rows * d * H + 2 * rows * H * H + 2.0 * batch * H * H + 2.0 * batch * H * d;
    }

    @Benchmark
    public void value(Blackhole bh) {
        mlp.forward(work, params, xy, 0, batch);
        bh.consume(work.value().getAtIndex(JAVA_DOUBLE, 0));
    }

    @Benchmark
    public void gradient(Blackhole bh) {
        mlp.forward(work, params, xy, 0, batch);
        mlp.gradient(work, params, 0, batch, g, 0, false);
        bh.consume(g.getAtIndex(JAVA_DOUBLE, 0));
    }

    @Benchmark
    public void discreteGradient(Blackhole bh) {
        bh.consume(runDiscreteGradient());
    }

    /** The GEMMs of {@link #discreteGradient} alone, same shapes and transpositions, in the same weights. */
    @Benchmark
    public void dgemmBaseline(Blackhole bh) {
        bh.consume(runDgemmBaseline());
    }

    /** Forward of the 2B stacked points, then DG of the B pairs; returns an element of DG. */
    double runDiscreteGradient() {
        mlp.forward(work, params, xy, 0, 2 * batch);
        mlp.discreteGradient(work, params, 0, batch, batch, g, 0, false);
        return g.getAtIndex(JAVA_DOUBLE, 0);
    }

    /** DG's four GEMMs; returns an element of each output's last product. */
    double runDgemmBaseline() {
        ParameterLayout l = params.layout();
        MemorySegment w = params.slab();
        int rows = 2 * batch;
        // forward: a_1 = x W_1^T (2B, d) x (d, H); a_2 = t_1 W_2^T (2B, H) x (H, H)
        blas.dgemm(false, true, rows, H, d, 1.0, xy, 0, d, w, l.weight(0), d, 0.0, a0, 0, H);
        blas.dgemm(false, true, rows, H, H, 1.0, t0, 0, H, w, l.weight(1), H, 0.0, a1, 0, H);
        // chain: u_1 = delta_2 W_2 (B, H) x (H, H); g = delta_1 W_1 (B, H) x (H, d)
        blas.dgemm(false, false, batch, H, H, 1.0, delta1, 0, H, w, l.weight(1), H, 0.0, u0, 0, H);
        blas.dgemm(false, false, batch, d, H, 1.0, u0, 0, H, w, l.weight(0), d, 0.0, gd, 0, d);
        return gd.getAtIndex(JAVA_DOUBLE, 0) + a1.getAtIndex(JAVA_DOUBLE, 0);
    }
}
