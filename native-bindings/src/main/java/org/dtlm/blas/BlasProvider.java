package org.dtlm.blas;

import java.util.Locale;

/**
 * Chooses the {@link Blas} implementation once per process from the system property {@value #PROPERTY}:
 * <ul>
 *   <li>{@code native} (the default): OpenBLAS through java.lang.foreign; when the library cannot be loaded, the
 *       pure-Java reference, with the reason logged;</li>
 *   <li>{@code java}: the pure-Java reference {@link JavaBlas}.</li>
 * </ul>
 * Any other value fails class initialisation with an {@link IllegalArgumentException} naming the value. The choice is
 * logged once at INFO through {@link System.Logger} (logger {@code org.dtlm.blas}).
 */
final class BlasProvider {

    static final String PROPERTY = "dtlm.blas";

    static final Blas INSTANCE = choose(System.getProperty(PROPERTY, "native"));

    private BlasProvider() {
    }

    /** Exposed to tests, which cannot reset {@link #INSTANCE}. */
    static Blas choose(String property) {
        System.Logger log = System.getLogger("org.dtlm.blas");
        String value = property.trim().toLowerCase(Locale.ROOT);
        switch (value) {
            case "java" -> {
                Blas blas = new JavaBlas();
                log.log(System.Logger.Level.INFO, "BLAS: {0} ({1}=java)", blas.config(), PROPERTY);
                return blas;
            }
            case "native" -> {
                try {
                    Blas blas = new OpenBlas();
                    log.log(System.Logger.Level.INFO, "BLAS: {0}", blas.config());
                    return blas;
                } catch (RuntimeException | LinkageError e) {
                    // The static initialiser's failure arrives wrapped; its cause is the reason worth logging.
                    Throwable reason = e instanceof ExceptionInInitializerError && e.getCause() != null
                            ? e.getCause() : e;
                    Blas blas = new JavaBlas();
                    log.log(System.Logger.Level.INFO, "BLAS: {0}; native OpenBLAS unavailable ({1}: {2})",
                            blas.config(), reason.getClass().getName(), reason.getMessage());
                    return blas;
                }
            }
            default -> throw new IllegalArgumentException(
                    PROPERTY + " = '" + property + "' must be 'native' or 'java'");
        }
    }
}
