package org.dtlm.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.dtlm.blas.Blas;
import org.dtlm.data.Dataset;
import org.dtlm.data.Generator;
import org.dtlm.data.Task;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npy;
import org.dtlm.nn.MlpShape;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;
import org.dtlm.scheme.Scheme;
import org.dtlm.train.Checkpoint;
import org.dtlm.train.Trainer;
import org.dtlm.train.TrainingData;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code dtlm train} through {@link Main#run}: outputs, reproducibility, resumption, and every kind of bad input. */
class TrainCommandTest {
    static final int TRAJ = 3, POINTS = 30;
    static final double DT = Task.MASS_SPRING.dt();
    /** Small runs: a narrow net, few steps (one thread unless the test says otherwise). */
    static final String[] SMALL = {"--hidden", "8,8", "--steps", "30"};

    @TempDir
    Path dir;
    Path data, out;
    double[] q;

    record Result(int exit, String out, String err) {
        /** The error line Main prints for a failed subcommand. */
        String error() {
            return err.lines().filter(l -> l.startsWith("train: ")).reduce((a, b) -> a + "\n" + b).orElse("(no error line in: " + err + ")");
        }
    }

    @BeforeEach
    void writeData() throws IOException {
        Dataset ds = Generator.generate(Task.MASS_SPRING, 2, TRAJ, 1, POINTS);
        q = ds.trainPositions();
        data = dir.resolve("data.npy");
        Npy.write(data, NdArray.of(q, TRAJ, POINTS, 1));
        out = dir.resolve("m.npz");
    }

    static Result run(String... args) {
        PrintStream keepOut = System.out, keepErr = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8); PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            System.setOut(po);
            System.setErr(pe);
            int exit = Main.run(args);
            return new Result(exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(keepOut);
            System.setErr(keepErr);
        }
    }

    /** train --data DATA --dt DT --scheme proposed --out OUT, the small settings, then extra. */
    Result train(Path outFile, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--data", data.toString(), "--dt", Double.toString(DT),
                "--scheme", "proposed", "--out", outFile.toString()));
        args.addAll(List.of(SMALL));
        args.addAll(List.of(extra));
        if (!args.contains("--threads")) args.addAll(List.of("--threads", "1"));
        return run(args.toArray(String[]::new));
    }

    // ------------------------------------------------------------------------------------------------ outputs
    @Test
    void writesAModelThatRecordsDtAndSchemeAndPrintsTheFinalLoss() throws IOException {
        Result r = train(out, "--mass", "diagonal");
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.contains("final loss "), r.out);
        assertFalse(Files.exists(Checkpoint.pathFor(out)));
        try (Model m = ModelFile.load(out, Blas.get())) {
            assertEquals(DT, m.dt());
            assertEquals("proposed", m.scheme());
            assertEquals(MassMatrix.Kind.DIAGONAL, m.mass().kind());
            assertEquals(MlpShape.of(1, 8, 8), m.shape());
        }
    }

    @Test
    void twoRunsWriteTheSameBytes() throws IOException {
        for (String batch : new String[]{"full", "16"}) {
            Path a = dir.resolve("a" + batch + ".npz"), b = dir.resolve("b" + batch + ".npz");
            assertEquals(0, train(a, "--batch", batch, "--seed", "3", "--weight-decay", "1e-4", "--mass", "full").exit);
            assertEquals(0, train(b, "--batch", batch, "--seed", "3", "--weight-decay", "1e-4", "--mass", "full").exit);
            assertEquals(-1, Files.mismatch(a, b), "batch " + batch);
        }
        Path c = dir.resolve("c.npz"), d = dir.resolve("d.npz");
        assertEquals(0, train(c, "--batch", "16", "--seed", "3", "--threads", "2").exit);
        assertEquals(0, train(d, "--batch", "16", "--seed", "3", "--threads", "2").exit);
        assertEquals(-1, Files.mismatch(c, d), "two shards");
        Path other = dir.resolve("other.npz");
        assertEquals(0, train(other, "--batch", "16", "--seed", "4", "--weight-decay", "1e-4", "--mass", "full").exit);
        assertNotEquals(-1, Files.mismatch(dir.resolve("a16.npz"), other), "another seed, another model");
    }

    @Test
    void csvDataGiveTheirTimeStep() throws IOException {
        Path csv = dir.resolve("data.csv");
        StringBuilder s = new StringBuilder("trajectory,time,q0\n");
        for (int b = 0; b < TRAJ; b++) {
            for (int n = 0; n < POINTS; n++) s.append(String.format(Locale.ROOT, "%d,%.17g,%.17g%n", b, n * 0.25, q[b * POINTS + n]));
        }
        Files.writeString(csv, s);
        Result r = run("train", "--data", csv.toString(), "--scheme", "leapfrog", "--out", out.toString(), "--hidden", "8",
                "--steps", "5", "--threads", "1");
        assertEquals(0, r.exit, r.err);
        try (Model m = ModelFile.load(out, Blas.get())) {
            assertEquals(0.25, m.dt());
            assertEquals("leapfrog", m.scheme());
        }
    }

    @Test
    void initStartsFromAModelFile() throws IOException {
        Path init = dir.resolve("init.npz");
        assertEquals(0, train(init).exit);
        Path next = dir.resolve("next.npz");
        Result r = run("train", "--data", data.toString(), "--dt", Double.toString(DT), "--scheme", "euler", "--init",
                init.toString(), "--mass", "full", "--steps", "3", "--threads", "1", "--out", next.toString());
        assertEquals(0, r.exit, r.err);
        try (Model m = ModelFile.load(next, Blas.get())) {
            assertEquals(MlpShape.of(1, 8, 8), m.shape());
            assertEquals(MassMatrix.Kind.FULL, m.mass().kind());
            assertEquals("euler", m.scheme());
        }
    }

    // ------------------------------------------------------------------------------------------------- resume
    /** What a run of SMALL + extra killed at step 25 leaves behind: the checkpoint of step 20 (same model, options). */
    void killedRun(Path outFile, double lr) throws IOException {
        TrainingData td = new TrainingData(q.clone(), TRAJ, POINTS, 1, DT, "data.npy");
        Trainer.Options o = new Trainer.Options(Scheme.PROPOSED, 30, 16, lr, 1e-4, 3, 10);
        try (Model m = Model.create(MlpShape.of(1, 8, 8), MassMatrix.Kind.DIAGONAL, 3, Blas.get()); Trainer t = new Trainer(m, td, o)) {
            assertThrows(IllegalStateException.class, () -> t.train((s, l) -> {
                if (s == 25) throw new IllegalStateException("killed");
            }, Checkpoint.pathFor(outFile)));
        }
    }

    static final String[] RESUMABLE = {"--batch", "16", "--seed", "3", "--weight-decay", "1e-4", "--mass", "diagonal",
        "--checkpoint-every", "10"};

    @Test
    void resumeReachesTheUninterruptedModelAndDeletesTheCheckpoint() throws IOException {
        Path whole = dir.resolve("whole.npz");
        assertEquals(0, train(whole, RESUMABLE).exit);
        assertFalse(Files.exists(Checkpoint.pathFor(whole)), "checkpoint deleted after the final write");
        killedRun(out, 1e-3);
        assertTrue(Files.exists(Checkpoint.pathFor(out)));
        List<String> args = new ArrayList<>(List.of(RESUMABLE));
        args.add("--resume");
        Result r = train(out, args.toArray(String[]::new));
        assertEquals(0, r.exit, r.err);
        assertTrue(r.err.contains("at step 20"), r.err);
        assertEquals(-1, Files.mismatch(whole, out), "resumed == uninterrupted, byte for byte");
        assertFalse(Files.exists(Checkpoint.pathFor(out)));
    }

    @Test
    void resumeRefusesACheckpointOfOtherOptions() throws IOException {
        killedRun(out, 2e-3);
        List<String> args = new ArrayList<>(List.of(RESUMABLE));
        args.add("--resume");
        Result r = train(out, args.toArray(String[]::new));
        assertEquals(1, r.exit);
        assertTrue(r.error().contains("--lr") && r.error().contains("0.002") && r.error().contains("0.001"), r.error());
        assertFalse(Files.exists(out));
        assertTrue(Files.exists(Checkpoint.pathFor(out)), "a refused checkpoint is kept");
    }

    // --------------------------------------------------------------------------------------------- bad input
    /** Runs train with args, expects a failure with exit code `exit` naming `phrase`, and no output file. */
    void rejected(int exit, String phrase, String... args) {
        Result r = run(args);
        assertEquals(exit, r.exit, String.join(" ", args) + "\n" + r.err);
        String message = exit == 1 ? r.error() : r.err;
        assertTrue(message.contains(phrase), "expected '" + phrase + "' in: " + message);
        if (exit == 1) assertEquals(1, message.lines().count(), "one line: " + message);
        assertFalse(Files.exists(out), "no output file");
        assertFalse(Files.exists(Checkpoint.pathFor(out)), "no checkpoint");
    }

    String[] args(Path dataFile, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", dataFile.toString(), "--out", out.toString(), "--threads", "1"));
        a.addAll(List.of(extra));
        if (!a.contains("--hidden")) a.addAll(List.of("--hidden", "8"));
        if (!a.contains("--steps")) a.addAll(List.of("--steps", "2"));
        return a.toArray(String[]::new);
    }

    Path dataWith(String name, double[] values, int traj, int points) throws IOException {
        Path p = dir.resolve(name);
        Npy.write(p, NdArray.of(values, traj, points, 1));
        return p;
    }

    @Test
    void nonFiniteDataAreNamedByTrajectoryPointAndCoordinate() throws IOException {
        double[] bad = q.clone();
        bad[1 * POINTS + 4] = Double.NaN;
        rejected(1, "bad.npy: trajectory 1, point 4, coordinate 0 is NaN",
                args(dataWith("bad.npy", bad, TRAJ, POINTS), "--dt", "0.1", "--scheme", "proposed"));
        bad[1 * POINTS + 4] = 0;
        bad[2 * POINTS + 29] = Double.NEGATIVE_INFINITY;
        rejected(1, "trajectory 2, point 29, coordinate 0 is -Infinity",
                args(dataWith("inf.npy", bad, TRAJ, POINTS), "--dt", "0.1", "--scheme", "leapfrog"));
    }

    @Test
    void tooFewPointsForTheSchemeAreRejected() throws IOException {
        rejected(1, "2 points per trajectory; scheme proposed needs at least 3",
                args(dataWith("two.npy", new double[4], 2, 2), "--dt", "0.1", "--scheme", "proposed"));
        rejected(1, "scheme symplectic-euler needs at least 4",
                args(dataWith("three.npy", new double[6], 2, 3), "--dt", "0.1", "--scheme", "symplectic-euler"));
    }

    @Test
    void badTimeStepsAreRejected() {
        rejected(1, "--dt 0.0: must be > 0", args(data, "--dt", "0", "--scheme", "proposed"));
        rejected(1, "--dt -0.1: must be > 0", args(data, "--dt", "-0.1", "--scheme", "proposed"));
        rejected(1, "--dt NaN", args(data, "--dt", "NaN", "--scheme", "proposed"));
        rejected(1, "--dt is required", args(data, "--scheme", "proposed"));
    }

    @Test
    void anInitModelOfAnotherDimensionIsRejected() throws IOException {
        Path init = dir.resolve("d2.npz");
        try (Model m = Model.create(MlpShape.of(2, 8), MassMatrix.Kind.IDENTITY, 0, Blas.get())) {
            ModelFile.save(init, m);
        }
        rejected(1, "the model has d = 2, data.npy has d = 1", args(data, "--dt", "0.1", "--scheme", "proposed", "--init", init.toString()));
        rejected(1, "--init " + dir.resolve("none.npz") + ": no such file",
                args(data, "--dt", "0.1", "--scheme", "proposed", "--init", dir.resolve("none.npz").toString()));
    }

    @Test
    void unknownSchemesOptionsAndValuesAreRejected() {
        rejected(1, "unknown scheme 'rk4'", args(data, "--dt", "0.1", "--scheme", "rk4"));
        rejected(1, "unknown mass option 'heavy'", args(data, "--dt", "0.1", "--scheme", "proposed", "--mass", "heavy"));
        rejected(1, "--mass fixed", args(data, "--dt", "0.1", "--scheme", "proposed", "--mass", "fixed"));
        rejected(1, "--batch 0", args(data, "--dt", "0.1", "--scheme", "proposed", "--batch", "0"));
        rejected(1, "--batch most", args(data, "--dt", "0.1", "--scheme", "proposed", "--batch", "most"));
        rejected(1, "--hidden 8,0", args(data, "--dt", "0.1", "--scheme", "proposed", "--hidden", "8,0"));
        rejected(1, "--steps 0: must be >= 1", args(data, "--dt", "0.1", "--scheme", "proposed", "--steps", "0"));
        rejected(1, "--lr -1.0: must be > 0", args(data, "--dt", "0.1", "--scheme", "proposed", "--lr", "-1"));
        rejected(1, "--weight-decay -0.1: must be >= 0", args(data, "--dt", "0.1", "--scheme", "proposed", "--weight-decay", "-0.1"));
        rejected(1, "--checkpoint-every -1: must be >= 0", args(data, "--dt", "0.1", "--scheme", "proposed", "--checkpoint-every", "-1"));
        rejected(2, "Unknown options: '--epochs'", args(data, "--dt", "0.1", "--scheme", "proposed", "--epochs", "3"));
        rejected(2, "Missing required option: '--scheme=S'", args(data, "--dt", "0.1"));
    }

    @Test
    void missingFilesAreRejected() {
        rejected(1, "--data " + dir.resolve("nothing.npy") + ": no such file", args(dir.resolve("nothing.npy"), "--dt", "0.1", "--scheme", "proposed"));
        Path nowhere = dir.resolve("no-such-dir").resolve("m.npz");
        Result r = run("train", "--data", data.toString(), "--dt", "0.1", "--scheme", "proposed", "--out", nowhere.toString());
        assertEquals(1, r.exit);
        assertTrue(r.error().contains("does not exist"), r.error());
        rejected(1, "--resume: no checkpoint", args(data, "--dt", "0.1", "--scheme", "proposed", "--resume"));
    }
}
