package org.dtlm.rollout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.dtlm.io.NdArray;
import org.dtlm.io.NpzWriter;
import org.dtlm.solve.SolverStats;

/**
 * Streams a rollout to an {@code .npz} in constant memory (the output of {@code dtlm rollout}):
 * <ul>
 * <li>{@code q} (B, N, d), {@code v} (B, N, d), {@code p} (B, N, d), {@code energy} (B, N): points n = 0 .. N − 1 as
 *     {@link Stepper} aligns them (NaN where a scheme has no value or a trajectory failed);</li>
 * <li>per trajectory (B): {@code newton_iterations}, {@code krylov_iterations}, {@code residual_evaluations},
 *     {@code jacobian_products}, {@code backtracks} (zero for explicit schemes) and {@code failed_point} (the first
 *     position the trajectory could not compute, −1 if none);</li>
 * <li>{@code dt} (scalar) and {@code meta}: UTF-8 JSON as a uint8 array ({@code format}, {@code scheme},
 *     {@code points}, {@code failures}: one line per failed trajectory).</li>
 * </ul>
 * The points arrive in time order but the arrays are trajectory-major, so up to {@link #CHUNK_VALUES} values are
 * buffered and written as one contiguous run per trajectory into pre-sized temporary {@code .npy} files beside the
 * output, which {@link NpzWriter} then streams into the archive. The archive appears atomically, only when
 * everything succeeded; the temporary files are always removed.
 */
public final class RolloutFile {
    public static final String FORMAT = "dtlm-rollout/1";
    /** Values (of q, v, p and energy together) buffered before a write: 8 MiB. */
    static final int CHUNK_VALUES = 1 << 20;

    private RolloutFile() {
    }

    /**
     * Writes the points 0 .. points − 1 of a started stepper (its current point must be 0) to {@code out}.
     *
     * @param out    the archive, replaced atomically if it exists
     * @param points N ≥ 1
     */
    public static void write(Path out, Stepper stepper, int points) throws IOException {
        write(out, stepper, points, CHUNK_VALUES);
    }

    /** As {@link #write(Path, Stepper, int)}, buffering about {@code chunkValues} values (tests: many chunks). */
    static void write(Path out, Stepper stepper, int points, int chunkValues) throws IOException {
        if (stepper.point() != 0) {
            throw new IllegalStateException("the stepper is at point " + stepper.point() + ", not 0: start it first");
        }
        if (points < 1) throw new IllegalArgumentException("points must be >= 1, got " + points);
        int b = stepper.trajectories(), d = stepper.dimension();
        int chunk = (int) Math.max(1, Math.min(points, chunkValues / ((long) b * (3L * d + 1))));
        Path dir = out.toAbsolutePath().getParent();
        String base = "." + out.getFileName() + "." + Long.toHexString(System.nanoTime());
        List<Path> temps = new ArrayList<>();
        try (TrajectoryMajor q = new TrajectoryMajor(temp(dir, base + ".q.npy", temps), b, points, d, chunk);
             TrajectoryMajor v = new TrajectoryMajor(temp(dir, base + ".v.npy", temps), b, points, d, chunk);
             TrajectoryMajor p = new TrajectoryMajor(temp(dir, base + ".p.npy", temps), b, points, d, chunk);
             TrajectoryMajor e = new TrajectoryMajor(temp(dir, base + ".energy.npy", temps), b, points, 0, chunk)) {
            IOException[] failure = new IOException[1];
            PointObserver sink = (n, qn, vn, en) -> {
                try {
                    q.add(n, qn);
                    v.add(n, vn);
                    p.add(n, stepper.momenta());
                    e.add(n, en);
                } catch (IOException x) {
                    failure[0] = x;
                    throw new java.io.UncheckedIOException(x);
                }
            };
            try {
                stepper.observe(sink);
                stepper.advance(points - 1L, sink);
            } catch (java.io.UncheckedIOException x) {
                throw failure[0];
            }
            q.finish();
            v.finish();
            p.finish();
            e.finish();
            try (NpzWriter z = NpzWriter.create(out)) {
                z.putNpyFile("q", q.file);
                z.putNpyFile("v", v.file);
                z.putNpyFile("p", p.file);
                z.putNpyFile("energy", e.file);
                putStatistics(z, stepper);
                z.put("dt", NdArray.scalar(stepper.options().dt()));
                z.put("meta", NdArray.ofUtf8(meta(stepper, points)));
                z.commit();
            }
        } finally {
            for (Path t : temps) Files.deleteIfExists(t);
        }
    }

    private static Path temp(Path dir, String name, List<Path> temps) {
        Path p = dir.resolve(name);
        temps.add(p);
        return p;
    }

