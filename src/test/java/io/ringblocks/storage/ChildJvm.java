package io.ringblocks.storage;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@link CrashChild} JVM whose standard output a reader thread collects line by line (counting lines by their
 * first word, so a parent can wait for {@code READY} or for a number of acknowledgements cheaply), killed with
 * SIGKILL through its process handle.
 */
final class ChildJvm implements AutoCloseable
{
    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private final List<IOException> readFailure = new CopyOnWriteArrayList<>();
    private final Thread reader;

    private ChildJvm(final Process process)
    {
        this.process = process;
        reader = new Thread(() ->
        {
            try (BufferedReader in = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII)))
            {
                String line;
                while ((line = in.readLine()) != null)
                {
                    lines.add(line);
                    final int space = line.indexOf(' ');
                    counts.computeIfAbsent(space < 0 ? line : line.substring(0, space), k -> new AtomicInteger())
                        .incrementAndGet();
                }
            }
            catch (final IOException e)
            {
                // A dead child only ends the pipe (EOF); an exception means lines were lost, and a lost "x" line
                // turns a legitimate delete into a false "acknowledged block lost".
                readFailure.add(e);
            }
        });
        reader.start();
    }

    /** Starts {@link CrashChild} with {@code args}. */
    static ChildJvm start(final String... args) throws IOException
    {
        final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        final List<String> command = new ArrayList<>(List.of(java, "@tools/jvm.options", "-Xmx256m",
            "-cp", System.getProperty("java.class.path"), CrashChild.class.getName()));
        command.addAll(List.of(args));
        return new ChildJvm(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start());
    }

    /** @return how many lines so far began with {@code word} (the whole line when it has no space). */
    int count(final String word)
    {
        final AtomicInteger n = counts.get(word);
        return n == null ? 0 : n.get();
    }

    /** Waits until {@code n} lines began with {@code word}; fails when the child dies or the time runs out first. */
    void await(final String word, final int n, final long timeoutSeconds) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (count(word) < n)
        {
            assertTrue(process.isAlive() || count(word) >= n, () -> "child died before " + n + " x " + word +
                "; its last lines: " + tail());
            assertTrue(System.nanoTime() < deadline, () -> "child never printed " + n + " x " + word);
            Thread.sleep(2);
        }
    }

    boolean isAlive()
    {
        return process.isAlive();
    }

    /** @return bytes the child has read through read(2) and friends so far ({@code rchar} of /proc/pid/io). */
    long readChars() throws IOException
    {
        for (final String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "io")))
        {
            if (line.startsWith("rchar:"))
            {
                return Long.parseLong(line.substring(6).trim());
            }
        }
        throw new IllegalStateException("no rchar in /proc/" + process.pid() + "/io");
    }

    /** SIGKILL, then every line the child printed. */
    List<String> kill() throws Exception
    {
        // Through the handle: Process.destroyForcibly() also closes the child's stdout at once, discarding the lines
        // still in the pipe that a loaded machine's reader had not read yet (acks and intents alike).
        process.toHandle().destroyForcibly();
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "child did not die");
        reader.join(30_000);
        assertTrue(!reader.isAlive(), "the child's output was not read to its end");
        assertTrue(readFailure.isEmpty(), () -> "reading the child's output failed: " + readFailure);
        return lines;
    }

    private String tail()
    {
        final int n = lines.size();
        return String.join(" | ", lines.subList(Math.max(0, n - 5), n));
    }

    @Override
    public void close() throws Exception
    {
        if (process.isAlive())
        {
            kill();
        }
    }
}
