package org.dtlm.bench.blas;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.dtlm.blas.Blas;
import org.dtlm.blas.JavaBlas;
import org.dtlm.blas.OpenBlas;
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
 * Square C = A B (n x n, row-major, alpha = 1, beta = 0): OpenBLAS through java.lang.foreign against the Java
 * reference, in ns per call. GFLOP/s = 2 n^3 / (ns per call). bench/native/dgemm_bench.c times the same call on the
 * same library file from C; see bench/README.md.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class DgemmBench {

    private static final long SEED = 42L;

    /** A, B, C: (n, n) each, row-major, ld = n; A and B uniform in [-1, 1), C overwritten. */
    abstract static class Operands {
        Arena arena;
        Blas blas;
        MemorySegment a;
        MemorySegment b;
        MemorySegment c;

        void allocate(Blas implementation, int n, int threads) {
            blas = implementation;
            blas.setNumThreads(threads);
            arena = Arena.ofShared();
            SplittableRandom random = new SplittableRandom(SEED);
            long count = (long) n * n;
            a = arena.allocate(JAVA_DOUBLE, count);
            b = arena.allocate(JAVA_DOUBLE, count);
            c = arena.allocate(JAVA_DOUBLE, count);
            for (long i = 0; i < count; i++) {
                a.setAtIndex(JAVA_DOUBLE, i, random.nextDouble(-1.0, 1.0));
                b.setAtIndex(JAVA_DOUBLE, i, random.nextDouble(-1.0, 1.0));
            }
        }

        @TearDown(Level.Trial)
        public void free() {
            arena.close();
        }
    }

    @State(Scope.Thread)
    public static class Native extends Operands {
        @Param({"1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "1024"})
        int n;
        /** OpenBLAS threads; bench/native/run.sh takes the same number. */
        @Param({"2"})
        int threads;

        @Setup(Level.Trial)
        public void setUp() {
            allocate(new OpenBlas(), n, threads);
        }
    }

    /** The reference is O(n^3) at about 1 GFLOP/s: sizes stop at 256 (about 40 ms per call). */
    @State(Scope.Thread)
    public static class Reference extends Operands {
        @Param({"1", "2", "4", "8", "16", "32", "64", "128", "256"})
        int n;

        @Setup(Level.Trial)
        public void setUp() {
            allocate(new JavaBlas(), n, 1);
        }
    }

    @Benchmark
    public void openblas(Native s) {
        s.blas.dgemm(false, false, s.n, s.n, s.n, 1.0, s.a, 0, s.n, s.b, 0, s.n, 0.0, s.c, 0, s.n);
    }

    @Benchmark
    public void reference(Reference s) {
        s.blas.dgemm(false, false, s.n, s.n, s.n, 1.0, s.a, 0, s.n, s.b, 0, s.n, 0.0, s.c, 0, s.n);
    }
}
