package org.dtlm.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.dtlm.blas.Blas;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npy;
import org.dtlm.io.Npz;
import org.dtlm.nn.MlpShape;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;
import org.dtlm.rollout.RolloutResult;
import org.dtlm.rollout.Rollouts;
import org.dtlm.rollout.StepperOptions;
import org.dtlm.scheme.Scheme;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dtlm rollout} through {@link Main#run}: the archive against {@link Rollouts#run}, failures, bad input. */
class RolloutCommandTest {
    private static final int D = 2, B = 3;
    private static final double DT = 0.1;

    @TempDir
    Path dir;
    private Path modelFile;
    private Path start;
    private Model model;

    @BeforeEach
    void files() throws IOException {
        model = Model.create(MlpShape.of(D, 16, 16), MassMatrix.Kind.DIAGONAL, 5, Blas.get());
        model.setTraining(DT, "proposed");
        modelFile = dir.resolve("model.npz");
        ModelFile.save(modelFile, model);
        start = dir.resolve("start.npy");
        Npy.write(start, NdArray.of(starts(), B, 3, D));
    }

    private static double[] starts() {
        double[] s = new double[B * 3 * D];
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < D; i++) {
                for (int n = 0; n < 3; n++) s[(b * 3 + n) * D + i] = 0.2 * b - 0.1 * i + 0.05 * n * (i + 1);
            }
        }
        return s;
    }

    /** Main.run with stderr captured. */
    private record Run(int exit, String err) {
        static Run of(String... args) {
            PrintStream saved = System.err;
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
            try {
                return new Run(Main.run(args), buffer.toString(StandardCharsets.UTF_8));
            } finally {
                System.setErr(saved);
            }
        }

        /** Lines other than the BLAS report that every command prints first. */
        List<String> errorLines() {
            return err.lines().filter(l -> !l.startsWith("dtlm: ")).toList();
        }
    }

    @Test
    void writesTheRolloutOfEveryScheme() throws IOException {
        for (Scheme scheme : Scheme.values()) {
            Path out = dir.resolve(scheme.id() + ".npz");
            Run r = Run.of("rollout", "--model", modelFile.toString(), "--scheme", scheme.id(), "--start", start.toString(),
                    "--steps", "40", "--out", out.toString(), "--threads", "1");
            assertEquals(0, r.exit(), r.err());
            assertEquals(List.of(), r.errorLines());
            Map<String, NdArray> z = Npz.read(out);
            RolloutResult want = Rollouts.run(model, scheme, starts(), 40, StepperOptions.of(DT));
            assertArrayEquals(new int[]{B, 40, D}, z.get("q").shape());
            assertArrayEquals(want.q(), z.get("q").data(), 0.0, scheme.id() + " q");
            assertArrayEquals(want.v(), z.get("v").data(), 0.0, scheme.id() + " v");
            assertArrayEquals(want.p(), z.get("p").data(), 0.0, scheme.id() + " p");
            assertArrayEquals(want.energy(), z.get("energy").data(), 0.0, scheme.id() + " energy");
            assertEquals(DT, z.get("dt").data()[0]);
        }
    }

    @Test
    void dtOverridesTheModels() throws IOException {
        Path out = dir.resolve("out.npz");
        Run r = Run.of("rollout", "--model", modelFile.toString(), "--scheme", "leapfrog", "--start", start.toString(),
                "--steps", "5", "--dt", "0.05", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(0.05, Npz.read(out).get("dt").data()[0]);
    }

    @Test
    void aFailedTrajectoryIsReportedAndTheOthersAreWritten() throws IOException {
        double[] s = starts();
        s[(3 + 1) * D] = Double.MAX_VALUE; // trajectory 1, q^1
        Npy.write(start, NdArray.of(s, B, 3, D));
        Path out = dir.resolve("out.npz");
        Run r = Run.of("rollout", "--model", modelFile.toString(), "--scheme", "proposed", "--start", start.toString(),
                "--steps", "10", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(2, r.errorLines().size(), r.err());
        assertTrue(r.errorLines().getFirst().startsWith("dtlm rollout: trajectory 1: no q^2"), r.err());
        Map<String, NdArray> z = Npz.read(out);
        assertArrayEquals(new double[]{-1, 2, -1}, z.get("failed_point").data());
        assertTrue(Double.isFinite(z.get("energy").data()[2 * 10 + 9]), "trajectory 2 is complete");
    }

    /** Non-zero exit, one error line naming {@code named}, and no file created. */
    private void assertRefused(String named, String... args) throws IOException {
        List<String> before = listing();
        Run r = Run.of(args);
        assertNotEquals(0, r.exit(), r.err());
        assertEquals(before, listing(), "no file created: " + r.err());
        assertEquals(1, r.errorLines().size(), "one line: " + r.err());
        String line = r.errorLines().getFirst();
        assertTrue(line.startsWith("rollout: ") && line.contains(named), "names " + named + ": " + line);
    }

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private String[] args(String scheme, Path startFile, String steps, Path out) {
        return new String[]{"rollout", "--model", modelFile.toString(), "--scheme", scheme, "--start", startFile.toString(),
                "--steps", steps, "--out", out.toString()};
    }

    @Test
    void refusesBadInput() throws IOException {
        Path out = dir.resolve("out.npz");
        assertRefused("'verlet'", args("verlet", start, "10", out));
        assertRefused("--steps 0", args("proposed", start, "0", out));
        assertRefused("nothere.npy", args("proposed", dir.resolve("nothere.npy"), "10", out));
        assertRefused("nodir", args("proposed", start, "10", dir.resolve("nodir").resolve("o.npz")));
        Path flat = dir.resolve("flat.npy");
        Npy.write(flat, NdArray.of(new double[B * 2 * D], B, 2, D));
        assertRefused("flat.npy", args("euler", flat, "10", out));
        Path wrongD = dir.resolve("d3.npy");
        Npy.write(wrongD, NdArray.of(new double[B * 3 * 3], B, 3, 3));
        assertRefused("d3.npy", args("proposed", wrongD, "10", out));
        double[] s = starts();
        s[4] = Double.NaN;
        Path nan = dir.resolve("nan.npy");
        Npy.write(nan, NdArray.of(s, B, 3, D));
        assertRefused("nan.npy", args("proposed", nan, "10", out));
        Files.writeString(dir.resolve("junk.npz"), "not an archive");
        modelFile = dir.resolve("junk.npz");
        assertRefused("junk.npz", args("proposed", start, "10", out));
        // a model without dt, and no --dt
        Model noDt = Model.create(MlpShape.of(D, 8), MassMatrix.Kind.IDENTITY, 1, Blas.get());
        modelFile = dir.resolve("nodt.npz");
        ModelFile.save(modelFile, noDt);
        assertRefused("give --dt", args("proposed", start, "10", out));
        assertFalse(Files.exists(out));
    }
}
