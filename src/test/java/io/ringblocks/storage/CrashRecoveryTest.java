package io.ringblocks.storage;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kill -9 at random moments under load, then recovery: every acknowledged PUT reads back with its hash, every
 * acknowledged DELETE stays deleted, no block is referenced twice and no space leaks (checked by
 * {@link StoreTest#verify}).
 */
class CrashRecoveryTest
{
    private static final int KILLS = 24;

    @TempDir
    Path dir;

    @Test
    void shouldRecoverEveryAcknowledgedBlockAfterRepeatedSigkill() throws Exception
    {
        final Path data = dir.resolve("store");
        final Map<String, Integer> live = new HashMap<>();
        final Set<String> deleted = new HashSet<>();
        final Map<String, Integer> lengths = new HashMap<>();
        final Random random = new Random(2026);
        long totalAcks = 0;
        final List<String> history = new ArrayList<>();
        for (int kill = 0; kill < KILLS; kill++)
        {
            // Every other child runs with tiny delta/ack rings, so back-pressure paths get killed in too.
            final boolean tinyRings = kill % 2 == 1;
            final List<String> lines = runAndKill(data, random.nextLong(), 150 + random.nextInt(900), tinyRings);
            for (final String line : lines)
            {
                history.add("kill " + kill + ": " + line);
            }
            // Operations started but not acknowledged when the child died may have gone either way.
            final Map<String, Integer> pending = new HashMap<>();
            for (final String line : lines)
            {
                final String[] parts = line.split(" ");
                if (parts.length < 2 || parts[1].length() != 64)
                {
                    continue; // READY, or a line cut by the kill
                }
                final String hash = parts[1];
                switch (parts[0])
                {
                    case "p", "x" -> pending.merge(hash, 1, Integer::sum);
                    case "P" ->
                    {
                        if (parts.length == 3)
                        {
                            live.put(hash, Integer.parseInt(parts[2]));
                            lengths.put(hash, Integer.parseInt(parts[2]));
                            deleted.remove(hash);
                            pending.merge(hash, -1, Integer::sum);
                            totalAcks++;
                        }
                    }
                    case "D" ->
                    {
                        live.remove(hash);
                        deleted.add(hash);
                        pending.merge(hash, -1, Integer::sum);
                        totalAcks++;
                    }
                    case "N", "F" -> pending.merge(hash, -1, Integer::sum);
                    default -> throw new AssertionError("unexpected line from child: " + line);
                }
            }
            final Map<String, Integer> mustExist = new HashMap<>(live);
            final Set<String> mustBeAbsent = new HashSet<>(deleted);
            for (final Map.Entry<String, Integer> p : pending.entrySet())
            {
                if (p.getValue() > 0)
                {
                    mustExist.remove(p.getKey());
                    mustBeAbsent.remove(p.getKey());
                }
            }
            final Set<String> found;
            try
            {
                found = StoreTest.verify(CrashChild.config(data, false), mustExist, mustBeAbsent);
            }
            catch (final AssertionError e)
            {
                throw new AssertionError(e.getMessage() + "\nchild lines about it:\n" + linesAbout(e, history), e);
            }
            // Settle the undecided ones by what recovery found, for the next round.
            for (final Map.Entry<String, Integer> p : pending.entrySet())
            {
                if (p.getValue() > 0)
                {
                    if (found.contains(p.getKey()) && lengths.containsKey(p.getKey()))
                    {
                        live.put(p.getKey(), lengths.get(p.getKey()));
                        deleted.remove(p.getKey());
                    }
                    else if (!found.contains(p.getKey()))
                    {
                        live.remove(p.getKey());
                        deleted.add(p.getKey());
                    }
                }
            }
        }
        assertTrue(totalAcks > KILLS * 10L, "the child made too little progress to test anything: " + totalAcks);
    }

    private static String linesAbout(final AssertionError failure, final List<String> history)
    {
        final java.util.regex.Matcher hash = java.util.regex.Pattern.compile("[0-9a-f]{64}")
            .matcher(String.valueOf(failure.getMessage()));
        final StringBuilder out = new StringBuilder();
        if (hash.find())
        {
            for (final String line : history)
            {
                if (line.contains(hash.group()))
                {
                    out.append(line).append('\n');
                }
            }
        }
        return out.toString();
    }

    private static List<String> runAndKill(final Path data, final long seed, final long runMillis,
        final boolean tinyRings) throws Exception
    {
        final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        final Process child = new ProcessBuilder(java, "@tools/jvm.options", "-Xmx256m",
            "-cp", System.getProperty("java.class.path"), CrashChild.class.getName(), data.toString(),
            Long.toString(seed), Boolean.toString(tinyRings))
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
        final List<String> lines = new CopyOnWriteArrayList<>();
        final List<java.io.IOException> readFailure = new CopyOnWriteArrayList<>();
        final Thread reader = new Thread(() ->
        {
            try (BufferedReader in = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII)))
            {
                String line;
                while ((line = in.readLine()) != null)
                {
                    lines.add(line);
                }
            }
            catch (final java.io.IOException e)
            {
                // A dead child only ends the pipe (EOF); an exception means lines were lost, and a lost "x" line
                // turns a legitimate delete into a false "acknowledged block lost".
                readFailure.add(e);
            }
        });
        reader.start();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!lines.contains("READY"))
        {
            assertTrue(child.isAlive() || !lines.isEmpty(), "child died before READY");
            assertTrue(System.nanoTime() < deadline, "child never got READY");
            Thread.sleep(5);
        }
        Thread.sleep(runMillis);
        // SIGKILL through the handle: Process.destroyForcibly() also closes the child's stdout at once, discarding
        // the lines still in the pipe that a loaded machine's reader had not read yet (acks and intents alike).
        child.toHandle().destroyForcibly();
        assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child did not die");
        reader.join(30_000);
        assertTrue(!reader.isAlive(), "the child's output was not read to its end");
        assertTrue(readFailure.isEmpty(), () -> "reading the child's output failed: " + readFailure);
        return lines;
    }
}
