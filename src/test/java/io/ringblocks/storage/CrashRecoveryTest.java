package io.ringblocks.storage;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kill -9 at random moments under load, then recovery: every acknowledged PUT reads back with its hash, every
 * acknowledged DELETE stays deleted, no block is referenced twice and no space leaks (checked by
 * {@link StoreTest#verify}). The kills cover sync and relaxed mode (a process crash loses nothing in either: the
 * records are in the device or the page cache), appends to the log under the normal load, checkpoints under a
 * load that checkpoints all the time, and recovery itself.
 */
class CrashRecoveryTest
{
    private static final int KILLS = 26;

    @TempDir
    Path dir;

    /** What the parent knows of the store across children: outcomes acknowledged, and lengths of every PUT. */
    private static final class Model
    {
        final Map<String, Integer> live = new HashMap<>();
        final Set<String> deleted = new HashSet<>();
        final Map<String, Integer> lengths = new HashMap<>();
        final List<String> history = new ArrayList<>();
        long acks;
        /** Operations the last child had started when it last printed its checkpoint figures. */
        long operations;
        long checkpoints;
        long checkpointMicros;

        /**
         * Takes in one child's lines, checks the recovered store against everything acknowledged so far, and settles
         * the operations that were in flight at the kill by what recovery found.
         */
        void check(final int kill, final List<String> lines, final StoreConfig verifyWith) throws Exception
        {
            lines.forEach(line -> history.add("kill " + kill + ": " + line));
            // Operations started but not acknowledged when the child died may have gone either way.
            final Map<String, Integer> pending = new HashMap<>();
            long childOperations = 0;
            long childCheckpoints = 0;
            long childCheckpointMicros = 0;
            for (final String line : lines)
            {
                final String[] parts = line.split(" ");
                if (parts[0].equals("K") && parts.length == 4)
                {
                    childOperations = Long.parseLong(parts[1]);
                    childCheckpoints = Long.parseLong(parts[2]);
                    childCheckpointMicros = Long.parseLong(parts[3]);
                    continue;
                }
                if (parts.length < 2 || parts[1].length() != 64)
                {
                    continue; // OPENING, R, READY, or a line cut by the kill
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
                            acks++;
                        }
                    }
                    case "D" ->
                    {
                        live.remove(hash);
                        deleted.add(hash);
                        pending.merge(hash, -1, Integer::sum);
                        acks++;
                    }
                    case "N", "F" -> pending.merge(hash, -1, Integer::sum);
                    default -> throw new AssertionError("unexpected line from child: " + line);
                }
            }
            operations = childOperations;
            checkpoints += childCheckpoints;
            checkpointMicros += childCheckpointMicros;
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
                found = StoreTest.verify(verifyWith, mustExist, mustBeAbsent);
            }
            catch (final AssertionError e)
            {
                throw new AssertionError(e.getMessage() + "\nchild lines about it:\n" + linesAbout(e, history), e);
            }
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
    }

    /**
     * 26 kills: sync and relaxed mode alternate; every other pair runs the profile that checkpoints every
     * millisecond through a 1024-slot overlay (batches of 384), so most of its kills land inside a checkpoint (the
     * checkpointer's busy time, summed from the children's STATS, is asserted to be a good part of their run time);
     * every other four run with tiny delta/ack rings, so back-pressure paths get killed in too.
     */
    @Test
    void shouldRecoverEveryAcknowledgedBlockAfterRepeatedSigkill() throws Exception
    {
        final Path data = dir.resolve("store");
        final Model model = new Model();
        final Random random = new Random(2026);
        long checkpointingMillis = 0;
        for (int kill = 0; kill < KILLS; kill++)
        {
            final boolean relaxed = kill % 2 == 1;
            final boolean checkpointing = kill / 2 % 2 == 1;
            final boolean tinyRings = kill / 4 % 2 == 1;
            final long runMillis = 150 + random.nextInt(800);
            final List<String> lines;
            try (ChildJvm child = ChildJvm.start(data.toString(), Long.toString(random.nextLong()),
                Boolean.toString(tinyRings), relaxed ? "relaxed" : "sync",
                (checkpointing ? CrashChild.Profile.CHECKPOINTING : CrashChild.Profile.MIXED).name()))
            {
                child.await("READY", 1, 30);
                Thread.sleep(runMillis);
                lines = child.kill();
            }
            final long before = model.checkpoints;
            model.check(kill, lines, CrashChild.config(data, false, true, CrashChild.Profile.MIXED));
            if (checkpointing)
            {
                checkpointingMillis += runMillis;
                assertTrue(model.checkpoints > before || model.operations < 256,
                    "no checkpoint ran in kill " + kill + " after " + model.operations + " operations");
            }
        }
        assertTrue(model.acks > KILLS * 10L, "the child made too little progress to test anything: " + model.acks);
        // Between its checkpoints the checkpointer waits for the committer to freeze the next table, so "inside a
        // checkpoint" is asserted loosely: a tenth of the children's run time in the checkpointer, hundreds of them.
        assertTrue(model.checkpoints > 100, "checkpoints: " + model.checkpoints);
        assertTrue(model.checkpointMicros / 1000 > checkpointingMillis / 10, "checkpointer busy " +
            model.checkpointMicros / 1000 + " ms of " + checkpointingMillis + " ms run");
        System.out.println("CrashRecoveryTest: " + KILLS + " kills, " + model.acks + " acknowledgements, " +
            model.checkpoints + " checkpoints (" + model.checkpointMicros / 1000 + " ms of " + checkpointingMillis +
            " ms in the checkpointing profile)");
    }

    /**
     * A relaxed-mode child logs thousands of small PUTs that are never checkpointed (every block of them is verified
     * at recovery: no flush is known to cover them) and is killed. The next child is killed inside its recovery
     * twice, once a quarter and once half of the blocks' bytes in (its read(2) count, /proc/pid/io
     * rchar, since it printed OPENING), before READY, with the index's checkpoint still untouched. The next recovers
     * everything acknowledged and drops nothing.
     */
    @Test
    void shouldRecoverEverythingAfterKillsDuringRecovery() throws Exception
    {
        final Path data = dir.resolve("store");
        final CrashChild.Profile profile = CrashChild.Profile.BIG_LOG;
        final Model model = new Model();
        final List<String> lines;
        try (ChildJvm child = ChildJvm.start(data.toString(), "7", "false", "relaxed", profile.name()))
        {
            child.await("P", 12_000, 120);
            lines = child.kill();
        }
        long blockBytes = 0;
        for (final String line : lines)
        {
            if (line.startsWith("P ") && line.split(" ").length == 3)
            {
                blockBytes += Long.parseLong(line.split(" ")[2]);
            }
        }
        int kills = 1;
        for (final double fraction : new double[]{0.25, 0.5})
        {
            try (ChildJvm child = ChildJvm.start(data.toString(), "8", "false", "relaxed", profile.name()))
            {
                child.await("OPENING", 1, 30);
                final long start = child.readChars();
                while (child.readChars() - start < blockBytes * fraction && child.count("READY") == 0 &&
                    child.isAlive())
                {
                    Thread.sleep(0, 200_000);
                }
                final long read = child.readChars() - start;
                final List<String> during = child.kill();
                kills++;
                assertTrue(!during.contains("READY"), "the child finished recovery before the kill");
                assertTrue(read >= blockBytes * fraction, "killed after " + read + " bytes read of " + blockBytes);
            }
            try (BlockIndex index = new BlockIndex(new File(data.resolve(StoreFiles.INDEX_DIR).toString()), 1L << 30,
                16, true))
            {
                assertEquals(0, index.checkpoint()[0], "the killed recovery committed its replay");
            }
        }
        final List<String> recovered;
        try (ChildJvm child = ChildJvm.start(data.toString(), "9", "false", "relaxed", profile.name()))
        {
            child.await("READY", 1, 120);
            recovered = child.kill();
            kills++;
        }
        final String[] replay = recovered.stream().filter(l -> l.startsWith("R ")).findFirst().orElseThrow()
            .split(" ");
        model.check(0, lines, CrashChild.config(data, false, true, profile));
        assertTrue(model.acks >= 12_000, "acknowledged: " + model.acks);
        assertTrue(Long.parseLong(replay[2]) >= model.acks, "changes replayed: " + String.join(" ", replay));
        assertEquals("0", replay[4], "blocks dropped by recovery after a process crash");
        System.out.println("CrashRecoveryTest: " + kills + " kills around recovery; replay of " + replay[1] +
            " records, " + replay[2] + " changes, " + replay[3] + " blocks verified (" + blockBytes + " bytes) took " +
            replay[5] + " ms");
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
}
