package org.dtlm.experiment;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * results.json (every number, per trial, and the settings under {@code config}) and results.md (the poster's tables:
 * mean ± standard deviation over trials, tasks as columns, schemes as rows), both written atomically.
 */
final class Report {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Report() {
    }

    static void writeJson(Path file, JsonNode config, List<TrialResult> trials) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.set("config", config);
        ArrayNode arr = root.putArray("trials");
        for (TrialResult t : trials) {
            ObjectNode o = arr.addObject();
            o.put("task", t.task());
            o.put("trial", t.trial());
            o.put("scheme", t.scheme());
            putNumber(o, "position_mse", t.positionMse());
            putNumber(o, "energy_mse", t.energyMse());
            putNumber(o, "modeled_energy_variance", t.modeledEnergyVariance());
            o.put("failed_trajectories", t.failedTrajectories());
            o.put("train_seconds", t.trainSeconds());
            o.put("rollout_seconds", t.rolloutSeconds());
        }
        writeAtomically(file, JSON.writeValueAsString(root));
    }

    /** JSON has no NaN or infinity: a diverged rollout's score is written as null and read back as NaN. */
    private static void putNumber(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, v);
        else o.putNull(key);
    }

    static List<TrialResult> readTrials(Path file) throws IOException {
        List<TrialResult> out = new ArrayList<>();
        JsonNode root = JSON.readTree(file.toFile());
        for (JsonNode t : root.path("trials")) {
            out.add(new TrialResult(t.get("task").asText(), t.get("trial").asInt(), t.get("scheme").asText(),
                    number(t, "position_mse"), number(t, "energy_mse"), number(t, "modeled_energy_variance"),
                    t.path("failed_trajectories").asInt(0), number(t, "train_seconds"), number(t, "rollout_seconds")));
        }
        return out;
    }

    private static double number(JsonNode t, String key) {
        JsonNode v = t.get(key);
        return v == null || v.isNull() ? Double.NaN : v.asDouble();
    }

    static void writeMarkdown(Path file, String preamble, List<String> tasks, List<String> schemes, List<TrialResult> trials)
            throws IOException {
        StringBuilder md = new StringBuilder("# Results\n\n").append(preamble).append("\n\n");
        table(md, "Table 1a: position MSE", tasks, schemes, trials, TrialResult::positionMse);
        table(md, "Table 1b: true-energy MSE", tasks, schemes, trials, TrialResult::energyMse);
        table(md, "Table 2: variance of the modeled energy", tasks, schemes, trials, TrialResult::modeledEnergyVariance);
        writeAtomically(file, md.toString());
    }

    private static void table(StringBuilder md, String title, List<String> tasks, List<String> schemes,
                              List<TrialResult> trials, ToDoubleFunction<TrialResult> metric) {
        md.append("## ").append(title).append("\n\nmean ± standard deviation over trials; \"(k failed)\": k test trajectories "
                + "of these trials whose rollout stopped, left out of their trial's score\n\n| scheme |");
        tasks.forEach(t -> md.append(' ').append(t).append(" |"));
        md.append("\n|---|");
        tasks.forEach(t -> md.append("---|"));
        md.append('\n');
        for (String s : schemes) {
            md.append("| ").append(s).append(" |");
            for (String t : tasks) {
                List<TrialResult> cell = trials.stream().filter(r -> r.task().equals(t) && r.scheme().equals(s)).toList();
                int failed = cell.stream().mapToInt(TrialResult::failedTrajectories).sum();
                md.append(' ').append(meanStd(cell.stream().mapToDouble(metric).toArray()))
                        .append(failed > 0 ? " (" + failed + " failed)" : "").append(" |");
            }
            md.append('\n');
        }
        md.append('\n');
    }

    /** "m ± s (n)" in scientific notation; the sample standard deviation over n trials (0 for one trial). */
    static String meanStd(double[] v) {
        if (v.length == 0) return "–";
        double mean = 0;
        for (double x : v) mean += x;
        mean /= v.length;
        double var = 0;
        for (double x : v) var += (x - mean) * (x - mean);
        double std = v.length > 1 ? Math.sqrt(var / (v.length - 1)) : 0;
        return String.format(Locale.ROOT, "%.2e ± %.1e", mean, std);
    }

    static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
