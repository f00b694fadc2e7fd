package org.dtlm.cli;

import org.dtlm.blas.Blas;

import picocli.CommandLine.Option;

/** {@code --threads N} of every command: the BLAS thread count (default: the available cores), reported on stderr. */
final class BlasThreads {
    @Option(names = "--threads", paramLabel = "N", description = "BLAS threads (default: available cores, ${DEFAULT-VALUE})")
    int threads = Runtime.getRuntime().availableProcessors();

    /** Applies the setting and reports the library in use; returns the BLAS. */
    Blas apply() {
        if (threads < 1) throw new IllegalArgumentException("--threads " + threads + ": must be >= 1");
        Blas blas = Blas.get();
        blas.setNumThreads(threads);
        System.err.println("dtlm: " + blas.config());
        return blas;
    }
}
