package org.dtlm.bench.rollout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import org.dtlm.blas.Blas;
import org.dtlm.nn.Init;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.ParameterLayout;
import org.dtlm.nn.Parameters;
import org.dtlm.rollout.RowExactBlas;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The two big products of a rollout step on its shapes, rows x 200 x 200 (calls per second; GFLOP/s = score x 2 rows
 * 200^2 / 1e9): {@code forward} = h W^T (a forward pass, and the tangent of chainTangent), {@code chain} = delta W (the
 * backward chain), and {@code forwardPair}, {@code chainPair}: the same with a second A (a value and its tangent,
 * {@link Blas#dgemmPair}; OpenBLAS: two dgemm calls), by OpenBLAS's dgemm ({@code impl = openblas}, its
 * {@code threads}) and by the rollouts' own {@link RowExactBlas} ({@code impl = rowexact}, one thread: a rollout runs
 * one such product per shard thread).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3)
@Measurement(iterations = 5)
public class RolloutGemmBench {
    static final int H = 200;

    @Param({"1", "128", "256"})
    int rows;
    @Param({"openblas", "rowexact"})
    String impl;
    @Param({"1"})
    int threads;

    private Arena arena;
    private Parameters parameters;
    private Blas blas;
    private MemorySegment a;
    private MemorySegment c;
    private MemorySegment a2;
    private MemorySegment c2;
    private long weight;

    @Setup
    public void setUp() {
        arena = Arena.ofShared();
        parameters = Parameters.allocate(new ParameterLayout(MlpShape.of(4, H, H), 0), arena);
        Init.orthogonal(parameters, 1);
        weight = parameters.layout().weight(1);
        Blas openBlas = Blas.get();
        openBlas.setNumThreads(threads);
        blas = impl.equals("openblas") ? openBlas : new RowExactBlas(openBlas, parameters, arena);
        a = arena.allocate(JAVA_DOUBLE, (long) rows * H);
        c = arena.allocate(JAVA_DOUBLE, (long) rows * H);
        a2 = arena.allocate(JAVA_DOUBLE, (long) rows * H);
        c2 = arena.allocate(JAVA_DOUBLE, (long) rows * H);
        var rng = Init.random(3);
        for (long i = 0; i < (long) rows * H; i++) a.setAtIndex(JAVA_DOUBLE, i, rng.nextGaussian());
        for (long i = 0; i < (long) rows * H; i++) a2.setAtIndex(JAVA_DOUBLE, i, rng.nextGaussian());
        for (int i = 0; i < 200; i++) {
            forward();
            chain();
            forwardPair();
            chainPair();
        }
    }

    @Benchmark
    public MemorySegment forward() {
        blas.dgemm(false, true, rows, H, H, 1.0, a, 0, H, parameters.slab(), weight, H, 0.0, c, 0, H);
        return c;
    }

    @Benchmark
    public MemorySegment chain() {
        blas.dgemm(false, false, rows, H, H, 1.0, a, 0, H, parameters.slab(), weight, H, 0.0, c, 0, H);
        return c;
    }

    @Benchmark
    public MemorySegment forwardPair() {
        blas.dgemmPair(true, rows, H, H, a, 0, a2, 0, H, parameters.slab(), weight, H, 0.0, c, 0, c2, 0, H);
        return c2;
    }

    @Benchmark
    public MemorySegment chainPair() {
        blas.dgemmPair(false, rows, H, H, a, 0, a2, 0, H, parameters.slab(), weight, H, 0.0, c, 0, c2, 0, H);
        return c2;
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }
}
