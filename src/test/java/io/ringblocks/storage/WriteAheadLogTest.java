package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.storage.WalTesting.Appended;
import io.ringblocks.storage.WalTesting.Collector;
import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

import static io.ringblocks.storage.WalTesting.PAGE;
import static io.ringblocks.storage.WalTesting.STORE;
import static io.ringblocks.storage.WalTesting.append;
import static io.ringblocks.storage.WalTesting.build;
import static io.ringblocks.storage.WalTesting.effectsOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The write-ahead log on real files (ext4 under the temporary directory, opened O_DIRECT): records come back
 * exactly, across reopening and across the wrap; damage anywhere in the tail ends replay exactly before the damaged
 * record; a new life's records are never mixed with an old life's leftovers.
 */
class WriteAheadLogTest
{
    private static final long SIZE = 256L * PAGE;

    @TempDir
    Path dir;

    @Test
    void shouldCreateAPreZeroedLogOfTheRequestedSize() throws Exception
    {
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            assertTrue(wal.created());
            assertTrue(wal.isDirect(), "ext4 takes O_DIRECT");
            assertEquals(SIZE, wal.size());
            assertEquals(SIZE, Files.size(wal.file()));
            assertEquals(dir.resolve(WriteAheadLog.FILE), wal.file());
            assertFalse(Files.exists(dir.resolve(WriteAheadLog.FILE + ".tmp")));
        }
        assertArrayEquals(new byte[(int)SIZE - PAGE], WalTesting.read(dir.resolve(WriteAheadLog.FILE), PAGE,
            (int)SIZE - PAGE), "every record byte is zero");
        assertEquals(4096, WriteAheadLog.recordBytes(1));
        assertEquals(4096, WriteAheadLog.recordBytes(72));
        assertEquals(8192, WriteAheadLog.recordBytes(73));
        assertEquals(57 * 4096, WriteAheadLog.recordBytes(4096));
        assertThrows(IllegalArgumentException.class, () -> WriteAheadLog.recordBytes(4097));
        assertThrows(IllegalArgumentException.class, () -> WriteAheadLog.open(dir, 15L * PAGE, STORE, true));
    }

    @Test
    void shouldReplayEveryEffectExactlyAfterReopenAndFromACheckpointInTheMiddle()
    {
        final Random random = new Random(1);
        final List<Appended> appended = new ArrayList<>();
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            wal.startAppending(1, PAGE, 0, PAGE);
            for (int i = 0; i < 40; i++)
            {
                appended.add(append(wal, random, 1 + random.nextInt(150), 7));
            }
            assertEquals(0, wal.sync());
        }
        final Appended last = appended.getLast();
        try (WriteAheadLog wal = WriteAheadLog.open(dir, 1024L * PAGE, STORE, true))
        {
            assertFalse(wal.created());
            assertEquals(SIZE, wal.size(), "an existing log keeps the size in its header");
            final Collector all = new Collector();
            final WriteAheadLog.Replay replay = wal.replay(0, PAGE, 0, all);
            assertEquals(effectsOf(appended), all.effects);
            assertEquals(new WriteAheadLog.Replay(40, last.end(), last.crc(), last.durable(), 40,
                all.effects.size(), 7), replay);

            final Appended middle = appended.get(19);
            final Collector rest = new Collector();
            final WriteAheadLog.Replay fromMiddle = wal.replay(middle.sequence(), middle.end(), middle.crc(), rest);
            assertEquals(effectsOf(appended.subList(20, 40)), rest.effects);
            assertEquals(20, fromMiddle.records());
            assertEquals(40, fromMiddle.lastSequence());

            final Collector nothing = new Collector();
            final WriteAheadLog.Replay none = wal.replay(last.sequence(), last.end(), last.crc(), nothing);
            assertEquals(new WriteAheadLog.Replay(40, last.end(), last.crc(), 40, 0, 0, 0), none);
            assertTrue(nothing.effects.isEmpty());
        }
    }

    @Test
    void shouldWrapToTheFirstPageAndReplayAcrossTheWrap()
    {
        final Random random = new Random(2);
        final List<Appended> appended = new ArrayList<>();
        try (WriteAheadLog wal = WriteAheadLog.open(dir, 16L * PAGE, STORE, true))
        {
            wal.startAppending(1, PAGE, 0, PAGE);
            for (int i = 0; i < 7; i++)
            {
                appended.add(append(wal, random, 100, 1)); // two pages each
            }
            assertEquals(15L * PAGE, wal.nextPosition());
            assertEquals(14L * PAGE, wal.usedBytes());
            assertFalse(wal.hasRoom(100), "wrapping would overwrite the oldest record, at the checkpoint position");
            assertTrue(wal.hasRoom(1), "one page still fits before the end");

            wal.checkpointed(appended.get(2).start());
            assertTrue(wal.hasRoom(100));
            final Appended wrapped = append(wal, random, 100, 1);
            appended.add(wrapped);
            assertEquals(PAGE, wrapped.start(), "a record that does not fit before the end starts at PAGE");
            assertEquals(3L * PAGE, wal.nextPosition());
            assertEquals(13L * PAGE, wal.usedBytes(), "records 3..8 and the wasted last page");
            assertFalse(wal.hasRoom(100), "it would reach the checkpoint position");
            assertTrue(wal.hasRoom(1));

            wal.checkpointed(appended.get(3).start());
            assertTrue(wal.hasRoom(100));
            appended.add(append(wal, random, 100, 1));
            assertEquals(0, wal.sync());
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir, 16L * PAGE, STORE, true))
        {
            final Appended checkpoint = appended.get(2);
            final Collector collector = new Collector();
            final WriteAheadLog.Replay replay =
                wal.replay(checkpoint.sequence(), checkpoint.end(), checkpoint.crc(), collector);
            assertEquals(effectsOf(appended.subList(3, 9)), collector.effects);
            assertEquals(9, replay.lastSequence());
            assertEquals(5L * PAGE, replay.nextPosition());

            final Appended before = appended.get(1);
            final Collector fromTwo = new Collector();
            assertEquals(7, wal.replay(before.sequence(), before.end(), before.crc(), fromTwo).records());
            assertEquals(effectsOf(appended.subList(2, 9)), fromTwo.effects);

            final Collector fromStart = new Collector();
            assertEquals(0, wal.replay(0, PAGE, 0, fromStart).records(), "record 1 was overwritten by record 8");
            assertTrue(fromStart.effects.isEmpty());

            wal.startAppending(10, replay.nextPosition(), replay.lastCrc(), appended.get(3).start());
            assertEquals(13L * PAGE, wal.usedBytes(), "records 4..9 and the wasted last page");
            assertFalse(wal.hasRoom(100), "after recovery too, records never reach the checkpoint position");
            wal.checkpointed(appended.get(4).start());
            assertTrue(wal.hasRoom(100));
            final Appended tenth = append(wal, random, 100, 2);
            assertEquals(5L * PAGE, tenth.start());
        }
    }

    @Test
    void shouldReplayExactlyTheCompleteRecordsBeforeACutAtEveryByteOfTheLastThreeRecords() throws Exception
    {
        final Path file = dir.resolve(WriteAheadLog.FILE);
        final List<Appended> appended = pristine(new int[]{5, 20, 1, 40, 1, 75, 3});
        final Appended checkpoint = appended.get(3);
        final List<Appended> lastThree = appended.subList(4, 7);
        final long from = lastThree.getFirst().start();
        final long to = lastThree.getLast().end();
        final byte[] original = WalTesting.read(file, from, (int)(to - from));
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true);
            FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            for (long cut = from; cut <= to; cut++)
            {
                channel.truncate(cut);
                int complete = 0;
                while (complete < 3 && lastThree.get(complete).start() + lastThree.get(complete).length() <= cut)
                {
                    complete++;
                }
                final Collector collector = new Collector();
                final WriteAheadLog.Replay replay =
                    wal.replay(checkpoint.sequence(), checkpoint.end(), checkpoint.crc(), collector);
                assertEquals(complete, replay.records(), "cut at " + cut);
                assertEquals(effectsOf(lastThree.subList(0, complete)), collector.effects, "cut at " + cut);

                WalTesting.write(channel, cut, original, (int)(cut - from), (int)(to - cut));
                WalTesting.write(channel, SIZE - 1, new byte[1], 0, 1);
            }
        }
    }

    @Test
    void shouldReplayExactlyTheRecordsBeforeOneDamagedByteAnywhereInTheLastThreeRecords() throws Exception
    {
        final Path file = dir.resolve(WriteAheadLog.FILE);
        final List<Appended> appended = pristine(new int[]{5, 20, 1, 40, 1, 75, 3});
        final Appended checkpoint = appended.get(3);
        final List<Appended> lastThree = appended.subList(4, 7);
        final byte[] one = new byte[1];
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true);
            FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            for (int damaged = 0; damaged < 3; damaged++)
            {
                final Appended record = lastThree.get(damaged);
                for (long at = record.start(); at < record.start() + record.length(); at++)
                {
                    channel.read(ByteBuffer.wrap(one), at);
                    final byte original = one[0];
                    one[0] = (byte)(original ^ ((at & 1) == 0 ? 0xFF : 1 << (at % 8)));
                    WalTesting.write(channel, at, one, 0, 1);

                    final Collector collector = new Collector();
                    final WriteAheadLog.Replay replay =
                        wal.replay(checkpoint.sequence(), checkpoint.end(), checkpoint.crc(), collector);
                    assertEquals(damaged, replay.records(), "damage at " + at);
                    assertEquals(effectsOf(lastThree.subList(0, damaged)), collector.effects, "damage at " + at);

                    one[0] = original;
                    WalTesting.write(channel, at, one, 0, 1);
                }
            }
            final Collector intact = new Collector();
            assertEquals(3, wal.replay(checkpoint.sequence(), checkpoint.end(), checkpoint.crc(), intact).records());
        }
    }

    /** Writes records of the given effect counts to a new log and closes it. */
    private List<Appended> pristine(final int[] counts)
    {
        final Random random = new Random(3);
        final List<Appended> appended = new ArrayList<>();
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            wal.startAppending(1, PAGE, 0, PAGE);
            for (final int count : counts)
            {
                appended.add(append(wal, random, count, 1));
            }
            assertEquals(0, wal.sync());
        }
        return appended;
    }

    @Test
    void shouldNeverTakeAnOldLifesRecordAfterTheNewLifesTail() throws Exception
    {
        final Path file = dir.resolve(WriteAheadLog.FILE);
        final Random random = new Random(4);
        final List<Appended> first = pristine(new int[]{10, 10, 10, 10, 10, 30, 30});
        final Appended oldSixth = first.get(5);
        final Appended oldSeventh = first.get(6);
        final long torn = oldSixth.start() + 1000;
        WalTesting.write(file, torn, new byte[]{(byte)~WalTesting.read(file, torn, 1)[0]});
        final byte[] oldSeventhBytes = WalTesting.read(file, oldSeventh.start(), oldSeventh.length());

        final List<Appended> second = new ArrayList<>(first.subList(0, 5));
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            final WriteAheadLog.Replay replay = wal.replay(0, PAGE, 0, new Collector());
            assertEquals(5, replay.lastSequence(), "record 6 is torn");
            wal.startAppending(6, replay.nextPosition(), replay.lastCrc(), PAGE);
            final Appended newSixth = append(wal, random, 30, 2);
            second.add(newSixth);
            assertEquals(oldSixth.start(), newSixth.start());
            assertEquals(oldSeventh.start(), wal.nextPosition(), "the old record 7 sits where the new one would go");
            assertEquals(0, wal.sync());
        }
        final ByteBuffer header =
            ByteBuffer.wrap(WalTesting.read(file, oldSeventh.start(), 48)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(7, header.getLong(WalRecord.SEQUENCE_OFFSET), "the old, complete record 7 is still on disk");

        final byte[] newSeventhBytes;
        final Appended newSeventh;
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            final Collector collector = new Collector();
            final WriteAheadLog.Replay replay = wal.replay(0, PAGE, 0, collector);
            assertEquals(6, replay.records(), "the old record 7 does not chain to the new record 6");
            assertEquals(effectsOf(second), collector.effects);

            wal.startAppending(7, replay.nextPosition(), replay.lastCrc(), PAGE);
            newSeventh = append(wal, random, 30, 3);
            assertEquals(oldSeventh.start(), newSeventh.start());
            newSeventhBytes = WalTesting.read(file, newSeventh.start(), newSeventh.length());
        }
        // Torn: the new record's first sector reached the disk, the rest is still the old record 7.
        WalTesting.write(file, newSeventh.start() + 512,
            java.util.Arrays.copyOfRange(oldSeventhBytes, 512, oldSeventhBytes.length));
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            final Collector collector = new Collector();
            assertEquals(6, wal.replay(0, PAGE, 0, collector).records(), "neither the torn new 7 nor the old 7");
            assertEquals(effectsOf(second), collector.effects);
        }
        WalTesting.write(file, newSeventh.start(), newSeventhBytes);
        second.add(newSeventh);
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            final Collector collector = new Collector();
            assertEquals(7, wal.replay(0, PAGE, 0, collector).records());
            assertEquals(effectsOf(second), collector.effects);
        }
    }

    @Test
    void shouldRefuseALogOfAnotherStore()
    {
        WriteAheadLog.open(dir, SIZE, STORE, true).close();
        final byte[] other = STORE.clone();
        other[15] ^= 1;
        final IllegalStateException refused =
            assertThrows(IllegalStateException.class, () -> WriteAheadLog.open(dir, SIZE, other, true));
        assertTrue(refused.getMessage().contains(dir.resolve(WriteAheadLog.FILE).toString()), refused.getMessage());
        assertTrue(refused.getMessage().contains("tools/rbcheck"), refused.getMessage());
        assertTrue(refused.getMessage().contains("belongs to store 00112233445566778899aabbccddeeff"),
            refused.getMessage());
        assertFalse(refused.getMessage().contains("\n"));
    }

    @Test
    void shouldRefuseAFileThatIsNotAWriteAheadLog() throws Exception
    {
        final Path file = dir.resolve(WriteAheadLog.FILE);
        final byte[] garbage = new byte[(int)SIZE];
        new Random(5).nextBytes(garbage);
        Files.write(file, garbage);
        assertRefused(file, "bad magic");

        Files.delete(file);
        WriteAheadLog.open(dir, SIZE, STORE, true).close();
        final byte[] sizeByte = WalTesting.read(file, 17, 1);
        WalTesting.write(file, 17, new byte[]{(byte)(sizeByte[0] ^ 4)});
        assertRefused(file, "checksum");

        Files.write(file, new byte[10]);
        assertRefused(file, "shorter than its header");
    }

    private void assertRefused(final Path file, final String problem)
    {
        final IllegalStateException refused =
            assertThrows(IllegalStateException.class, () -> WriteAheadLog.open(dir, SIZE, STORE, true));
        assertTrue(refused.getMessage().contains(file.toString()), refused.getMessage());
        assertTrue(refused.getMessage().contains("tools/rbcheck"), refused.getMessage());
        assertTrue(refused.getMessage().contains(problem), refused.getMessage());
    }

    @Test
    void shouldRestoreTheSizeOfACutShortLogAndAppendAfterItsLastWholeRecord() throws Exception
    {
        final Path file = dir.resolve(WriteAheadLog.FILE);
        final Random random = new Random(6);
        final List<Appended> appended = new ArrayList<>(pristine(new int[]{20, 20, 20, 20, 20, 20}).subList(0, 3));
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            channel.truncate(appended.get(2).end() + 100);
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            assertFalse(wal.created());
            assertEquals(SIZE, Files.size(file), "restored to the size in the header");
            final WriteAheadLog.Replay replay = wal.replay(0, PAGE, 0, new Collector());
            assertEquals(3, replay.records());
            wal.startAppending(4, replay.nextPosition(), replay.lastCrc(), PAGE);
            appended.add(append(wal, random, 20, 2));
            appended.add(append(wal, random, 20, 2));
            assertEquals(0, wal.sync());
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            final Collector collector = new Collector();
            assertEquals(5, wal.replay(0, PAGE, 0, collector).records());
            assertEquals(effectsOf(appended), collector.effects);
        }
    }

    @Test
    void shouldLeaveSequenceAndPositionUnchangedWhenAnAppendFails()
    {
        final Path file = dir.resolve(WriteAheadLog.FILE);
        final Random random = new Random(7);
        final List<Appended> appended = new ArrayList<>();
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            wal.startAppending(1, PAGE, 0, PAGE);
            appended.add(append(wal, random, 3, 1));
            appended.add(append(wal, random, 3, 1));
            final long position = wal.nextPosition();
            final int crc = wal.lastCrc();
            final long used = wal.usedBytes();
            final List<WalTesting.Effect> effects = build(wal, random, 9);

            final int readOnly = LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
            assertTrue(readOnly >= 0, Errno.describe(readOnly));
            final int real = wal.swapFd(readOnly);
            final int failed = wal.append(0, 1);
            wal.swapFd(real);
            LibC.close(readOnly);
            assertEquals(-Errno.EBADF, failed, Errno.describe(failed));
            assertEquals(2, wal.lastSequence());
            assertEquals(position, wal.nextPosition());
            assertEquals(crc, wal.lastCrc());
            assertEquals(used, wal.usedBytes());
            assertEquals(9, wal.effectsInRecord(), "the record stays for the next attempt");

            assertEquals(0, wal.append(1, 1));
            assertEquals(3, wal.lastSequence());
            assertEquals(position + PAGE, wal.nextPosition());
            appended.add(new Appended(3, position, WalRecord.length(9), wal.lastCrc(), 1, effects));
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            final Collector collector = new Collector();
            assertEquals(3, wal.replay(0, PAGE, 0, collector).records());
            assertEquals(effectsOf(appended), collector.effects);
        }
    }

    @Test
    void shouldRefuseMisuseOfTheAppendApi()
    {
        try (WriteAheadLog wal = WriteAheadLog.open(dir, 16L * PAGE, STORE, true))
        {
            assertThrows(IllegalStateException.class, wal::begin, "startAppending first");
            wal.startAppending(1, PAGE, 0, PAGE);
            wal.begin();
            assertThrows(IllegalStateException.class, () -> wal.append(0, 1), "a record without effects");
            assertThrows(IllegalStateException.class, () -> wal.replay(0, PAGE, 0, new Collector()));
            assertThrows(IllegalArgumentException.class, () -> wal.checkpointed(PAGE + 1));
            assertThrows(IllegalArgumentException.class, () -> wal.checkpointed(3L * PAGE), "nothing is there yet");
            final Random random = new Random(8);
            int records = 0;
            while (wal.hasRoom(200))
            {
                append(wal, random, 200, 1);
                records++;
            }
            assertEquals(5, records, "three pages each, in fifteen");
            build(wal, random, 200);
            assertFalse(wal.hasRoom(200));
            assertThrows(IllegalStateException.class, () -> wal.append(0, 1), "no room");
        }
    }

    @Test
    void shouldWorkOnTmpfs() throws Exception
    {
        final Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "wal-test");
        try
        {
            assertRoundTrip(shm);
        }
        finally
        {
            try (Stream<Path> files = Files.walk(shm))
            {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void shouldFallBackToBufferedIoWhereTheFilesystemRefusesODirect() throws Exception
    {
        try (SmallFilesystem ramfs = SmallFilesystem.ramfs(dir))
        {
            try (WriteAheadLog wal = WriteAheadLog.open(ramfs.path(), 16L * PAGE, STORE, true))
            {
                assertFalse(wal.isDirect(), "ramfs refuses O_DIRECT with EINVAL");
            }
            assertRoundTrip(ramfs.path());
        }
    }

    private static void assertRoundTrip(final Path where)
    {
        final Random random = new Random(9);
        final List<Appended> appended = new ArrayList<>();
        try (WriteAheadLog wal = WriteAheadLog.open(where, 16L * PAGE, STORE, true))
        {
            wal.startAppending(1, PAGE, 0, PAGE);
            for (int i = 0; i < 5; i++)
            {
                appended.add(append(wal, random, 1 + random.nextInt(60), 1));
            }
            assertEquals(0, wal.sync());
        }
        try (WriteAheadLog wal = WriteAheadLog.open(where, 16L * PAGE, STORE, true))
        {
            final Collector collector = new Collector();
            assertEquals(5, wal.replay(0, PAGE, 0, collector).records());
            assertEquals(effectsOf(appended), collector.effects);
        }
    }
}
