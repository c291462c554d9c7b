package io.ringblocks.cli;

import picocli.CommandLine;

import io.ringblocks.server.Failures;

/**
 * How rbbench, rbcluster and rbplot answer bad input: one line naming the tool with a usage hint, exit code 2;
 * other failures one line, exit code 1; never a stack trace. (rbcat, rbcheck and ringblocks-server keep their own
 * wording and exit codes, which their tests and scripts rely on, in the same one-line form.)
 */
final class Cli
{
    private Cli()
    {
    }

    /**
     * @param command the picocli command object.
     * @param name    the tool's name, which starts each error line.
     * @return its command line: usage errors and {@link IllegalArgumentException}s exit 2, other failures 1.
     */
    static CommandLine commandLine(final Object command, final String name)
    {
        final CommandLine cli = new CommandLine(command);
        cli.setParameterExceptionHandler((e, args) ->
        {
            e.getCommandLine().getErr().println(name + ": " + e.getMessage() + " (see --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) ->
        {
            final boolean usage = e instanceof IllegalArgumentException;
            commandLine.getErr().println(name + ": " + Failures.describe(e) + (usage ? " (see --help)" : ""));
            return usage ? 2 : 1;
        });
        return cli;
    }
}
