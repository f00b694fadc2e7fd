package org.dtlm.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class BlasProviderTest {

    /** A child JVM should start and answer within this; it only loads the library and prints one line. */
    private static final long CHILD_TIMEOUT_SECONDS = 60;

    @Test
    void javaValueChoosesReference() {
        assertInstanceOf(JavaBlas.class, BlasProvider.choose("java"));
    }

    @Test
    void nativeValueChoosesOpenBlasWhenLoadable() {
        assertInstanceOf(OpenBlas.class, BlasProvider.choose("native"));
    }

    @Test
    void unknownValueNamesTheProperty() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BlasProvider.choose("mkl"));
        assertEquals("dtlm.blas = 'mkl' must be 'native' or 'java'", e.getMessage());
    }

    /** The system property, read once at class initialisation, so checked in fresh JVMs. */
    @Test
    void systemPropertyOverridesTheChoiceInAFreshJvm() throws IOException, InterruptedException {
        assertEquals("JavaBlas 1", runProbe("-Ddtlm.blas=java"));
        assertEquals("OpenBlas " + Runtime.getRuntime().availableProcessors(), runProbe(null));
    }

    private static String runProbe(String property) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--enable-native-access=ALL-UNNAMED");
        if (property != null) {
            command.add(property);
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Probe.class.getName());
        Process process = new ProcessBuilder(command).redirectErrorStream(false).start();
        assertTrue(process.waitFor(CHILD_TIMEOUT_SECONDS, TimeUnit.SECONDS), "probe JVM timed out");
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), "probe failed: " + err);
        assertTrue(err.contains("INFO: BLAS: "), "choice not logged: " + err);
        return out;
    }

    /** Child JVM entry: prints the chosen implementation and its thread count. */
    static final class Probe {
        public static void main(String[] args) {
            Blas blas = Blas.get();
            System.out.println(blas.getClass().getSimpleName() + " " + blas.getNumThreads());
        }
    }
}
