package org.dtlm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import org.dtlm.blas.Blas;
import org.dtlm.io.ArrayChecks;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npy;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;
import org.dtlm.rollout.Failure;
import org.dtlm.rollout.RolloutFile;
import org.dtlm.rollout.Stepper;
import org.dtlm.rollout.StepperOptions;
import org.dtlm.scheme.Scheme;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code dtlm rollout}: predicts trajectories with one scheme (SPEC §3, §5) from their first observed positions and
 * streams them to an {@code .npz} ({@link RolloutFile}). Every input is read and checked before anything is computed;
 * the output appears atomically, so bad input or a failure leaves no output file. A trajectory whose solve fails is
 * not an input error: it is reported on stderr and in the output ({@code failed_point}), and the others go on.
 */
@Command(name = "rollout", mixinStandardHelpOptions = true,
        description = {"Roll trajectories out with a scheme: proposed (Eq. (1), Newton-Krylov), leapfrog, euler, "
                + "symplectic-euler.",
                "START (B, 3, d) holds the first three observed positions q^0, q^1, q^2 of each trajectory: position "
                        + "schemes start from q^0, q^1; velocity schemes from q^1 and (q^2 - q^0)/(2 dt).",
                "Writes OUT.npz with q, v, p (B, N, d) and energy (B, N) at the points n = 0 .. N-1, the solver's "
                        + "counters per trajectory, failed_point, dt and meta."})
final class RolloutCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "MODEL.npz", description = "model file (data/README.md)")
    Path model;

    @Option(names = "--scheme", required = true, paramLabel = "S",
            description = "proposed, leapfrog, euler or symplectic-euler")
    String scheme;

    @Option(names = "--start", required = true, paramLabel = "START.npy", description = "float64 (B, 3, d)")
    Path start;

    @Option(names = "--steps", required = true, paramLabel = "N", description = "points per trajectory, q^0 included")
    int steps;

    @Option(names = "--dt", paramLabel = "DT", description = "time step (default: the dt in the model's meta)")
    Double dt;

    @Option(names = "--out", required = true, paramLabel = "OUT.npz", description = "output archive (replaced if it exists)")
    Path out;

    @Mixin
    BlasThreads threads;

    @Override
    public Integer call() throws IOException {
        Scheme s = Scheme.parse(scheme);
        if (steps < 1) throw new IllegalArgumentException("--steps " + steps + ": must be >= 1");
        if (dt != null && !(dt > 0 && dt < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("--dt " + dt + ": must be positive and finite");
        }
        requireFile(model, "--model");
        requireFile(start, "--start");
        requireOutput(out, "--out");
        Blas blas = threads.apply();
        try (Model m = ModelFile.load(model, blas)) {
            double step = dt != null ? dt : m.dt();
            if (!(step > 0 && step < Double.POSITIVE_INFINITY)) {
                throw new IllegalArgumentException(model + ": no dt in the model's meta (" + m.dt() + "): give --dt");
            }
            NdArray positions = Npy.read(start);
            int d = m.dimension();
            if (positions.dtype() != NdArray.Dtype.FLOAT64 || positions.rank() != 3 || positions.dim(1) != 3
                    || positions.dim(2) != d || positions.dim(0) < 1) {
                throw new IllegalArgumentException(start + ": " + positions + ", expected float64 (B, 3, " + d
                        + ") for a model of dimension d = " + d);
            }
            ArrayChecks.requireFinite(positions, start.toString());
            int trajectories = positions.dim(0);
            try (Stepper stepper = new Stepper(m, s, trajectories, StepperOptions.of(step))) {
                stepper.start(positions.data());
                RolloutFile.write(out, stepper, steps);
                report(stepper.failures(), trajectories);
            }
        }
        return 0;
    }

    private static void report(List<Failure> failures, int trajectories) {
        for (Failure f : failures) System.err.println("dtlm rollout: " + f);
        if (!failures.isEmpty()) {
            System.err.println("dtlm rollout: " + failures.size() + " of " + trajectories
                    + " trajectories failed (NaN from their failed_point on); the others are complete");
        }
    }

    /** An existing regular file; the message names the file and the option. */
    private static void requireFile(Path file, String option) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no such file (" + option + ")");
        if (!Files.isReadable(file)) throw new IllegalArgumentException(file + ": not readable (" + option + ")");
    }

    /** A file path that can be created: not a directory, in an existing directory. */
    private static void requireOutput(Path file, String option) {
        if (Files.isDirectory(file)) throw new IllegalArgumentException(file + ": is a directory (" + option + ")");
        Path parent = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            throw new IllegalArgumentException(file + ": directory " + parent + " does not exist (" + option + ")");
        }
    }
}
