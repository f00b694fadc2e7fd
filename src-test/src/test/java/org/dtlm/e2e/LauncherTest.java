package org.dtlm.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code ./dtlm} launcher as a user runs it (the jar the reactor has just packaged): the JVM's incubator warning
 * does not reach the user, other stderr output does, and the exit status is the CLI's.
 */
class LauncherTest {
    static final Path ROOT = Path.of(System.getProperty("dtlm.repoRoot", "..")).toAbsolutePath().normalize();

    @TempDir
    Path dir;

    record Run(int status, String stdout, String stderr) {
    }

    private Run dtlm(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(ROOT.resolve("dtlm").toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve("stdout"), err = dir.resolve("stderr");
        Process p = new ProcessBuilder(command).directory(ROOT.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "dtlm " + String.join(" ", args) + " did not finish");
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void successPrintsNoWarning() throws Exception {
        Run r = dtlm("--version");
        assertEquals(0, r.status(), r.stderr());
        assertTrue(r.stdout().startsWith("dtlm "), r.stdout());
        assertEquals("", r.stderr());
    }

    @Test
    void badInputGetsOneLineAndNonZeroExitThroughTheFilter() throws Exception {
        Path missing = dir.resolve("missing.npz");
        Run r = dtlm("eval", "--model", missing.toString(), "--x", missing.toString(), "--out", dir.resolve("o.npz").toString());
        assertTrue(r.status() != 0, "exit status " + r.status());
        assertEquals(1, r.stderr().lines().count(), r.stderr());
        assertTrue(r.stderr().contains(missing.toString()) && !r.stderr().contains("WARNING"), r.stderr());
        assertTrue(Files.notExists(dir.resolve("o.npz")));
    }
}
