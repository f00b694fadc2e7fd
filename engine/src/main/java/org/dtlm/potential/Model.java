package org.dtlm.potential;

import java.lang.foreign.Arena;

import org.dtlm.blas.Blas;
import org.dtlm.nn.Init;
import org.dtlm.nn.Mlp;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.ParameterLayout;
import org.dtlm.nn.Parameters;

/**
 * A learned Lagrangian system (SPEC §1): the potential network V, the mass matrix M, and what training recorded
 * (the sampling step dt and the scheme, NaN and null until trained). Owns its parameter slab; {@link #close()}
 * releases it. Not thread-safe: one thread mutates a model (training); any number may read it once trained, each
 * with its own workspaces.
 */
public final class Model implements AutoCloseable {
    public static final String ACTIVATION = "tanh";
    /** How closely a file's Minv must match the M^{-1} of its raw mass parameters (a few roundings of softplus). */
    static final double MASS_AGREEMENT = 1e-12;

    private final Arena arena = Arena.ofShared();
    private final Parameters parameters;
    private final MassMatrix mass;
    private final Mlp mlp;
    private double dt = Double.NaN;
    private String scheme;

    private Model(MlpShape shape, MassMatrix.Kind kind, double[] fixedMinv, Blas blas) {
        ParameterLayout layout = new ParameterLayout(shape, kind.parameters(shape.inputDim()));
        this.parameters = Parameters.allocate(layout, arena);
        this.mass = new MassMatrix(kind, shape.inputDim(), layout.mass(), fixedMinv);
        this.mlp = new Mlp(layout, blas);
    }

    /** A fresh model (SPEC §1): orthogonal weights from the seed, zero biases, M^{-1} = I. */
    public static Model create(MlpShape shape, MassMatrix.Kind kind, long seed, Blas blas) {
        if (kind == MassMatrix.Kind.FIXED) throw new IllegalArgumentException("a fresh model cannot have a fixed mass");
        Model model = new Model(shape, kind, null, blas);
        Init.orthogonal(model.parameters, seed);
        model.mass.initialize(model.parameters);
        return model;
    }

    /**
     * A model from given parameters (a model file): potential parameters in layout order, and M^{-1} from which the
     * mass parameters are derived (SPEC §1), or which is kept verbatim for Kind.FIXED. {@code massParameters}, if not
     * null, are the raw mass parameters themselves (a bit-exact reload); M^{-1} must then agree with them.
     */
    public static Model of(MlpShape shape, MassMatrix.Kind kind, double[] potentialParameters, double[] minv,
                           double[] massParameters, Blas blas) {
        Model model = new Model(shape, kind, kind == MassMatrix.Kind.FIXED ? minv : null, blas);
        ParameterLayout layout = model.parameters.layout();
        if (potentialParameters.length != layout.potentialSize()) {
            throw new IllegalArgumentException("potential parameters: " + potentialParameters.length
                    + " values for " + shape + ", expected " + layout.potentialSize());
        }
        for (int i = 0; i < potentialParameters.length; i++) model.parameters.set(i, potentialParameters[i]);
        model.mass.initialize(model.parameters, minv);
        if (massParameters != null) {
            if (massParameters.length != kind.parameters(shape.inputDim())) {
                throw new IllegalArgumentException("Mparams has " + massParameters.length + " values, mass '" + kind.id()
                        + "' needs " + kind.parameters(shape.inputDim()));
            }
            for (int i = 0; i < massParameters.length; i++) model.parameters.set(layout.mass() + i, massParameters[i]);
            model.mass.update(model.parameters);
            double[] derived = model.mass.inverse();
            for (int i = 0; i < derived.length; i++) {
                if (Math.abs(derived[i] - minv[i]) > MASS_AGREEMENT * (Math.abs(minv[i]) + 1)) {
                    throw new IllegalArgumentException("Minv[" + i / shape.inputDim() + "][" + i % shape.inputDim() + "] = "
                            + minv[i] + " disagrees with the " + derived[i] + " that Mparams give");
                }
            }
        }
        return model;
    }

    public MlpShape shape() {
        return mlp.shape();
    }

    public int dimension() {
        return shape().inputDim();
    }

    public Parameters parameters() {
        return parameters;
    }

    public MassMatrix mass() {
        return mass;
    }

    public Mlp mlp() {
        return mlp;
    }

    /** Call after the parameters changed (an optimiser step) so that M^{-1} and M follow. */
    public void parametersChanged() {
        mass.update(parameters);
    }

    public double dt() {
        return dt;
    }

    public String scheme() {
        return scheme;
    }

    public void setTraining(double dt, String scheme) {
        this.dt = dt;
        this.scheme = scheme;
    }

    @Override
    public void close() {
        arena.close();
    }
}
