package org.dtlm.bench.potential;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.dtlm.nn.Init;
import org.dtlm.nn.TanhKernels;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The element-wise tanh kernels of SPEC §2 over one (2B, H) forward block at B = 4096, H = 200 (819200 pairs), Vector
 * API path against the scalar reference. TanhKernels.VECTORIZED is fixed per JVM, so each scalar method runs in forks
 * with -Ddtlm.vector=false. Average time per call, in microseconds.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3)
@Measurement(iterations = 5)
public class TanhKernelsBench {
    /** Elements of one block: B = 4096 pairs times H = 200 units. */
    static final long N = 4096L * 200;
    static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    static final ByteOrder NO = ByteOrder.nativeOrder();

    Arena arena;
    // a, t, o: (2N), x block at 0, y block at N; s, sa, sb: (N)
    MemorySegment a, t, o, s, sa, sb;
    long n = N;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        RandomGenerator rng = Init.random(3);
        a = arena.allocate(JAVA_DOUBLE, 2 * N);
        for (long i = 0; i < N; i++) {
            double x = 2 * rng.nextGaussian();      // pre-activations of an orthogonally initialised layer
            a.setAtIndex(JAVA_DOUBLE, i, x);
            a.setAtIndex(JAVA_DOUBLE, N + i, x + 0.1 * rng.nextGaussian());
        }
        t = arena.allocate(JAVA_DOUBLE, 2 * N);
        o = arena.allocate(JAVA_DOUBLE, 2 * N);
        s = arena.allocate(JAVA_DOUBLE, N);
        sa = arena.allocate(JAVA_DOUBLE, N);
        sb = arena.allocate(JAVA_DOUBLE, N);
        TanhKernels.activate(t, o, a, 0, 2 * N);
        // C2 before the first warmup iteration (see PotentialBench#warmUp): many calls on a short block
        for (int i = 0; i < WARM_CALLS; i++) {
            TanhKernels.activate(t, o, a, 0, WARM_N);
            TanhKernels.dividedDifference(s, 0, a, t, o, 0, N, WARM_N);
            TanhKernels.dividedDifferenceWithPartials(s, sa, sb, 0, a, t, o, 0, N, WARM_N);
        }
        TanhKernels.activate(t, o, a, 0, 2 * N);
    }

    static final int WARM_CALLS = 300;
    static final long WARM_N = 4096;

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    private void activate(Blackhole bh) {
        TanhKernels.activate(t, o, a, 0, n);
        bh.consume(o.getAtIndex(JAVA_DOUBLE, 0));
    }

    private void dividedDifference(Blackhole bh) {
        TanhKernels.dividedDifference(s, 0, a, t, o, 0, n, n);
        bh.consume(s.getAtIndex(JAVA_DOUBLE, 0));
    }

    private void dividedDifferenceWithPartials(Blackhole bh) {
        TanhKernels.dividedDifferenceWithPartials(s, sa, sb, 0, a, t, o, 0, n, n);
        bh.consume(sb.getAtIndex(JAVA_DOUBLE, 0));
    }

    /** The library's lane-wise TANH alone (what the kernels used before): t = tanh a over the block. */
    @Benchmark
    public void libraryTanhVector(Blackhole bh) {
        for (long i = 0; i < n; i += S.length()) {
            DoubleVector.fromMemorySegment(S, a, i * Double.BYTES, NO).lanewise(VectorOperators.TANH)
                    .intoMemorySegment(t, i * Double.BYTES, NO);
        }
        bh.consume(t.getAtIndex(JAVA_DOUBLE, 0));
    }

    /** Scalar Math.tanh alone over the block. */
    @Benchmark
    public void mathTanhScalar(Blackhole bh) {
        for (long i = 0; i < n; i++) t.setAtIndex(JAVA_DOUBLE, i, Math.tanh(a.getAtIndex(JAVA_DOUBLE, i)));
        bh.consume(t.getAtIndex(JAVA_DOUBLE, 0));
    }

    @Benchmark
    public void activateVector(Blackhole bh) {
        activate(bh);
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
            "-Ddtlm.vector=false"})
    public void activateScalar(Blackhole bh) {
        activate(bh);
    }

    @Benchmark
    public void dividedDifferenceVector(Blackhole bh) {
        dividedDifference(bh);
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
            "-Ddtlm.vector=false"})
    public void dividedDifferenceScalar(Blackhole bh) {
        dividedDifference(bh);
    }

    @Benchmark
    public void dividedDifferenceWithPartialsVector(Blackhole bh) {
        dividedDifferenceWithPartials(bh);
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
            "-Ddtlm.vector=false"})
    public void dividedDifferenceWithPartialsScalar(Blackhole bh) {
        dividedDifferenceWithPartials(bh);
    }
}