    private static void putStatistics(NpzWriter z, Stepper stepper) throws IOException {
        SolverStats s = stepper.statistics();
        int b = stepper.trajectories();
        double[] newton = new double[b], krylov = new double[b], residuals = new double[b], products = new double[b],
                backtracks = new double[b], failed = new double[b];
        java.util.Arrays.fill(failed, -1);
        for (int i = 0; i < b; i++) {
            newton[i] = s.newtonIterations(i);
            krylov[i] = s.krylovIterations(i);
            residuals[i] = s.residualEvaluations(i);
            products[i] = s.jacobianProducts(i);
            backtracks[i] = s.backtracks(i);
        }
        for (Failure f : stepper.failures()) failed[f.trajectory()] = f.point();
        z.put("newton_iterations", NdArray.of(newton, b));
        z.put("krylov_iterations", NdArray.of(krylov, b));
        z.put("residual_evaluations", NdArray.of(residuals, b));
        z.put("jacobian_products", NdArray.of(products, b));
        z.put("backtracks", NdArray.of(backtracks, b));
        z.put("failed_point", NdArray.of(failed, b));
    }

    private static String meta(Stepper stepper, int points) {
        StringBuilder failures = new StringBuilder();
        for (Failure f : stepper.failures()) {
            if (!failures.isEmpty()) failures.append(", ");
            failures.append('"').append(f.toString().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return String.format(Locale.ROOT, "{\"format\": \"%s\", \"scheme\": \"%s\", \"points\": %d, \"failures\": [%s]}",
                FORMAT, stepper.scheme().id(), points, failures);
    }

    /**
     * A float64 .npy of shape (B, N, d) (or (B, N) for width 0) filled from points in time order: a chunk of points
     * is buffered, then each trajectory's run of it goes to its place with one positional write.
     */
    private static final class TrajectoryMajor implements AutoCloseable {
        private final Path file;
        private final FileChannel channel;
        private final int trajectories, points, width, chunk;
        private final long header;
        private final double[] buffer; // (chunk, B, width)
        private final ByteBuffer run;  // one trajectory's run: (chunk, width) little-endian
        private long first;            // the point at the start of the buffer
        private int held;

        TrajectoryMajor(Path file, int trajectories, int points, int d, int chunk) throws IOException {
            this.file = file;
            this.trajectories = trajectories;
            this.points = points;
            this.width = Math.max(1, d);
            this.chunk = chunk;
            int[] shape = d == 0 ? new int[]{trajectories, points} : new int[]{trajectories, points, d};
            byte[] h = npyHeader(shape);
            this.header = h.length;
            this.channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.READ);
            channel.write(ByteBuffer.wrap(h), 0);
            this.buffer = new double[chunk * trajectories * width];
            this.run = ByteBuffer.allocateDirect(chunk * width * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        }

        void add(long n, double[] values) throws IOException {
            if (n != first + held) throw new IllegalStateException("point " + n + " out of order (expected " + (first + held) + ")");
            System.arraycopy(values, 0, buffer, held * trajectories * width, trajectories * width);
            if (++held == chunk) flush();
        }

        private void flush() throws IOException {
            for (int b = 0; b < trajectories; b++) {
                run.clear();
                for (int t = 0; t < held; t++) {
                    int at = (t * trajectories + b) * width;
                    for (int i = 0; i < width; i++) run.putDouble(buffer[at + i]);
                }
                run.flip();
                long position = header + ((long) b * points + first) * width * Double.BYTES;
                while (run.hasRemaining()) position += channel.write(run, position);
            }
            first += held;
            held = 0;
        }

        void finish() throws IOException {
            flush();
            if (first != points) throw new IllegalStateException(file + ": " + first + " of " + points + " points written");
            channel.force(false);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }

        /** A version 1.0 .npy header for '<f8' C-order data, padded as numpy pads it (data at a multiple of 64). */
        private static byte[] npyHeader(int[] shape) {
            StringBuilder dims = new StringBuilder("(");
            for (int i = 0; i < shape.length; i++) dims.append(shape[i]).append(shape.length == 1 || i < shape.length - 1 ? "," : "").append(i < shape.length - 1 ? " " : "");
            dims.append(')');
            String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': " + dims + ", }";
            int preamble = 10;
            int padding = Math.floorMod(-(preamble + dict.length() + 1), 64);
            byte[] text = (dict + " ".repeat(padding) + "\n").getBytes(StandardCharsets.US_ASCII);
            ByteBuffer h = ByteBuffer.allocate(preamble + text.length).order(ByteOrder.LITTLE_ENDIAN);
            h.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0)
                    .putShort((short) text.length).put(text);
            return h.array();
        }
    }
}
