package org.dtlm.cli;

import java.io.PrintWriter;
import java.util.logging.Level;
import java.util.logging.Logger;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code dtlm} command line. Every subcommand fails on bad input with one line on stderr naming the input and a
 * non-zero exit (1: bad input or failure, 2: bad usage); nothing below this package calls System.exit.
 */
@Command(name = "dtlm", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Deep discrete-time Lagrangian mechanics: learn V(q) from positions, predict with exact energy conservation.",
        subcommands = {CommandLine.HelpCommand.class,
                GenerateCommand.class,
                TrainCommand.class,
                RolloutCommand.class,
                EvalCommand.class,
                ExperimentCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** The engine's own log records (e.g. the BLAS choice, which every command reports itself); -Ddtlm.verbose shows them. */
    private static final Logger ENGINE_LOG = Logger.getLogger("org.dtlm");

    /** Runs the CLI and returns its exit code (tests call this). */
    public static int run(String... args) {
        if (!Boolean.getBoolean("dtlm.verbose")) ENGINE_LOG.setLevel(Level.WARNING);
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            PrintWriter err = cmd.getErr();
            err.println(cmd.getCommandName() + ": " + message(e));
            if (Boolean.getBoolean("dtlm.trace")) e.printStackTrace(err);
            err.flush();
            return 1;
        });
        return cli.execute(args);
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"dtlm " + (v == null ? "(development build)" : v)};
        }
    }
}
