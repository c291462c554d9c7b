package io.ringblocks.cli;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tools/launch in the source-tree layout: the jar of the project's version, whatever else target/ holds. */
class LauncherTest
{
    private static final Path JAVA_HOME = Path.of(System.getProperty("java.home"));

    @TempDir
    Path root;

    @Test
    void shouldRunTheJarOfTheProjectsVersionNotAStaleOneThatSortsFirst() throws Exception
    {
        for (final String tool : List.of("launch", "rbcat", "find-jdk", "jvm.options", "project-version"))
        {
            Files.copy(Path.of("tools", tool), Files.createDirectories(root.resolve("tools")).resolve(tool));
        }
        Files.copy(Path.of("pom.xml"), root.resolve("pom.xml"));
        final String version = run(root.resolve("tools/project-version").toString()).strip();
        final Path target = Files.createDirectories(root.resolve("target"));
        run(JAVA_HOME.resolve("bin/jar").toString(), "cf", target.resolve("ringblocks-" + version + ".jar").toString(),
            "-C", "target/classes", ".");
        // A jar of an earlier version, without the tools in it: first in ls order.
        final Path empty = Files.createDirectories(root.resolve("empty"));
        run(JAVA_HOME.resolve("bin/jar").toString(), "cf", target.resolve("ringblocks-0.0.1.jar").toString(),
            "-C", empty.toString(), ".");
        libraries(Files.createDirectories(target.resolve("lib")));
        final String out = run(root.resolve("tools/rbcat").toString(), "--version");
        assertTrue(out.startsWith("ringblocks "), out);
    }

    /** What make build puts in target/lib: this test's class path but the server's own classes. */
    private static void libraries(final Path lib) throws Exception
    {
        final Path own = Path.of("target").toAbsolutePath();
        int directories = 0;
        for (final String entry : System.getProperty("java.class.path").split(File.pathSeparator))
        {
            final Path path = Path.of(entry).toAbsolutePath();
            if (entry.endsWith(".jar") && Files.notExists(lib.resolve(path.getFileName())))
            {
                Files.createSymbolicLink(lib.resolve(path.getFileName()), path);
            }
            else if (Files.isDirectory(path) && !path.startsWith(own)) // the client module's classes
            {
                run(JAVA_HOME.resolve("bin/jar").toString(), "cf", lib.resolve("dir" + directories++ + ".jar").toString(),
                    "-C", path.toString(), ".");
            }
        }
    }

    /** @return the command's output (stdout and stderr), after checking it exited 0. */
    private static String run(final String... command) throws Exception
    {
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("JAVA_HOME", JAVA_HOME.toString());
        final Process p = builder.start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command));
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + out);
        return out;
    }
}
