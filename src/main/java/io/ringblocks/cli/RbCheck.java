package io.ringblocks.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import io.ringblocks.server.Failures;
import io.ringblocks.storage.OfflineCheck;

/**
 * {@code tools/rbcheck --data DIR [--repair]}: the offline checker (see {@link OfflineCheck}). Exit code 0 when the
 * store is sound (or was repaired), 1 when damage remains or the directory is in use, 2 for bad flags.
 */
@Command(name = "rbcheck", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class, sortOptions = false,
    description = "Checks a stopped store: index file, data file header, store identity, every block against its " +
        "SHA-256, the allocator's invariants. --repair drops the entries whose bytes are lost.")
public final class RbCheck implements Callable<Integer>
{
    @Option(names = "--data", paramLabel = "DIR", required = true, description = "data directory of a stopped server")
    Path data;

    @Option(names = "--repair", description = "drop index entries whose blocks are damaged or missing, fix the header")
    boolean repair;

    private final PrintStream out;

    RbCheck(final PrintStream out)
    {
        this.out = out;
    }

    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        final CommandLine cli = new CommandLine(new RbCheck(out));
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(out, true));
        cli.setParameterExceptionHandler((e, a) ->
        {
            e.getCommandLine().getErr().println("rbcheck: " + e.getMessage() + " (see --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) ->
        {
            commandLine.getErr().println("rbcheck: " + Failures.describe(e));
            return e instanceof IllegalArgumentException ? 2 : 1;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call()
    {
        return new OfflineCheck(data.toAbsolutePath(), out).run(repair) ? 0 : 1;
    }
}
