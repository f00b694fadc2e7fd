package org.dtlm.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.dtlm.io.NdArray;
import org.dtlm.io.Npz;
import org.dtlm.nn.Parameters;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;

/**
 * A training checkpoint: an {@code .npz} that is a model file (data/README.md; {@code dtlm} can load it as a model)
 * plus the Adam moments {@code adam_m}, {@code adam_v} (flat, in the parameter layout) and {@code checkpoint}, UTF-8
 * JSON as uint8: the format, the step count, the options, the model's shape and mass, and SHA-256 fingerprints of
 * the data and of the initial parameters. {@link #restore} refuses a checkpoint whose fingerprint differs from the
 * run's, naming what differs; a restored run continues bit for bit as the uninterrupted one. Written atomically.
 */
public final class Checkpoint {
    public static final String FORMAT = "dtlm-checkpoint/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoint() {
    }

    /** Where the checkpoints of a run writing {@code out} go: {@code NAME.npz} -> {@code NAME.ckpt.npz}. */
    public static Path pathFor(Path out) {
        String name = out.getFileName().toString();
        String stem = name.endsWith(".npz") ? name.substring(0, name.length() - ".npz".length()) : name;
        return out.resolveSibling(stem + ".ckpt.npz");
    }

    /** Writes the trainer's state to {@code file}, atomically. */
    public static void save(Path file, Trainer trainer) throws IOException {
        Model model = trainer.model();
        Path absolute = file.toAbsolutePath();
        Path modelArrays = Files.createTempFile(absolute.getParent(), "." + absolute.getFileName(), ".model.tmp");
        Map<String, NdArray> arrays;
        try {
            ModelFile.save(modelArrays, model);   // the model arrays exactly as a model file holds them
            arrays = new LinkedHashMap<>(Npz.read(modelArrays));
        } finally {
            Files.deleteIfExists(modelArrays);
        }
        double[] m = trainer.adam().firstMoment().toArray(), v = trainer.adam().secondMoment().toArray();
        arrays.put("adam_m", NdArray.of(m, m.length));
        arrays.put("adam_v", NdArray.of(v, v.length));
        ObjectNode meta = fingerprint(trainer);
        meta.put("step", trainer.completedSteps());
        arrays.put("checkpoint", NdArray.ofUtf8(meta.toString()));
        Npz.write(file, arrays);
    }

    /**
     * Continues the trainer from {@code file}: its model parameters, Adam moments and step count. Fails with an
     * {@link IllegalArgumentException} naming the first difference if the checkpoint was made from other data,
     * options or initial model.
     */
    public static void restore(Path file, Trainer trainer) throws IOException {
        String name = file.toString();
        if (!Files.exists(file)) throw new IllegalArgumentException("--resume: no checkpoint " + name + " to resume from");
        Map<String, NdArray> z = Npz.read(file);
        NdArray text = z.get("checkpoint");
        if (text == null) throw new IOException(name + ": not a checkpoint (no 'checkpoint' entry)");
        JsonNode saved;
        try {
            saved = JSON.readTree(text.decodeUtf8());
        } catch (RuntimeException | IOException e) {
            throw new IOException(name + ": checkpoint entry is not UTF-8 JSON: " + e.getMessage(), e);
        }
        if (!FORMAT.equals(saved.path("format").asText())) {
            throw new IOException(name + ": format '" + saved.path("format").asText() + "', expected " + FORMAT);
        }
        compare(name, saved, fingerprint(trainer));
        int step = saved.path("step").asInt(-1);
        if (step < 0) throw new IOException(name + ": checkpoint has no step count");
        long layout = trainer.model().parameters().layout().size();
        double[] m = flat(z, "adam_m", layout, name), v = flat(z, "adam_v", layout, name);
        double[] parameters;
        try (Model stored = ModelFile.load(file, trainer.model().mlp().blas())) {
            if (!stored.parameters().layout().equals(trainer.model().parameters().layout())) {
                throw new IOException(name + ": model layout " + stored.parameters().layout() + " differs from the run's "
                        + trainer.model().parameters().layout());
            }
            parameters = stored.parameters().toArray();
        }
        trainer.restore(step, parameters, m, v);
    }

    private static double[] flat(Map<String, NdArray> z, String entry, long size, String name) throws IOException {
        NdArray a = z.get(entry);
        if (a == null || a.rank() != 1 || a.size() != size) {
            throw new IOException(name + ": " + entry + " has shape " + (a == null ? "(missing)" : a.shapeString())
                    + ", expected (" + size + ",)");
        }
        return a.data();
    }

    /** What must agree between a checkpoint and the run that resumes it; keys are the CLI's option names. */
    private static ObjectNode fingerprint(Trainer trainer) {
        Trainer.Options o = trainer.options();
        Model model = trainer.model();
        ObjectNode meta = JSON.createObjectNode();
        meta.put("format", FORMAT);
        ObjectNode options = meta.putObject("options");
        options.put("scheme", o.scheme().id());
        options.put("steps", o.steps());
        options.put("batch", o.fullBatch() ? "full" : Integer.toString(o.batch()));
        options.put("lr", o.lr());
        options.put("weight-decay", o.weightDecay());
        options.put("seed", Long.toString(o.seed()));   // text: Jackson reads a small long back as an int node
        options.put("threads", trainer.workers());       // the batch's shards: the sums' order
        options.put("mass", model.mass().kind().id());
        ArrayNode hidden = options.putArray("hidden");
        for (int w : model.shape().widths()) hidden.add(w);
        TrainingData data = trainer.data();
        ObjectNode d = meta.putObject("data");
        d.put("shape", "(" + data.trajectories() + ", " + data.points() + ", " + data.d() + ")");
        d.put("dt", data.dt());
        d.put("sha256", data.sha256());
        meta.put("initial_parameters_sha256", trainer.initialSha256());
        return meta;
    }

    private static void compare(String name, JsonNode saved, ObjectNode now) {
        String restart = " (run without --resume to start over)";
        for (Iterator<Map.Entry<String, JsonNode>> it = now.path("options").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode was = saved.path("options").path(e.getKey());
            if (!e.getValue().equals(was)) {
                throw new IllegalArgumentException("--" + e.getKey() + ": checkpoint " + name + " was made with "
                        + shown(was) + ", this run has " + shown(e.getValue()) + restart);
            }
        }
        JsonNode data = saved.path("data"), dataNow = now.path("data");
        if (!dataNow.path("shape").equals(data.path("shape")) || !dataNow.path("dt").equals(data.path("dt"))) {
            throw new IllegalArgumentException("checkpoint " + name + " was made from data of shape " + shown(data.path("shape"))
                    + " and dt " + shown(data.path("dt")) + ", this run has " + shown(dataNow.path("shape")) + " and dt "
                    + shown(dataNow.path("dt")) + restart);
        }
        if (!dataNow.path("sha256").equals(data.path("sha256"))) {
            throw new IllegalArgumentException("checkpoint " + name + " was made from other data (the positions' SHA-256 differs)" + restart);
        }
        if (!now.path("initial_parameters_sha256").equals(saved.path("initial_parameters_sha256"))) {
            throw new IllegalArgumentException("checkpoint " + name + " was made from another initial model (--init or --seed)" + restart);
        }
    }

    private static String shown(JsonNode n) {
        return n.isMissingNode() ? "(nothing)" : n.isTextual() ? n.asText() : n.toString();
    }

    /** SHA-256 of every parameter's bits in layout order. */
    static String sha256(Parameters p) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
        double[] values = p.toArray();
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : values) bytes.putDouble(x);
        md.update(bytes.array());
        return HexFormat.of().formatHex(md.digest());
    }
}
