package io.ringblocks.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The example project (examples/) is compiled against the client library alone (its jar, or its classes when
 * only compiled so far) and run in a child JVM whose class path holds nothing else, against a live server: the
 * client artifact needs no other library and is enough to use ringblocks.
 */
class ExampleProjectTest
{
    @TempDir
    Path dir;

    @Test
    void shouldCompileAndRunTheExampleAgainstTheClientLibraryAlone() throws Exception
    {
        final Path client = clientLibrary();
        final Path classes = Files.createDirectories(dir.resolve("classes"));
        // At the client library's own level, Java 21: what a project on the oldest supported Java compiles against.
        final List<String> args = new ArrayList<>(List.of("--release", "21", "-d", classes.toString(), "-cp",
            client.toString(), "-Xlint:all", "-Werror"));
        try (Stream<Path> sources = Files.walk(Path.of("examples/src/main/java")))
        {
            sources.filter(p -> p.toString().endsWith(".java")).forEach(p -> args.add(p.toString()));
        }
        final JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "tests run on a JDK");
        assertEquals(0, javac.run(null, null, null, args.toArray(new String[0])), "the example compiles");

        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir.resolve("data"))))
        {
            final String java = ProcessHandle.current().info().command().orElseThrow();
            final Path log = dir.resolve("example.out");
            final Process p = new ProcessBuilder(java, "-cp", classes + ":" + client, "example.QuickStart",
                "127.0.0.1", Integer.toString(server.port())).redirectErrorStream(true).redirectOutput(log.toFile())
                .start();
            final String out;
            try
            {
                final boolean ended = p.waitFor(60, TimeUnit.SECONDS);
                out = Files.readString(log, StandardCharsets.UTF_8);
                assertTrue(ended, "the example did not end: " + out);
            }
            finally
            {
                p.destroyForcibly();
            }
            assertEquals(0, p.exitValue(), out);
            final List<String> lines = out.lines().toList();
            assertEquals(5, lines.size(), out);
            assertTrue(lines.get(0).matches("put [0-9a-f]{64}"), out);
            assertEquals("get hello from the ringblocks example", lines.get(1));
            assertEquals("head 33", lines.get(2));
            assertEquals("missing 0", lines.get(3));
            assertEquals("delete true", lines.get(4));
        }
    }

    /** @return the client library as built by this build: its jar after {@code package}, else its classes. */
    private static Path clientLibrary() throws IOException
    {
        final Path target = Path.of("client/target");
        try (Stream<Path> files = Files.list(target))
        {
            final List<Path> jars = files.filter(p -> p.getFileName().toString().matches(
                "ringblocks-client-[^-]+(-SNAPSHOT)?\\.jar")).toList();
            if (!jars.isEmpty())
            {
                return jars.getFirst();
            }
        }
        final Path classes = target.resolve("classes");
        assertTrue(Files.isDirectory(classes.resolve("io/ringblocks/client")), "build the client first");
        return classes;
    }
}
