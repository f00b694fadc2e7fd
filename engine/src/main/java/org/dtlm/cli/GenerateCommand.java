package org.dtlm.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.dtlm.data.Dataset;
import org.dtlm.data.Generator;
import org.dtlm.data.Task;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npy;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code dtlm generate}: the ground-truth data of one task and seed (SPEC §6) as a directory of {@code .npy} files
 * and a {@code meta.json} (data/README.md, "Generated data"). The files are written into a hidden sibling directory
 * that is renamed into place when complete, so DIR either holds a whole data set or is untouched.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate the ground-truth data of a task (SPEC §6) into a directory.",
                "Writes DIR/train.npy (noisy positions), test.npy (clean positions), test_velocities.npy and meta.json;",
                "DIR appears complete or not at all."})
final class GenerateCommand implements Callable<Integer> {
    static final String FORMAT = "dtlm-data/1";
    static final String TRAIN = "train.npy", TEST = "test.npy", TEST_VELOCITIES = "test_velocities.npy",
            META = "meta.json";
    /** The files a data directory holds: all that --force may replace. */
    static final List<String> FILES = List.of(TRAIN, TEST, TEST_VELOCITIES, META);
    /** Fewest points per trajectory: one triplet (q^{n-1}, q^n, q^{n+1}) for training and evaluation (SPEC §4, §6). */
    static final int MIN_POINTS = 3;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--task", required = true, paramLabel = "TASK", description = "mass-spring, pendulum or two-body (alias 2-body)")
    String task;

    @Option(names = "--seed", required = true, paramLabel = "K", description = "data seed (SPEC §6: trial k uses seed k)")
    long seed;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory (created if missing)")
    Path out;

    @Option(names = "--train", paramLabel = "N", description = "training trajectories (default: the task's, SPEC §6)")
    Integer train;

    @Option(names = "--test", paramLabel = "N", description = "test trajectories (default: the task's, SPEC §6)")
    Integer test;

    @Option(names = "--points", paramLabel = "T", description = "points per trajectory (default: the task's, SPEC §6)")
    Integer points;

    @Option(names = "--noise", paramLabel = "STD", description = "std of the noise on train.npy (default: the task's, SPEC §6)")
    Double noise;

    @Option(names = "--force", description = "replace DIR if it holds a previous output (nothing but train.npy, test.npy, test_velocities.npy, meta.json)")
    boolean force;

    @Option(names = "--threads", paramLabel = "N", description = "threads integrating trajectories (default: available cores, ${DEFAULT-VALUE})")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws IOException, InterruptedException {
        Task t = Task.parse(task);
        int nTrain = train == null ? t.trainTrajectories() : requireAtLeast(train, 1, "--train");
        int nTest = test == null ? t.testTrajectories() : requireAtLeast(test, 1, "--test");
        int nPoints = points == null ? t.points() : requireAtLeast(points, MIN_POINTS, "--points");
        double noiseStd = noise == null ? t.noiseStd() : noise;
        if (!(noiseStd >= 0) || !Double.isFinite(noiseStd)) {
            throw new IllegalArgumentException("--noise " + noise + ": must be finite and >= 0");
        }
        requireAtLeast(threads, 1, "--threads");
        Path dir = out.toAbsolutePath().normalize();
        if (Files.isSymbolicLink(dir) && Files.isDirectory(dir)) dir = dir.toRealPath(); // replace the directory, not the link
        boolean replace = checkTarget(dir);

        Dataset data = generate(t, nTrain, nTest, nPoints, noiseStd);
        Path staging = sibling(dir, "tmp");
        try {
            Files.createDirectories(dir.getParent());
            Files.createDirectory(staging);
        } catch (IOException e) {
            throw new IOException(out + ": cannot create a directory in " + dir.getParent() + " ("
                    + e.getClass().getSimpleName() + ")", e);
        }
        try {
            Npy.write(staging.resolve(TRAIN), NdArray.of(data.trainPositions(), data.trainShape()));
            Npy.write(staging.resolve(TEST), NdArray.of(data.testPositions(), data.testShape()));
            Npy.write(staging.resolve(TEST_VELOCITIES), NdArray.of(data.testVelocities(), data.testShape()));
            writeSynced(staging.resolve(META), (JSON.writeValueAsString(meta(data)) + "\n").getBytes(StandardCharsets.UTF_8));
            install(staging, dir, replace);
        } finally {
            deleteTree(staging);
        }
        System.err.println("dtlm: wrote " + dir + " (" + t.id() + ", seed " + seed + ": " + nTrain + " + " + nTest
                + " trajectories of " + nPoints + " points)");
        return 0;
    }

