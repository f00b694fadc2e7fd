package org.dtlm.bench.blas;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;

import org.dtlm.blas.Blas;
import org.dtlm.blas.OpenBlas;
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

/**
 * Per-call overhead of the binding on the smallest calls, ddot with n = 1 and a 1 x 1 dgemm: through the {@link Blas}
 * API (argument checks included) and through bare downcall handles to the same library file, with and without
 * {@code Linker.Option.critical(false)}. bench/native/dgemm_bench.c times the same calls from C.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
@State(Scope.Thread)
public class TinyCallBench {

    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;

    private static final FunctionDescriptor DDOT = FunctionDescriptor.of(JAVA_DOUBLE, JAVA_INT, JAVA_LONG, JAVA_INT,
            JAVA_LONG, JAVA_INT);
    private static final FunctionDescriptor DGEMM = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_DOUBLE, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_DOUBLE, JAVA_LONG,
            JAVA_INT);
    private static final MethodHandle RAW_DDOT = handle("cblas_ddot", DDOT);
    private static final MethodHandle RAW_DDOT_CRITICAL = handle("cblas_ddot", DDOT, Linker.Option.critical(false));
    private static final MethodHandle RAW_DGEMM = handle("cblas_dgemm", DGEMM);
    private static final MethodHandle RAW_DGEMM_CRITICAL = handle("cblas_dgemm", DGEMM, Linker.Option.critical(false));

    private static MethodHandle handle(String symbol, FunctionDescriptor descriptor, Linker.Option... options) {
        SymbolLookup lib = SymbolLookup.libraryLookup(OpenBlas.libraryPath(), Arena.global());
        return Linker.nativeLinker().downcallHandle(lib.find(symbol).orElseThrow(), descriptor, options);
    }

    Arena arena;
    Blas blas;
    MemorySegment x;
    MemorySegment y;
    MemorySegment c;
    long xAddress;
    long yAddress;
    long cAddress;

    @Setup(Level.Trial)
    public void setUp() {
        blas = new OpenBlas();
        blas.setNumThreads(2);
        arena = Arena.ofShared();
        x = arena.allocate(JAVA_DOUBLE, 1);
        y = arena.allocate(JAVA_DOUBLE, 1);
        c = arena.allocate(JAVA_DOUBLE, 1);
        x.setAtIndex(JAVA_DOUBLE, 0, 0.75);
        y.setAtIndex(JAVA_DOUBLE, 0, -1.25);
        xAddress = x.address();
        yAddress = y.address();
        cAddress = c.address();
    }

    @TearDown(Level.Trial)
    public void free() {
        arena.close();
    }

    @Benchmark
    public double ddot1Blas() {
        return blas.ddot(1, x, 0, 1, y, 0, 1);
    }

    @Benchmark
    public double ddot1Raw() throws Throwable {
        return (double) RAW_DDOT.invokeExact(1, xAddress, 1, yAddress, 1);
    }

    @Benchmark
    public double ddot1RawCritical() throws Throwable {
        return (double) RAW_DDOT_CRITICAL.invokeExact(1, xAddress, 1, yAddress, 1);
    }

    @Benchmark
    public void dgemm1Blas() {
        blas.dgemm(false, false, 1, 1, 1, 1.0, x, 0, 1, y, 0, 1, 0.0, c, 0, 1);
    }

    @Benchmark
    public void dgemm1Raw() throws Throwable {
        RAW_DGEMM.invokeExact(ROW_MAJOR, NO_TRANS, NO_TRANS, 1, 1, 1, 1.0, xAddress, 1, yAddress, 1, 0.0, cAddress, 1);
    }

    @Benchmark
    public void dgemm1RawCritical() throws Throwable {
        RAW_DGEMM_CRITICAL.invokeExact(ROW_MAJOR, NO_TRANS, NO_TRANS, 1, 1, 1, 1.0, xAddress, 1, yAddress, 1, 0.0,
                cAddress, 1);
    }
}
