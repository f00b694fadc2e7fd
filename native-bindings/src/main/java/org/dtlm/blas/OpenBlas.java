package org.dtlm.blas;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * OpenBLAS (org.bytedeco:openblas, {@code libopenblas_nolapack.so.0}) through java.lang.foreign downcalls; no JNI call
 * ever reaches BLAS. The library file is the one javacpp extracts and loads, opened by its absolute path (never by a
 * bare name, which could pick up a system OpenBLAS). The thread count is set to
 * {@link Runtime#availableProcessors()} when the class loads.
 *
 * <p>Pointers are passed as raw addresses ({@code JAVA_LONG}, {@code segment.address() + offset * 8}) after
 * {@link BlasArgs} has checked that each segment is native, alive, aligned and large enough, so a call allocates
 * nothing on the Java heap. The price: the segment's arena is not held open for the duration of the call, so closing
 * a shared arena from another thread while a call is running on its memory is a use-after-free. Confined and
 * automatic arenas cannot be closed that way.
 *
 * <p>The level-1 routines use a second handle with {@link Linker.Option#critical(boolean) critical(false)} (no thread
 * state transition) for {@code n <= }{@value #CRITICAL_MAX_N}: such calls finish in well under a microsecond, so they
 * cannot hold up a safepoint noticeably; longer vectors go through the ordinary handle.
 *
 * <p>Loading fails with {@link ExceptionInInitializerError} when the library or a symbol is missing;
 * {@link BlasProvider} then falls back to {@link JavaBlas}.
 */
public final class OpenBlas implements Blas {

    /** CBLAS enum values (cblas.h). */
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    /** Longest vector for which a level-1 routine takes the critical (no state transition) handle. */
    static final int CRITICAL_MAX_N = 4096;

    private static final long DOUBLE_BYTES = JAVA_DOUBLE.byteSize();

    /** Absolute path of the library file all handles are bound to. */
    private static final Path LIBRARY = locateLibrary();

    private static final MethodHandle DGEMM;
    private static final MethodHandle DGEMV;
    private static final MethodHandle DAXPY;
    private static final MethodHandle DAXPY_CRITICAL;
    private static final MethodHandle DDOT;
    private static final MethodHandle DDOT_CRITICAL;
    private static final MethodHandle DSCAL;
    private static final MethodHandle DSCAL_CRITICAL;
    private static final MethodHandle DNRM2;
    private static final MethodHandle DNRM2_CRITICAL;
    private static final MethodHandle SET_NUM_THREADS;
    private static final MethodHandle GET_NUM_THREADS;
    private static final MethodHandle GET_CONFIG;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
        Linker.Option critical = Linker.Option.critical(false);

        // void cblas_dgemm(order, transA, transB, M, N, K, alpha, *A, lda, *B, ldb, beta, *C, ldc)
        DGEMM = bind(linker, lib, "cblas_dgemm", FunctionDescriptor.ofVoid(
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_DOUBLE,
                JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_DOUBLE, JAVA_LONG, JAVA_INT));
        // void cblas_dgemv(order, trans, M, N, alpha, *A, lda, *X, incX, beta, *Y, incY)
        DGEMV = bind(linker, lib, "cblas_dgemv", FunctionDescriptor.ofVoid(
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_DOUBLE, JAVA_LONG, JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_DOUBLE, JAVA_LONG, JAVA_INT));
        // void cblas_daxpy(N, alpha, *X, incX, *Y, incY)
        FunctionDescriptor axpy = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_DOUBLE, JAVA_LONG, JAVA_INT, JAVA_LONG,
                JAVA_INT);
        DAXPY = bind(linker, lib, "cblas_daxpy", axpy);
        DAXPY_CRITICAL = bind(linker, lib, "cblas_daxpy", axpy, critical);
        // double cblas_ddot(N, *X, incX, *Y, incY)
        FunctionDescriptor dot = FunctionDescriptor.of(JAVA_DOUBLE, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG,
                JAVA_INT);
        DDOT = bind(linker, lib, "cblas_ddot", dot);
        DDOT_CRITICAL = bind(linker, lib, "cblas_ddot", dot, critical);
        // void cblas_dscal(N, alpha, *X, incX)
        FunctionDescriptor scal = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_DOUBLE, JAVA_LONG, JAVA_INT);
        DSCAL = bind(linker, lib, "cblas_dscal", scal);
        DSCAL_CRITICAL = bind(linker, lib, "cblas_dscal", scal, critical);
        // double cblas_dnrm2(N, *X, incX)
        FunctionDescriptor nrm2 = FunctionDescriptor.of(JAVA_DOUBLE, JAVA_INT, JAVA_LONG, JAVA_INT);
        DNRM2 = bind(linker, lib, "cblas_dnrm2", nrm2);
        DNRM2_CRITICAL = bind(linker, lib, "cblas_dnrm2", nrm2, critical);
        // void openblas_set_num_threads(int); int openblas_get_num_threads(void); char *openblas_get_config(void)
        SET_NUM_THREADS = bind(linker, lib, "openblas_set_num_threads", FunctionDescriptor.ofVoid(JAVA_INT));
        GET_NUM_THREADS = bind(linker, lib, "openblas_get_num_threads", FunctionDescriptor.of(JAVA_INT));
        GET_CONFIG = bind(linker, lib, "openblas_get_config", FunctionDescriptor.of(ADDRESS));
        setThreads(Runtime.getRuntime().availableProcessors());
    }

    /**
     * The binding. All instances share the one library and its one thread setting (process-wide state); prefer
     * {@link Blas#get()}. Throws {@link ExceptionInInitializerError} (first use) or {@link NoClassDefFoundError}
     * (later uses) when the library cannot be loaded.
     */
    public OpenBlas() {
    }

    /** The absolute path of the library file bound, for diagnostics and for the C benchmark to link the same file. */
    public static Path libraryPath() {
        return LIBRARY;
    }

    /** PLATFORM.md's recipe: let javacpp extract and load the library, then take the absolute path it loaded. */
    private static Path locateLibrary() {
        Loader.load(openblas_nolapack.class);
        Map<String, String> loaded = Loader.getLoadedLibraries();
        for (Map.Entry<String, String> e : loaded.entrySet()) {
            if (e.getKey().startsWith("openblas_nolapack@") && e.getValue() != null) {
                Path path = Path.of(e.getValue());
                if (path.isAbsolute() && Files.isRegularFile(path)) {
                    return path;
                }
            }
        }
        throw new IllegalStateException("javacpp loaded no openblas_nolapack library file; loaded: " + loaded);
    }

    private static MethodHandle bind(Linker linker, SymbolLookup lib, String symbol, FunctionDescriptor descriptor,
                                     Linker.Option... options) {
        MemorySegment address = lib.find(symbol).orElseThrow(
                () -> new IllegalStateException(LIBRARY + " has no symbol " + symbol));
        return linker.downcallHandle(address, descriptor, options);
    }

    /** Element {@code off} of a checked segment as a raw address. */
    private static long at(MemorySegment s, long off) {
        return s.address() + off * DOUBLE_BYTES;
    }

    @Override
    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      double beta, MemorySegment c, long cOff, int ldc) {
        BlasArgs.dgemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        if (alpha == 0.0) {
            // OpenBLAS's AVX-512 kernels (SkylakeX, Cooperlake) multiply anyway, so NaN in A or B would reach C;
            // the contract (Blas#dgemm) is that alpha = 0 does not read the inputs: C = beta C.
            for (int i = 0; i < m; i++) {
                scaleOutput(n, beta, c, cOff + (long) i * ldc, 1);
            }
            return;
        }
        try {
            DGEMM.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha,
                    at(a, aOff), lda, at(b, bOff), ldb, beta, at(c, cOff), ldc);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void dgemv(boolean transA, int m, int n, double alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, int incx, double beta, MemorySegment y, long yOff, int incy) {
        BlasArgs.dgemv(transA, m, n, a, aOff, lda, x, xOff, incx, y, yOff, incy);
        if ((transA ? m : n) == 0 || alpha == 0.0) {
            // CBLAS returns without touching y when A is empty, and some kernels read A and x even when alpha = 0;
            // the contract (Blas#dgemv) is y = beta y in both cases.
            scaleOutput(transA ? n : m, beta, y, yOff, incy);
            return;
        }
        try {
            DGEMV.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, m, n, alpha, at(a, aOff), lda,
                    at(x, xOff), incx, beta, at(y, yOff), incy);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static void scaleOutput(int lenY, double beta, MemorySegment y, long yOff, int incy) {
        for (int i = 0; i < lenY; i++) {
            long yi = yOff + (long) i * incy;
            y.setAtIndex(JAVA_DOUBLE, yi, beta == 0.0 ? 0.0 : beta * y.getAtIndex(JAVA_DOUBLE, yi));
        }
    }

    @Override
    public void daxpy(int n, double alpha, MemorySegment x, long xOff, int incx,
                      MemorySegment y, long yOff, int incy) {
        BlasArgs.twoVectors("daxpy", n, x, xOff, incx, y, yOff, incy);
        try {
            if (n <= CRITICAL_MAX_N) {
                DAXPY_CRITICAL.invokeExact(n, alpha, at(x, xOff), incx, at(y, yOff), incy);
            } else {
                DAXPY.invokeExact(n, alpha, at(x, xOff), incx, at(y, yOff), incy);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public double ddot(int n, MemorySegment x, long xOff, int incx, MemorySegment y, long yOff, int incy) {
        BlasArgs.twoVectors("ddot", n, x, xOff, incx, y, yOff, incy);
        try {
            if (n <= CRITICAL_MAX_N) {
                return (double) DDOT_CRITICAL.invokeExact(n, at(x, xOff), incx, at(y, yOff), incy);
            }
            return (double) DDOT.invokeExact(n, at(x, xOff), incx, at(y, yOff), incy);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void dscal(int n, double alpha, MemorySegment x, long xOff, int incx) {
        BlasArgs.oneVector("dscal", n, x, xOff, incx);
        try {
            if (n <= CRITICAL_MAX_N) {
                DSCAL_CRITICAL.invokeExact(n, alpha, at(x, xOff), incx);
            } else {
                DSCAL.invokeExact(n, alpha, at(x, xOff), incx);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public double dnrm2(int n, MemorySegment x, long xOff, int incx) {
        BlasArgs.oneVector("dnrm2", n, x, xOff, incx);
        try {
            if (n <= CRITICAL_MAX_N) {
                return (double) DNRM2_CRITICAL.invokeExact(n, at(x, xOff), incx);
            }
            return (double) DNRM2.invokeExact(n, at(x, xOff), incx);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Process-wide: OpenBLAS has one thread setting per loaded library copy. */
    @Override
    public void setNumThreads(int threads) {
        BlasArgs.threads(threads);
        setThreads(threads);
    }

    private static void setThreads(int threads) {
        try {
            SET_NUM_THREADS.invokeExact(threads);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int getNumThreads() {
        try {
            return (int) GET_NUM_THREADS.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public String config() {
        String libConfig;
        try {
            MemorySegment s = (MemorySegment) GET_CONFIG.invokeExact();
            // A static NUL-terminated string in the library; its length is unknown to the linker.
            libConfig = s.reinterpret(Long.MAX_VALUE).getString(0).trim();
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return "OpenBLAS via java.lang.foreign (" + libConfig + ", threads = " + getNumThreads() + ", " + LIBRARY
                + ")";
    }

    /** Downcalls throw no checked exceptions; anything thrown is passed on unchanged where the language allows. */
    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof Error e) {
            throw e;
        }
        if (t instanceof RuntimeException r) {
            return r;
        }
        return new IllegalStateException("unexpected checked exception from a downcall", t);
    }
}