    private static int requireAtLeast(int value, int min, String option) {
        if (value < min) throw new IllegalArgumentException(option + " " + value + ": must be >= " + min);
        return value;
    }

    /**
     * Checks DIR before any work; returns whether it exists and is to be replaced. Refused: a non-directory, a
     * non-empty directory without --force, and with --force one holding anything but {@link #FILES}.
     */
    private boolean checkTarget(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return false;
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(out + ": exists and is not a directory (--out)");
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path e : entries) {
                String name = e.getFileName().toString();
                if (!force) {
                    throw new IllegalArgumentException(out + ": exists and is not empty (--force replaces a previous"
                            + " dtlm generate output)");
                }
                if (!FILES.contains(name) || !Files.isRegularFile(e, LinkOption.NOFOLLOW_LINKS)) {
                    throw new IllegalArgumentException(out + ": holds '" + name + "', which dtlm generate does not"
                            + " write; not replacing it even with --force");
                }
            }
        }
        return true;
    }

    /** The data set, its trajectories integrated in parallel on a pool of --threads threads. */
    private Dataset generate(Task t, int nTrain, int nTest, int nPoints, double noiseStd) throws InterruptedException {
        // A parallel stream started from a task of a ForkJoinPool runs on that pool instead of the common one.
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            return pool.submit(() -> Generator.generate(t, seed, nTrain, nTest, nPoints, noiseStd)).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private ObjectNode meta(Dataset data) {
        ObjectNode m = JSON.createObjectNode();
        Task t = data.task();
        int d = data.dimension();
        m.put("format", FORMAT);
        m.put("task", t.id());
        m.put("seed", data.seed());
        m.put("dt", data.dt());
        m.put("points", data.points());
        m.put("dimension", d);
        m.put("train_trajectories", data.trainTrajectories());
        m.put("test_trajectories", data.testTrajectories());
        m.put("noise_std", data.noiseStd());
        ArrayNode mass = m.putArray("true_mass");
        for (int i = 0; i < d; i++) {
            ArrayNode row = mass.addArray();
            for (int j = 0; j < d; j++) row.add(data.trueMass()[i * d + j]);
        }
        m.put("true_energy", t.energyName());
        ObjectNode gen = m.putObject("generator");
        gen.put("integrator", "DormandPrince853");
        gen.put("rtol", Generator.TOLERANCE);
        gen.put("atol", Generator.TOLERANCE);
        gen.put("random_algorithm", Generator.RANDOM_ALGORITHM);
        return m;
    }

    /** A hidden, unique sibling of dir: {@code .NAME.<random>.<suffix>}. */
    private static Path sibling(Path dir, String suffix) {
        return dir.resolveSibling("." + dir.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong())
                + "." + suffix);
    }

    private static void writeSynced(Path file, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
    }

    /**
     * Renames the complete staging directory to dir. An existing dir (checked to hold only our files, or nothing) is
     * first renamed aside and deleted after the swap, or renamed back if the swap fails.
     */
    private static void install(Path staging, Path dir, boolean replace) throws IOException {
        if (!replace) {
            Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        Path old = sibling(dir, "old");
        Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
        try {
            Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            Files.move(old, dir, StandardCopyOption.ATOMIC_MOVE);
            throw e;
        }
        deleteTree(old);
    }

    /** Deletes a flat directory of files (staging or the replaced output) if it exists. */
    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path e : entries) Files.delete(e);
        }
        Files.delete(dir);
    }
}
