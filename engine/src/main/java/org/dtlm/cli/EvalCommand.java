package org.dtlm.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import org.dtlm.blas.Blas;
import org.dtlm.io.ArrayChecks;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npy;
import org.dtlm.io.Npz;
import org.dtlm.nn.Mlp;
import org.dtlm.nn.Parameters;
import org.dtlm.nn.Workspace;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * {@code dtlm eval}: V, grad V and, given pairs, the discrete gradient DG (SPEC §2) of a model at points from
 * {@code .npy} files, into one {@code .npz} (data/README.md, "dtlm eval output"). Every input is read and checked
 * before anything is computed; the output is written atomically, so a failure leaves no output file.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate a model's potential V, its gradient and (with --y) its discrete gradient DG(x, y).",
                "Writes OUT.npz with V (B,), gradV (B, d) and, with --y, DG (B, d)."})
final class EvalCommand implements Callable<Integer> {
    /** Rows per forward pass: bounds the workspace (about 2 x CHUNK_ROWS x 12 x H doubles with --y). */
    static final int CHUNK_ROWS = 4096;

    @Option(names = "--model", required = true, paramLabel = "MODEL.npz", description = "model file (data/README.md)")
    Path model;

    @Option(names = "--x", required = true, paramLabel = "X.npy", description = "points X, float64 (B, d)")
    Path x;

    @Option(names = "--y", paramLabel = "Y.npy", description = "second points Y, (B, d): adds DG(X_i, Y_i)")
    Path y;

    @Option(names = "--out", required = true, paramLabel = "OUT.npz", description = "output archive (replaced if it exists)")
    Path out;

    @Mixin
    BlasThreads threads;

    @Override
    public Integer call() throws IOException {
        requireFile(model, "--model");
        requireFile(x, "--x");
        if (y != null) requireFile(y, "--y");
        requireOutput(out, "--out");
        Blas blas = threads.apply();
        try (Model m = ModelFile.load(model, blas)) {
            int d = m.dimension();
            NdArray xs = Npy.read(x);
            requirePoints(xs, x, d);
            NdArray ys = null;
            if (y != null) {
                ys = Npy.read(y);
                requirePoints(ys, y, d);
                if (ys.dim(0) != xs.dim(0)) {
                    throw new IllegalArgumentException(y + ": shape " + ys.shapeString() + " differs from " + x
                            + "'s " + xs.shapeString() + " (pairs (X_i, Y_i) need equal shapes)");
                }
            }
            Map<String, NdArray> result = evaluate(m, xs.data(), ys == null ? null : ys.data(), xs.dim(0));
            Npz.write(out, result);
        }
        return 0;
    }

    /** An existing regular file; the message names the file and the option. */
    static void requireFile(Path file, String option) {
        if (!Files.exists(file)) throw new IllegalArgumentException(file + ": no such file (" + option + ")");
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": not a regular file (" + option + ")");
        if (!Files.isReadable(file)) throw new IllegalArgumentException(file + ": not readable (" + option + ")");
    }

    /** A file path that can be created: not a directory, in an existing directory. */
    static void requireOutput(Path file, String option) {
        if (Files.isDirectory(file)) throw new IllegalArgumentException(file + ": is a directory (" + option + ")");
        Path parent = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            throw new IllegalArgumentException(file + ": directory " + parent + " does not exist (" + option + ")");
        }
    }

    /** (B, d) float64 with the model's d, every value finite; messages name the file. */
    private static void requirePoints(NdArray a, Path file, int d) {
        if (a.rank() != 2 || a.dim(1) != d) {
            throw new IllegalArgumentException(file + ": shape " + a.shapeString() + ", expected (B, " + d
                    + ") for a model of dimension d = " + d);
        }
        if (a.dtype() != NdArray.Dtype.FLOAT64) {
            throw new IllegalArgumentException(file + ": dtype uint8, expected float64");
        }
        ArrayChecks.requireFinite(a, file.toString());
    }

    /**
     * V, gradV and (pairs != null) DG at rows of points: (rows, d), pairs: (rows, d) or null, neither modified.
     * Chunks of CHUNK_ROWS rows; with pairs, one forward pass of the stacked chunk [X; Y] serves all three outputs,
     * so DG(x, x) equals gradV(x) bit for bit (SPEC §2 (ii)).
     */
    static Map<String, NdArray> evaluate(Model m, double[] points, double[] pairs, int rows) {
        int d = m.dimension();
        double[] v = new double[rows], grad = new double[rows * d];
        double[] dg = pairs == null ? null : new double[rows * d];
        Mlp mlp = m.mlp();
        Parameters p = m.parameters();
        int chunk = Math.max(1, Math.min(CHUNK_ROWS, rows));
        int stack = pairs == null ? 1 : 2;
        try (Arena arena = Arena.ofConfined(); Workspace w = new Workspace(m.shape(), stack * chunk, chunk)) {
            // in: (stack * chunk, d), rows of X then (with pairs) rows of Y; g: (chunk, d)
            MemorySegment in = arena.allocate(JAVA_DOUBLE, (long) stack * chunk * d);
            MemorySegment g = arena.allocate(JAVA_DOUBLE, (long) chunk * d);
            for (int r0 = 0; r0 < rows; r0 += chunk) {
                int n = Math.min(chunk, rows - r0);
                int len = n * d;
                MemorySegment.copy(points, r0 * d, in, JAVA_DOUBLE, 0, len);
                if (pairs != null) MemorySegment.copy(pairs, r0 * d, in, JAVA_DOUBLE, (long) len * Double.BYTES, len);
                mlp.forward(w, p, in, 0, stack * n);
                MemorySegment.copy(w.value(), JAVA_DOUBLE, 0, v, r0, n);
                mlp.gradient(w, p, 0, n, g, 0, false);
                MemorySegment.copy(g, JAVA_DOUBLE, 0, grad, r0 * d, len);
                if (pairs != null) {
                    mlp.discreteGradient(w, p, 0, n, n, g, 0, false);
                    MemorySegment.copy(g, JAVA_DOUBLE, 0, dg, r0 * d, len);
                }
            }
        }
        Map<String, NdArray> result = new LinkedHashMap<>();
        result.put("V", NdArray.of(v, rows));
        result.put("gradV", NdArray.of(grad, rows, d));
        if (dg != null) result.put("DG", NdArray.of(dg, rows, d));
        return result;
    }
}
