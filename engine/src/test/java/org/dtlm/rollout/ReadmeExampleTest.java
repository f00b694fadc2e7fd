package org.dtlm.rollout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.dtlm.blas.Blas;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;
import org.dtlm.scheme.Scheme;
import org.junit.jupiter.api.Test;

/** The embedding example of the README ("Embedding"), verbatim between the markers: it must compile and run. */
class ReadmeExampleTest {
    /** The modeled energy of Eq. (1) printed with 12 decimals is constant (SPEC §3). */
    private static final double PRINTED_ENERGY_TOLERANCE = 1e-12;

    @Test
    void theReadmeExampleRollsOutAndConservesEnergy() throws IOException {
        Path modelFile = TestModels.fixture("rollout_mass_spring.npz");
        PrintStream saved = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            // README example begins
            try (Model model = ModelFile.load(modelFile, Blas.get());
                 Stepper stepper = new Stepper(model, Scheme.PROPOSED, 1, StepperOptions.of(model.dt()))) {
                stepper.start(new double[]{0.50, 0.48, 0.42});  // q^0, q^1, q^2 of one trajectory: (B, 3, d)
                stepper.observe((n, q, v, e) -> System.out.printf("%d %.6f %.12f%n", n, q[0], e[0]));
                stepper.advance(1000, (n, q, v, e) -> {
                    if (n % 100 == 0) System.out.printf("%d %.6f %.12f%n", n, q[0], e[0]);
                });
                System.out.println(stepper.statistics().totalNewtonIterations() + " Newton iterations, "
                        + stepper.failures().size() + " failures");
            }
            // README example ends
        } finally {
            System.setOut(saved);
        }
        List<String> lines = buffer.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(12, lines.size(), String.join("\n", lines));
        double e0 = Double.parseDouble(lines.getFirst().split(" ")[2]);
        for (String line : lines.subList(1, 11)) {
            assertEquals(e0, Double.parseDouble(line.split(" ")[2]), PRINTED_ENERGY_TOLERANCE, line);
        }
        assertTrue(lines.getLast().endsWith(" Newton iterations, 0 failures"), lines.getLast());
    }
}
