package org.dtlm.potential;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.dtlm.blas.Blas;
import org.dtlm.io.ArrayChecks;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npz;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.ParameterLayout;

/**
 * Model files (data/README.md): an {@code .npz} with float64 {@code W1} .. {@code WL} (out x in; {@code WL} the 1 x H
 * output layer, {@code wL} accepted), {@code b1} .. {@code b(L-1)}, {@code Minv} (d x d), for a learned mass its raw
 * parameters {@code Mparams} (theta, or rho as d x d flattened), and {@code meta}, UTF-8 JSON as a uint8 array.
 * Saving then loading round-trips bit for bit.
 */
public final class ModelFile {
    public static final String FORMAT = "dtlm-model/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFile() {
    }

    /** Writes the model atomically. */
    public static void save(Path file, Model model) throws IOException {
        MlpShape shape = model.shape();
        ParameterLayout layout = model.parameters().layout();
        double[] all = model.parameters().toArray();
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        int layers = shape.layers();
        for (int k = 0; k < layers; k++) {
            int h = shape.width(k), f = shape.fanIn(k);
            arrays.put("W" + (k + 1), NdArray.of(slice(all, layout.weight(k), h * f), h, f));
            arrays.put("b" + (k + 1), NdArray.of(slice(all, layout.bias(k), h), h));
        }
        arrays.put("W" + (layers + 1), NdArray.of(slice(all, layout.output(), shape.lastWidth()), 1, shape.lastWidth()));
        int d = shape.inputDim();
        arrays.put("Minv", NdArray.of(model.mass().inverse(), d, d));
        int massParameters = layout.massParameters();
        if (massParameters > 0) arrays.put("Mparams", NdArray.of(slice(all, layout.mass(), massParameters), massParameters));
        ObjectNode meta = JSON.createObjectNode();
        meta.put("format", FORMAT);
        meta.put("activation", Model.ACTIVATION);
        meta.put("mass", model.mass().kind().id());
        if (!Double.isNaN(model.dt())) meta.put("dt", model.dt());
        if (model.scheme() != null) meta.put("scheme", model.scheme());
        arrays.put("meta", NdArray.ofUtf8(meta.toString()));
        Npz.write(file, arrays);
    }

    private static double[] slice(double[] all, long from, int n) {
        double[] out = new double[n];
        System.arraycopy(all, (int) from, out, 0, n);
        return out;
    }

    /** Loads a model with the mass parameterisation its file names (FIXED for a file without meta). */
    public static Model load(Path file, Blas blas) throws IOException {
        return load(file, null, blas);
    }

    /**
     * Loads a model; {@code massOverride}, if not null, re-parameterises M^{-1} (SPEC §1: theta or rho from Minv), e.g.
     * to continue training with a learned mass from a file that had a fixed one.
     */
    public static Model load(Path file, MassMatrix.Kind massOverride, Blas blas) throws IOException {
        Map<String, NdArray> z = Npz.read(file);
        String name = file.getFileName().toString();
        int layers = 0;
        while (z.containsKey("W" + (layers + 1)) || z.containsKey("w" + (layers + 1))) layers++;
        if (layers < 2) {
            throw new IOException(name + ": a model needs W1 and an output layer W2 or beyond; found " + layers + " weight arrays");
        }
        int hidden = layers - 1;
        NdArray w1 = weight(z, 1);
        if (w1.rank() != 2) throw new IOException(name + ": W1 has shape " + w1.shapeString() + ", expected (H1, d)");
        int d = w1.dim(1);
        int[] widths = new int[hidden];
        for (int k = 0; k < hidden; k++) {
            NdArray w = weight(z, k + 1);
            int fanIn = k == 0 ? d : widths[k - 1];
            if (w.rank() != 2 || w.dim(1) != fanIn) {
                throw new IOException(name + ": W" + (k + 1) + " has shape " + w.shapeString() + ", expected (H" + (k + 1) + ", " + fanIn + ")");
            }
            widths[k] = w.dim(0);
        }
        MlpShape shape = new MlpShape(d, widths);
        ParameterLayout layout = new ParameterLayout(shape, 0);
        double[] potential = new double[(int) layout.potentialSize()];
        for (int k = 0; k < hidden; k++) {
            NdArray w = weight(z, k + 1), b = z.get("b" + (k + 1));
            if (b == null) throw new IOException(name + ": missing b" + (k + 1));
            if (b.rank() != 1 || b.dim(0) != widths[k]) {
                throw new IOException(name + ": b" + (k + 1) + " has shape " + b.shapeString() + ", expected (" + widths[k] + ",)");
            }
            System.arraycopy(finite(w, name, "W" + (k + 1)), 0, potential, (int) layout.weight(k), w.size());
            System.arraycopy(finite(b, name, "b" + (k + 1)), 0, potential, (int) layout.bias(k), b.size());
        }
        NdArray out = weight(z, layers);
        if (out.size() != shape.lastWidth() || out.rank() != 2 || out.dim(0) != 1) {
            throw new IOException(name + ": output layer W" + layers + " has shape " + out.shapeString()
                    + ", expected (1, " + shape.lastWidth() + ")");
        }
        System.arraycopy(finite(out, name, "W" + layers), 0, potential, (int) layout.output(), out.size());
        NdArray minv = z.get("Minv");
        if (minv == null) throw new IOException(name + ": missing Minv");
        if (minv.rank() != 2 || minv.dim(0) != d || minv.dim(1) != d) {
            throw new IOException(name + ": Minv has shape " + minv.shapeString() + ", expected (" + d + ", " + d + ")");
        }
        MassMatrix.Kind kind = MassMatrix.Kind.FIXED;
        double dt = Double.NaN;
        String scheme = null;
        NdArray meta = z.get("meta");
        if (meta != null) {
            JsonNode m;
            try {
                m = JSON.readTree(meta.decodeUtf8());
            } catch (RuntimeException | IOException e) {
                throw new IOException(name + ": meta is not UTF-8 JSON: " + e.getMessage(), e);
            }
            String activation = m.path("activation").asText(Model.ACTIVATION);
            if (!Model.ACTIVATION.equals(activation)) {
                throw new IOException(name + ": activation '" + activation + "' is not supported (only tanh)");
            }
            try {
                kind = MassMatrix.Kind.parse(m.path("mass").asText("identity"));
            } catch (IllegalArgumentException e) {
                throw new IOException(name + ": meta: " + e.getMessage(), e);
            }
            if (m.has("dt")) dt = m.get("dt").asDouble();
            if (m.has("scheme")) scheme = m.get("scheme").asText();
        } else if (z.containsKey("dt") && z.get("dt").size() == 1) {
            dt = z.get("dt").data()[0];
        }
        double[] massParameters = null;
        if (massOverride != null && massOverride != kind) {
            kind = massOverride;
        } else if (z.containsKey("Mparams")) {
            massParameters = finite(z.get("Mparams"), name, "Mparams");
        }
        try {
            Model model = Model.of(shape, kind, potential, finite(minv, name, "Minv"), massParameters, blas);
            model.setTraining(dt, scheme);
            return model;
        } catch (IllegalArgumentException e) {
            throw new IOException(name + ": " + e.getMessage(), e);
        }
    }

    private static NdArray weight(Map<String, NdArray> z, int i) {
        NdArray w = z.get("W" + i);
        return w != null ? w : z.get("w" + i);
    }

    private static double[] finite(NdArray a, String file, String entry) throws IOException {
        try {
            ArrayChecks.requireFinite(a, file + "/" + entry);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        return a.data();
    }
}
