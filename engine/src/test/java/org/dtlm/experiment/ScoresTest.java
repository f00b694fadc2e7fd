package org.dtlm.experiment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scores of SPEC §6 leave out the trajectories whose rollout stopped, and the tables say how many there were. */
class ScoresTest {
    @TempDir
    Path dir;

    // Two trajectories of 4 points, d = 1; the second stopped at point 2 (NaN from there on).
    static final double[] TRUTH = {0, 1, 2, 3, 0, 1, 2, 3};
    static final double[] ROLLOUT = {0, 1, 2.5, 2, 0, 1, Double.NaN, Double.NaN};
    static final double[] ENERGY = {9, 9, 1, 3, 9, 9, Double.NaN, Double.NaN};

    @Test
    void failedTrajectoriesAreLeftOutOfEveryScore() {
        boolean[] scored = {true, false};
        // trajectory 0, points 2 and 3: errors 0.5 and -1
        assertEquals((0.25 + 1.0) / 2, Metrics.positionMse(ROLLOUT, TRUTH, scored, 4, 1, 2), 0.0);
        // energies 1 and 3 at points 2 and 3: population variance 1
        assertEquals(1.0, Metrics.modeledEnergyVariance(ENERGY, scored, 4, 2), 0.0);
        assertTrue(Double.isNaN(Metrics.positionMse(ROLLOUT, TRUTH, new boolean[] {true, true}, 4, 1, 2)),
                "a stopped trajectory scored would poison the mean");
        assertTrue(Double.isNaN(Metrics.positionMse(ROLLOUT, TRUTH, new boolean[] {false, false}, 4, 1, 2)),
                "no completed trajectory: no score");
    }

    @Test
    void failuresRoundTripThroughResultsJsonAndShowInTheTables() throws Exception {
        List<TrialResult> trials = List.of(
                new TrialResult("pendulum", 0, "proposed", 1.0, 2.0, 1e-28, 0, 3.0, 0.5),
                new TrialResult("pendulum", 1, "proposed", 3.0, 4.0, 3e-28, 2, 3.0, 0.5),
                new TrialResult("pendulum", 0, "leapfrog", 5.0, 6.0, 1e-3, 0, 3.0, 0.5));
        Path json = dir.resolve("results.json");
        Report.writeJson(json, new ObjectMapper().createObjectNode(), trials);
        assertEquals(trials, Report.readTrials(json));

        Path md = dir.resolve("results.md");
        Report.writeMarkdown(md, "preamble", List.of("pendulum"), List.of("leapfrog", "proposed"), trials);
        String text = Files.readString(md);
        assertTrue(text.contains("| proposed | 2.00e+00 ± 1.4e+00 (2 failed) |"), text);
        assertTrue(text.contains("| leapfrog | 5.00e+00 ± 0.0e+00 |"), text);
    }
}
