package org.dtlm.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import java.util.stream.Stream;

import org.dtlm.blas.Blas;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npy;
import org.dtlm.io.Npz;
import org.dtlm.nn.Init;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.Parameters;
import org.dtlm.nn.Workspace;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code dtlm eval} through {@link Main#run}: values against direct {@link org.dtlm.nn.Mlp} calls and central differences, bad inputs. */
class EvalCommandTest {
    /** Central differences of V with step FD_STEP: relative error with an absolute floor (as MlpTest). */
    static final double FD_STEP = 1e-5, FD_REL = 1e-6, FD_ABS = 1e-8;
    /** The same sums from a forward pass of another batch size (GEMM blocking may differ): a few roundings. */
    static final double SAME_SUMS_REL = 1e-13;

    static final int D = 3;
    private static final MlpShape SHAPE = MlpShape.of(D, 7, 5);

    @TempDir
    Path dir;
    private Path modelFile;
    private Model model;
    private final Arena arena = Arena.ofConfined();

    @BeforeEach
    void saveModel() throws IOException {
        model = Model.create(SHAPE, MassMatrix.Kind.IDENTITY, 21, Blas.get());
        Parameters p = model.parameters();
        RandomGenerator rng = Init.random(22);
        // non-zero biases and larger weights, so that every layer matters
        for (long i = 0; i < p.layout().potentialSize(); i++) p.set(i, 1.5 * p.get(i) + 0.2 * rng.nextGaussian());
        modelFile = dir.resolve("model.npz");
        ModelFile.save(modelFile, model);
    }

    @AfterEach
    void close() {
        model.close();
        arena.close();
    }

    private Path npy(String name, double[] data, int... shape) throws IOException {
        Path f = dir.resolve(name);
        Npy.write(f, NdArray.of(data, shape));
        return f;
    }

    private static double[] gaussian(long seed, int n) {
        RandomGenerator rng = Init.random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rng.nextGaussian();
        return v;
    }

    private Map<String, NdArray> eval(Path x, Path y) throws IOException {
        Path out = dir.resolve("out.npz");
        CliRun r = y == null
                ? CliRun.of("eval", "--model", modelFile.toString(), "--x", x.toString(), "--out", out.toString(), "--threads", "1")
                : CliRun.of("eval", "--model", modelFile.toString(), "--x", x.toString(), "--y", y.toString(),
                "--out", out.toString(), "--threads", "1");
        assertEquals(0, r.exit(), r.err());
        return Npz.read(out);
    }

    private MemorySegment seg(double[] v) {
        MemorySegment s = arena.allocate(JAVA_DOUBLE, Math.max(1, v.length));
        MemorySegment.copy(v, 0, s, JAVA_DOUBLE, 0, v.length);
        return s;
    }

    private static double[] arr(MemorySegment s, int n) {
        return s.asSlice(0, (long) n * Double.BYTES).toArray(JAVA_DOUBLE);
    }

    @Test
    void matchesDirectMlpCalls() throws IOException {
        int b = 11;
        double[] x = gaussian(1, b * D), y = gaussian(2, b * D);
        Map<String, NdArray> z = eval(npy("x.npy", x, b, D), npy("y.npy", y, b, D));
        assertEquals(List.of("V", "gradV", "DG"), List.copyOf(z.keySet()));
        assertArrayEquals(new int[]{b}, z.get("V").shape());
        assertArrayEquals(new int[]{b, D}, z.get("gradV").shape());
        assertArrayEquals(new int[]{b, D}, z.get("DG").shape());

        // V and grad V from a forward pass of X alone
        try (Workspace w = new Workspace(SHAPE, b, b)) {
            model.mlp().forward(w, model.parameters(), seg(x), 0, b);
            MemorySegment g = arena.allocate(JAVA_DOUBLE, b * D);
            model.mlp().gradient(w, model.parameters(), 0, b, g, 0, false);
            assertClose(arr(w.value(), b), z.get("V").data(), "V");
            assertClose(arr(g, b * D), z.get("gradV").data(), "gradV");
        }
        // DG from one forward pass of [X; Y], as the command does: the same calls, bit for bit
        double[] xy = new double[2 * b * D];
        System.arraycopy(x, 0, xy, 0, b * D);
        System.arraycopy(y, 0, xy, b * D, b * D);
        try (Workspace w = new Workspace(SHAPE, 2 * b, b)) {
            model.mlp().forward(w, model.parameters(), seg(xy), 0, 2 * b);
            MemorySegment g = arena.allocate(JAVA_DOUBLE, b * D);
            model.mlp().discreteGradient(w, model.parameters(), 0, b, b, g, 0, false);
            assertArrayEquals(arr(g, b * D), z.get("DG").data(), 0.0);
        }
        // and without --y: no DG, the same V and grad V
        Map<String, NdArray> only = eval(dir.resolve("x.npy"), null);
        assertEquals(List.of("V", "gradV"), List.copyOf(only.keySet()));
        assertClose(z.get("V").data(), only.get("V").data(), "V without --y");
        assertClose(z.get("gradV").data(), only.get("gradV").data(), "gradV without --y");
    }

    private static void assertClose(double[] want, double[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], SAME_SUMS_REL * Math.abs(want[i]) + Double.MIN_NORMAL, what + "[" + i + "]");
        }
    }

    @Test
    void gradientMatchesCentralDifferencesOfV() throws IOException {
        // rows: for each of two points x, then x +- FD_STEP e_i for each coordinate i
        double[] base = gaussian(3, 2 * D);
        int perPoint = 1 + 2 * D;
        double[] x = new double[2 * perPoint * D];
        for (int pt = 0; pt < 2; pt++) {
            for (int r = 0; r < perPoint; r++) {
                System.arraycopy(base, pt * D, x, (pt * perPoint + r) * D, D);
                if (r > 0) x[(pt * perPoint + r) * D + (r - 1) / 2] += (r % 2 == 1 ? FD_STEP : -FD_STEP);
            }
        }
        Map<String, NdArray> z = eval(npy("x.npy", x, 2 * perPoint, D), null);
        double[] v = z.get("V").data(), g = z.get("gradV").data();
        for (int pt = 0; pt < 2; pt++) {
            int row = pt * perPoint;
            for (int i = 0; i < D; i++) {
                double fd = (v[row + 1 + 2 * i] - v[row + 2 + 2 * i]) / (2 * FD_STEP);
                double an = g[row * D + i];
                assertEquals(fd, an, FD_REL * Math.abs(fd) + FD_ABS, "point " + pt + ", dV/dx" + i);
            }
        }
    }

    /**
     * SPEC §2 (ii) through the command, with a partial last chunk. Relies on the ADD factor of equal pre-activations
     * being exactly the sech^2 factor of grad V (TanhKernels), whatever the rows' places in the stacked pass.
     */
    @Test
    void discreteGradientOfEqualPointsIsGradVBitForBitAcrossChunks() throws IOException {
        int b = EvalCommand.CHUNK_ROWS + 37; // a full chunk and a partial one
        double[] x = gaussian(4, b * D);
        Path xf = npy("x.npy", x, b, D);
        Map<String, NdArray> z = eval(xf, xf);
        assertArrayEquals(z.get("gradV").data(), z.get("DG").data(), 0.0);
        // the rows of the second chunk against a direct evaluation of just those rows
        int tail = 37, from = EvalCommand.CHUNK_ROWS;
        try (Workspace w = new Workspace(SHAPE, tail, tail)) {
            model.mlp().forward(w, model.parameters(), seg(Arrays.copyOfRange(x, from * D, b * D)), 0, tail);
            MemorySegment g = arena.allocate(JAVA_DOUBLE, tail * D);
            model.mlp().gradient(w, model.parameters(), 0, tail, g, 0, false);
            assertClose(arr(w.value(), tail), Arrays.copyOfRange(z.get("V").data(), from, b), "V of the last chunk");
            assertClose(arr(g, tail * D), Arrays.copyOfRange(z.get("gradV").data(), from * D, b * D), "gradV of the last chunk");
        }
    }

    @Test
    void discreteGradientSatisfiesTheEnergyIdentity() throws IOException {
        // SPEC §2 (i): DG(x, y) . (x - y) = V(x) - V(y); loosely here (MlpTest checks it to 2 ulps of its scale)
        int b = 20;
        double[] x = gaussian(5, b * D), y = gaussian(6, b * D);
        Map<String, NdArray> z = eval(npy("x.npy", x, b, D), npy("y.npy", y, b, D));
        Map<String, NdArray> zy = eval(dir.resolve("y.npy"), null);
        double[] vx = z.get("V").data(), vy = zy.get("V").data(), dg = z.get("DG").data();
        for (int i = 0; i < b; i++) {
            double lhs = 0;
            for (int k = 0; k < D; k++) lhs += dg[i * D + k] * (x[i * D + k] - y[i * D + k]);
            assertEquals(vx[i] - vy[i], lhs, 1e-12 * (Math.abs(vx[i]) + Math.abs(vy[i]) + 1), "pair " + i);
        }
    }

    @Test
    void emptyInputGivesEmptyOutputs() throws IOException {
        Path x = npy("x.npy", new double[0], 0, D);
        Map<String, NdArray> z = eval(x, x);
        assertArrayEquals(new int[]{0}, z.get("V").shape());
        assertArrayEquals(new int[]{0, D}, z.get("gradV").shape());
        assertArrayEquals(new int[]{0, D}, z.get("DG").shape());
    }

    // ------------------------------------------------------------------------------------------------ bad input
    /** Runs eval expecting failure: non-zero exit, one error line naming {@code named}, and no output (nor temporary) file. */
    private void assertRefused(String named, String... args) throws IOException {
        List<String> before;
        try (Stream<Path> s = Files.list(dir)) {
            before = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        Path out = dir.resolve("out.npz");
        String[] all = Stream.concat(Stream.of("eval", "--model", modelFile.toString(), "--out", out.toString()),
                Stream.of(args)).toArray(String[]::new);
        CliRun r = CliRun.of(all);
        assertNotEquals(0, r.exit(), r.err());
        assertFalse(Files.exists(out), "no output after: " + r.err());
        List<String> after;
        try (Stream<Path> s = Files.list(dir)) {
            after = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(before, after, "no file created");
        String line = r.errorLines();
        assertEquals(1, line.lines().count(), "one line: " + r.err());
        assertTrue(line.startsWith("eval: ") && line.contains(named), "names " + named + ": " + line);
    }

    @Test
    void refusesMissingFiles() throws IOException {
        Path x = npy("x.npy", gaussian(7, 2 * D), 2, D);
        assertRefused("nothere.npy", "--x", dir.resolve("nothere.npy").toString());
        assertRefused("noy.npy", "--x", x.toString(), "--y", dir.resolve("noy.npy").toString());
        modelFile = dir.resolve("nomodel.npz");
        assertRefused("nomodel.npz", "--x", x.toString());
        Path noDir = dir.resolve("nodir").resolve("o.npz");
        CliRun r = CliRun.of("eval", "--model", dir.resolve("model.npz").toString(), "--x", x.toString(), "--out", noDir.toString());
        assertNotEquals(0, r.exit());
        assertTrue(r.errorLines().startsWith("eval: " + noDir), r.err());
        assertFalse(Files.exists(noDir.getParent()));
    }

    @Test
    void refusesWrongShapes() throws IOException {
        Path x = npy("x.npy", gaussian(8, 4 * D), 4, D);
        assertRefused("flat.npy", "--x", npy("flat.npy", gaussian(9, 4), 4).toString());
        assertRefused("cube.npy", "--x", npy("cube.npy", gaussian(10, 2 * 2 * D), 2, 2, D).toString());
        assertRefused("d2.npy", "--x", npy("d2.npy", gaussian(11, 4 * 2), 4, 2).toString());
        assertRefused("y3.npy", "--x", x.toString(), "--y", npy("y3.npy", gaussian(12, 3 * D), 3, D).toString());
        assertRefused("yd.npy", "--x", x.toString(), "--y", npy("yd.npy", gaussian(13, 4 * (D + 1)), 4, D + 1).toString());
    }

    @Test
    void refusesNonFiniteValues() throws IOException {
        double[] bad = gaussian(14, 4 * D);
        bad[5] = Double.NaN;
        assertRefused("nan.npy", "--x", npy("nan.npy", bad, 4, D).toString());
        double[] inf = gaussian(15, 4 * D);
        inf[2] = Double.NEGATIVE_INFINITY;
        Path x = npy("x.npy", gaussian(16, 4 * D), 4, D);
        assertRefused("inf.npy", "--x", x.toString(), "--y", npy("inf.npy", inf, 4, D).toString());
    }

    @Test
    void refusesCorruptFiles() throws IOException {
        Path x = npy("x.npy", gaussian(17, 2 * D), 2, D);
        byte[] good = Files.readAllBytes(modelFile);
        // a truncated archive
        Files.write(modelFile, Arrays.copyOf(good, good.length / 2));
        assertRefused("model.npz", "--x", x.toString());
        // a flipped byte inside the first entry's data (fails its CRC)
        byte[] flipped = good.clone();
        flipped[200] ^= 0x5a;
        Files.write(modelFile, flipped);
        assertRefused("model.npz", "--x", x.toString());
        Files.write(modelFile, good);
        // a .npy that is not one
        Path junk = dir.resolve("junk.npy");
        Files.writeString(junk, "not numpy");
        assertRefused("junk.npy", "--x", junk.toString());
    }
}
