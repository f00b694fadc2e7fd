package org.dtlm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.dtlm.data.Dataset;
import org.dtlm.data.Generator;
import org.dtlm.data.Task;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code dtlm generate} through {@link Main#run}, with reduced sizes. */
class GenerateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int TRAIN = 3, TEST = 2, POINTS = 7;

    @TempDir
    Path dir;

    private CliRun generate(String task, long seed, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("generate", "--task", task, "--seed", Long.toString(seed),
                "--out", out.toString(), "--train", "" + TRAIN, "--test", "" + TEST, "--points", "" + POINTS));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesTheFilesWithTheirShapesAndMeta() throws IOException {
        Path out = dir.resolve("sub").resolve("ms");
        CliRun r = generate("mass-spring", 4, out);
        assertEquals(0, r.exit(), r.err());
        assertEquals(List.of("meta.json", "test.npy", "test_velocities.npy", "train.npy"), names(out));
        assertEquals(List.of("ms"), names(dir.resolve("sub")), "no staging directory left behind");

        NdArray train = Npy.read(out.resolve("train.npy")), test = Npy.read(out.resolve("test.npy")),
                vel = Npy.read(out.resolve("test_velocities.npy"));
        assertArrayEquals(new int[]{TRAIN, POINTS, 1}, train.shape());
        assertArrayEquals(new int[]{TEST, POINTS, 1}, test.shape());
        assertArrayEquals(new int[]{TEST, POINTS, 1}, vel.shape());
        // the generator's arrays themselves
        Dataset want = Generator.generate(Task.MASS_SPRING, 4, TRAIN, TEST, POINTS);
        assertArrayEquals(want.trainPositions(), train.data(), 0.0);
        assertArrayEquals(want.testPositions(), test.data(), 0.0);
        assertArrayEquals(want.testVelocities(), vel.data(), 0.0);

        JsonNode m = JSON.readTree(out.resolve("meta.json").toFile());
        assertEquals(GenerateCommand.FORMAT, m.get("format").asText());
        assertEquals("mass-spring", m.get("task").asText());
        assertEquals(4, m.get("seed").asLong());
        assertEquals(Task.MASS_SPRING.dt(), m.get("dt").asDouble(), 0.0);
        assertEquals(POINTS, m.get("points").asInt());
        assertEquals(1, m.get("dimension").asInt());
        assertEquals(TRAIN, m.get("train_trajectories").asInt());
        assertEquals(TEST, m.get("test_trajectories").asInt());
        assertEquals(0.1, m.get("noise_std").asDouble(), 0.0);
        assertEquals(0.5, m.get("true_mass").get(0).get(0).asDouble(), 0.0);
        assertEquals(Task.MASS_SPRING.energyName(), m.get("true_energy").asText());
        JsonNode g = m.get("generator");
        assertEquals(Generator.TOLERANCE, g.get("rtol").asDouble(), 0.0);
        assertEquals(Generator.TOLERANCE, g.get("atol").asDouble(), 0.0);
        assertEquals(Generator.RANDOM_ALGORITHM, g.get("random_algorithm").asText());
        assertEquals("DormandPrince853", g.get("integrator").asText());
    }

    @Test
    void twoBodyHasFourCoordinatesAndNoNoise() throws IOException {
        Path out = dir.resolve("tb");
        CliRun r = generate("2-body", 1, out);
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(new int[]{TRAIN, POINTS, 4}, Npy.read(out.resolve("train.npy")).shape());
        assertArrayEquals(new int[]{TEST, POINTS, 4}, Npy.read(out.resolve("test_velocities.npy")).shape());
        JsonNode m = JSON.readTree(out.resolve("meta.json").toFile());
        assertEquals("two-body", m.get("task").asText());
        assertEquals(0.0, m.get("noise_std").asDouble(), 0.0);
        JsonNode mass = m.get("true_mass");
        assertEquals(4, mass.size());
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) assertEquals(i == j ? 1.0 : 0.0, mass.get(i).get(j).asDouble(), 0.0);
        }
    }

    @Test
    void sameSeedGivesIdenticalBytesWhateverTheThreads() throws IOException {
        Path a = dir.resolve("a"), b = dir.resolve("b"), c = dir.resolve("c");
        assertEquals(0, generate("pendulum", 7, a, "--threads", "1").exit());
        assertEquals(0, generate("pendulum", 7, b, "--threads", "2").exit());
        assertEquals(0, generate("pendulum", 8, c).exit());
        for (String f : GenerateCommand.FILES) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
        }
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(a.resolve("train.npy")), Files.readAllBytes(c.resolve("train.npy"))),
                "another seed, other data");
    }

    @Test
    void noiseOptionChangesOnlyTheTrainingNoise() throws IOException {
        Path a = dir.resolve("a"), b = dir.resolve("b");
        assertEquals(0, generate("mass-spring", 2, a, "--noise", "0").exit());
        assertEquals(0, generate("mass-spring", 2, b).exit());
        Dataset clean = Generator.generate(Task.MASS_SPRING, 2, TRAIN, TEST, POINTS);
        assertArrayEquals(clean.trainPositionsClean(), Npy.read(a.resolve("train.npy")).data(), 0.0);
        assertArrayEquals(Files.readAllBytes(a.resolve("test.npy")), Files.readAllBytes(b.resolve("test.npy")));
        assertEquals(0.0, JSON.readTree(a.resolve("meta.json").toFile()).get("noise_std").asDouble(), 0.0);
    }

    /** Non-zero exit, one error line containing {@code named}. */
    private static void assertRefused(CliRun r, String named) {
        assertNotEquals(0, r.exit(), r.err());
        String line = r.errorLines();
        assertEquals(1, line.lines().count(), "one line: " + r.err());
        assertTrue(line.startsWith("generate: ") && line.contains(named), "names " + named + ": " + line);
    }

    @Test
    void refusesUnknownTasksAndBadSizes() throws IOException {
        Path out = dir.resolve("x");
        assertRefused(generate("double-pendulum", 0, out), "double-pendulum");
        assertRefused(CliRun.of("generate", "--task", "pendulum", "--seed", "0", "--out", out.toString(), "--points", "2"), "--points 2");
        assertRefused(CliRun.of("generate", "--task", "pendulum", "--seed", "0", "--out", out.toString(), "--train", "0"), "--train 0");
        assertRefused(generate("pendulum", 0, out, "--noise", "-1"), "--noise -1");
        assertRefused(generate("pendulum", 0, out, "--threads", "0"), "--threads 0");
        assertEquals(List.of(), names(dir), "nothing created");
    }

    @Test
    void existingDirectories() throws IOException {
        Path out = dir.resolve("data");
        // an empty directory is filled
        Files.createDirectory(out);
        assertEquals(0, generate("pendulum", 1, out).exit());
        byte[] first = Files.readAllBytes(out.resolve("train.npy"));
        // a previous output is refused without --force and kept
        assertRefused(generate("pendulum", 2, out), "not empty");
        assertArrayEquals(first, Files.readAllBytes(out.resolve("train.npy")));
        // and replaced with it
        assertEquals(0, generate("pendulum", 2, out, "--force").exit());
        assertEquals(2, JSON.readTree(out.resolve("meta.json").toFile()).get("seed").asLong());
        assertFalse(java.util.Arrays.equals(first, Files.readAllBytes(out.resolve("train.npy"))));
        assertEquals(List.of("data"), names(dir), "no staging or old directory left behind");
        // a directory with anything else is never replaced
        Files.writeString(out.resolve("notes.txt"), "mine");
        assertRefused(generate("pendulum", 3, out, "--force"), "notes.txt");
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
        assertEquals(2, JSON.readTree(out.resolve("meta.json").toFile()).get("seed").asLong());
        // a symbolic link to a directory: the directory is filled, the link stays
        Path real = Files.createDirectory(dir.resolve("real")), link = Files.createSymbolicLink(dir.resolve("link"), real);
        assertEquals(0, generate("pendulum", 4, link).exit());
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(4, JSON.readTree(real.resolve("meta.json").toFile()).get("seed").asLong());
        assertEquals(List.of("data", "link", "real"), names(dir));
        // nor is a file
        Path file = dir.resolve("file");
        Files.writeString(file, "x");
        assertRefused(generate("pendulum", 3, file, "--force"), "not a directory");
        assertEquals(List.of("data", "file", "link", "real"), names(dir));
    }
}
