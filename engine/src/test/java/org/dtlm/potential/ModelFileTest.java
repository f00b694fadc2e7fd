package org.dtlm.potential;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.random.RandomGenerator;

import org.dtlm.blas.Blas;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npz;
import org.dtlm.nn.Init;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.Parameters;
import org.dtlm.nn.Workspace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelFileTest {
    /** numpy's forward pass against ours: the same sums in other orders. */
    static final double NUMPY_REL = 1e-14;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = MassMatrix.Kind.class, names = {"IDENTITY", "DIAGONAL", "FULL"})
    void saveThenLoadIsBitExact(MassMatrix.Kind kind) throws IOException {
        Path file = dir.resolve("m.npz");
        try (Model m = Model.create(MlpShape.of(3, 7, 5), kind, 11, Blas.get())) {
            RandomGenerator rng = Init.random(12);
            Parameters p = m.parameters();
            for (long i = 0; i < p.layout().size(); i++) p.set(i, p.get(i) + 0.1 * rng.nextGaussian());
            m.parametersChanged();
            m.setTraining(0.125, "proposed");
            ModelFile.save(file, m);
            try (Model back = ModelFile.load(file, Blas.get())) {
                assertEquals(kind, back.mass().kind());
                assertEquals(m.shape(), back.shape());
                assertArrayEquals(m.mass().inverse(), back.mass().inverse(), 0.0);
                assertEquals(0.125, back.dt());
                assertEquals("proposed", back.scheme());
                double[] a = m.parameters().toArray(), b = back.parameters().toArray();
                long pot = p.layout().potentialSize();
                for (int i = 0; i < pot; i++) assertEquals(Double.doubleToRawLongBits(a[i]), Double.doubleToRawLongBits(b[i]), "parameter " + i);
                // a second round trip gives identical bytes
                Path again = dir.resolve("again.npz");
                ModelFile.save(again, back);
                assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(again));
            }
        }
    }

    @Test
    void readsATorchReferenceFileWithoutMeta() throws IOException {
        Path file = Path.of("..", "data", "fixtures", "torch_style_model.npz");
        Map<String, NdArray> want = Npz.read(Path.of("..", "data", "fixtures", "torch_style_model_expected.npz"));
        try (Model m = ModelFile.load(file, Blas.get()); Arena arena = Arena.ofConfined();
             Workspace w = new Workspace(m.shape(), 3, 3)) {
            assertEquals(MassMatrix.Kind.FIXED, m.mass().kind());
            assertEquals(0.1, m.dt());
            assertArrayEquals(new double[]{0.5, 0, 0, 2}, m.mass().inverse(), 0.0);
            double[] x = want.get("x").data();
            MemorySegment xs = arena.allocate(JAVA_DOUBLE, x.length), g = arena.allocate(JAVA_DOUBLE, x.length);
            MemorySegment.copy(x, 0, xs, JAVA_DOUBLE, 0, x.length);
            m.mlp().forward(w, m.parameters(), xs, 0, 3);
            m.mlp().gradient(w, m.parameters(), 0, 3, g, 0, false);
            double[] v = want.get("V").data(), grad = want.get("gradV").data();
            for (int i = 0; i < 3; i++) {
                assertEquals(v[i], w.value().getAtIndex(JAVA_DOUBLE, i), NUMPY_REL * Math.abs(v[i]) + 1e-15, "V[" + i + "]");
            }
            for (int i = 0; i < grad.length; i++) {
                assertEquals(grad[i], g.getAtIndex(JAVA_DOUBLE, i), NUMPY_REL * Math.abs(grad[i]) + 1e-15, "gradV[" + i + "]");
            }
        }
    }

    @Test
    void badFilesAreRefusedWithTheirName() throws IOException {
        Map<String, NdArray> base = new LinkedHashMap<>(Npz.read(Path.of("..", "data", "fixtures", "torch_style_model.npz")));
        assertRefused(without(base, "b1"), "missing b1");
        assertRefused(with(base, "W2", NdArray.of(new double[12], 4, 3)), "W2 has shape (4, 3)");
        assertRefused(with(base, "Minv", NdArray.of(new double[]{1, 2, 3, 1}, 2, 2)), "not symmetric");
        assertRefused(with(base, "Minv", NdArray.of(new double[]{1, 0, 0, -1}, 2, 2)), "not positive definite");
        assertRefused(with(base, "b2", NdArray.of(new double[]{0, Double.NaN, 0, 0}, 4)), "NaN");
        assertRefused(with(base, "meta", NdArray.ofUtf8("{\"activation\": \"relu\"}")), "activation 'relu'");
        assertRefused(with(base, "meta", NdArray.ofUtf8("{\"mass\": \"identity\"}")), "not the identity");
        Path garbage = dir.resolve("garbage.npz");
        Files.writeString(garbage, "not a zip");
        IOException e = assertThrows(IOException.class, () -> ModelFile.load(garbage, Blas.get()));
        assertTrue(e.getMessage().contains("garbage.npz"), e.getMessage());
    }

    private static Map<String, NdArray> without(Map<String, NdArray> base, String key) {
        Map<String, NdArray> m = new LinkedHashMap<>(base);
        m.remove(key);
        return m;
    }

    private static Map<String, NdArray> with(Map<String, NdArray> base, String key, NdArray a) {
        Map<String, NdArray> m = new LinkedHashMap<>(base);
        m.put(key, a);
        return m;
    }

    private void assertRefused(Map<String, NdArray> arrays, String fragment) throws IOException {
        Path file = dir.resolve("bad.npz");
        Npz.write(file, arrays);
        IOException e = assertThrows(IOException.class, () -> ModelFile.load(file, Blas.get()));
        assertTrue(e.getMessage().contains("bad.npz") && e.getMessage().contains(fragment), e.getMessage());
    }
}
