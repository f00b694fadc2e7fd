package org.dtlm.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs {@link Main#run} with stderr captured (tests run one at a time in a JVM: System.err is swapped briefly). */
record CliRun(int exit, String err) {

    static CliRun of(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = Main.run(args);
        } finally {
            System.err.flush();
            System.setErr(saved);
        }
        return new CliRun(exit, buffer.toString(StandardCharsets.UTF_8));
    }

    /** The lines of stderr that are not the BLAS report every command prints first. */
    String errorLines() {
        return err.lines().filter(l -> !l.startsWith("dtlm: ")).reduce((a, b) -> a + "\n" + b).orElse("");
    }
}
