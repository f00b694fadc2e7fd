package org.dtlm.rollout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.dtlm.io.NdArray;
import org.dtlm.io.Npz;
import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The streamed, trajectory-major archive of a rollout equals the in-memory rollout, whatever the chunking. */
class RolloutFileTest {
    @TempDir
    Path dir;

    @Test
    void theArchiveHoldsTheRolloutTrajectoryMajorWhateverTheChunks() throws IOException {
        int d = 2, trajectories = 3, points = 50;
        double[] starts = TestModels.bowlStarts(trajectories, d, 4);
        try (Model model = TestModels.bowl(d, 2)) {
            StepperOptions options = StepperOptions.of(TestModels.BOWL_DT);
            for (Scheme scheme : new Scheme[]{Scheme.PROPOSED, Scheme.SYMPLECTIC_EULER}) {
                RolloutResult want = Rollouts.run(model, scheme, starts, points, options);
                // 7 points per chunk: 7 full chunks and a partial one; and everything in one chunk
                for (int chunkValues : new int[]{7 * trajectories * (3 * d + 1), RolloutFile.CHUNK_VALUES}) {
                    Path out = dir.resolve(scheme.id() + chunkValues + ".npz");
                    try (Stepper s = new Stepper(model, scheme, trajectories, options)) {
                        s.start(starts);
                        RolloutFile.write(out, s, points, chunkValues);
                    }
                    Map<String, NdArray> z = Npz.read(out);
                    assertArrayEquals(new int[]{trajectories, points, d}, z.get("q").shape());
                    assertArrayEquals(new int[]{trajectories, points}, z.get("energy").shape());
                    assertBitEqual(want.q(), z.get("q").data(), "q");
                    assertBitEqual(want.v(), z.get("v").data(), "v");
                    assertBitEqual(want.p(), z.get("p").data(), "p");
                    assertBitEqual(want.energy(), z.get("energy").data(), "energy");
                    for (int b = 0; b < trajectories; b++) {
                        assertEquals(want.statistics().newtonIterations(b), z.get("newton_iterations").data()[b]);
                        assertEquals(want.statistics().krylovIterations(b), z.get("krylov_iterations").data()[b]);
                        assertEquals(want.statistics().residualEvaluations(b), z.get("residual_evaluations").data()[b]);
                        assertEquals(-1.0, z.get("failed_point").data()[b]);
                    }
                    assertEquals(TestModels.BOWL_DT, z.get("dt").data()[0]);
                    String meta = z.get("meta").decodeUtf8();
                    assertTrue(meta.contains("\"scheme\": \"" + scheme.id() + "\"") && meta.contains("\"points\": 50"), meta);
                }
            }
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(4, files.count(), "four archives and no temporary file left");
            }
        }
    }

    @Test
    void anUnstartedStepperWritesNothing() throws IOException {
        try (Model model = TestModels.bowl(1, 2); Stepper s = new Stepper(model, Scheme.LEAPFROG, 1, StepperOptions.of(0.1))) {
            Path out = dir.resolve("out.npz");
            assertThrows(IllegalStateException.class, () -> RolloutFile.write(out, s, 10));
            s.start(new double[]{0.1, 0.2, 0.3});
            s.advance();
            assertThrows(IllegalStateException.class, () -> RolloutFile.write(out, s, 10));
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(), files.toList());
            }
        }
        assertFalse(Files.exists(dir.resolve("out.npz")));
    }

    private static void assertBitEqual(double[] want, double[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            assertEquals(Double.doubleToRawLongBits(want[i]), Double.doubleToRawLongBits(got[i]), what + "[" + i + "]");
        }
    }
}
