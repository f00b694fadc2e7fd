package org.dtlm.e2e;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.dtlm.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A reduced experiment (one trial, short training, small network) through the CLI, every scheme on every task. */
class ExperimentEndToEndTest {
    /** SPEC §3: Eq. (1) conserves its modeled energy to rounding; any drifting scheme is far above this. */
    static final double CONSERVED_VARIANCE = 1e-20;

    static final List<String> TASKS = List.of("mass-spring", "pendulum", "two-body");
    static final List<String> SCHEMES = List.of("euler", "symplectic-euler", "leapfrog", "proposed", "leapfrog+proposed");

    @TempDir
    Path dir;

    @Test
    void reducedExperimentWritesTablesFiguresAndConservesTheModeledEnergy() throws Exception {
        Path out = dir.resolve("exp");
        String[] args = {"experiment", "--trials", "1", "--steps", "40", "--hidden", "32,32", "--threads", "2",
                "--out", out.toString()};
        assertEquals(0, Main.run(args));

        JsonNode root = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertEquals(1, root.path("config").path("trials").asInt());
        JsonNode trials = root.path("trials");
        assertEquals(TASKS.size() * SCHEMES.size(), trials.size());
        Map<String, Double> variance = new HashMap<>();
        for (JsonNode t : trials) {
            for (String key : List.of("position_mse", "energy_mse", "modeled_energy_variance", "train_seconds", "rollout_seconds")) {
                assertTrue(t.path(key).isNumber() && Double.isFinite(t.path(key).asDouble()), t + ": " + key);
            }
            assertTrue(TASKS.contains(t.path("task").asText()) && SCHEMES.contains(t.path("scheme").asText()), t.toString());
            variance.put(t.path("task").asText() + "/" + t.path("scheme").asText(), t.path("modeled_energy_variance").asDouble());
        }
        for (String task : TASKS) {
            double proposed = variance.get(task + "/proposed"), leapfrog = variance.get(task + "/leapfrog");
            assertTrue(proposed < CONSERVED_VARIANCE, task + ": proposed modeled-energy variance " + proposed);
            assertTrue(leapfrog > CONSERVED_VARIANCE, task + ": leapfrog modeled-energy variance " + leapfrog);
        }

        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("Quick run"), "results.md says the run is reduced");
        for (String table : List.of("Table 1a: position MSE", "Table 1b: true-energy MSE", "Table 2: variance of the modeled energy")) {
            int at = md.indexOf(table);
            assertTrue(at >= 0, table);
            String section = md.substring(at);
            assertTrue(section.contains("| scheme | mass-spring | pendulum | two-body |"), table + " header");
            for (String s : SCHEMES) assertTrue(section.contains("| " + s + " | "), table + " row " + s);
        }
        for (String task : TASKS) {
            BufferedImage png = ImageIO.read(out.resolve("figure-" + task + ".png").toFile());
            assertNotNull(png, task + " figure is a PNG");
            assertTrue(png.getWidth() > 100 && png.getHeight() > 100);
        }

        // a rerun with the same --out finds every trial complete and changes nothing
        byte[] before = Files.readAllBytes(out.resolve("results.json"));
        assertEquals(0, Main.run(args));
        assertArrayEquals(before, Files.readAllBytes(out.resolve("results.json")));
    }

    @Test
    void badArgumentsFailWithoutOutput() {
        Path out = dir.resolve("bad");
        assertTrue(Main.run("experiment", "--tasks", "three-body", "--out", out.toString()) != 0);
        assertTrue(Main.run("experiment", "--trials", "0", "--out", out.toString()) != 0);
        assertTrue(Files.notExists(out));
    }
}
