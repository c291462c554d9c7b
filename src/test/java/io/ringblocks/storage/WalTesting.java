package io.ringblocks.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What the write-ahead log tests share: appending random records, remembering them, and collecting replays. */
final class WalTesting
{
    static final int PAGE = WriteAheadLog.PAGE;
    static final byte[] STORE = HexFormat.of().parseHex("00112233445566778899aabbccddeeff");

    private WalTesting()
    {
    }

    /** One effect as replay delivers it; the hash as hex so records compare by value. */
    record Effect(long sequence, int type, String hash, long offset, int length, int sizeClass, int crc, int flags)
    {
    }

    /** A record as appended: where it landed, its unpadded length, CRC and effects. */
    record Appended(long sequence, long start, int length, int crc, long durable, List<Effect> effects)
    {
        long end()
        {
            return start + WriteAheadLog.recordBytes(effects.size());
        }
    }

    static final class Collector implements WriteAheadLog.EffectVisitor
    {
        final List<Effect> effects = new ArrayList<>();

        @Override
        public void effect(final long sequence, final int type, final DirectBuffer hash, final int hashOffset,
            final long offset, final int length, final int sizeClass, final int crc, final int flags)
        {
            final byte[] bytes = new byte[32];
            hash.getBytes(hashOffset, bytes);
            final String hex = HexFormat.of().formatHex(bytes);
            effects.add(new Effect(sequence, type, hex, offset, length, sizeClass, crc, flags));
        }
    }

    /** Begins a record of {@code count} random effects (about a quarter DELETEs). @return the effects expected back. */
    static List<Effect> build(final WriteAheadLog wal, final Random random, final int count)
    {
        final long sequence = wal.lastSequence() + 1;
        final UnsafeBuffer hash = new UnsafeBuffer(new byte[40]);
        final byte[] bytes = new byte[32];
        final List<Effect> effects = new ArrayList<>();
        wal.begin();
        for (int i = 0; i < count; i++)
        {
            random.nextBytes(bytes);
            final int at = random.nextInt(8);
            hash.putBytes(at, bytes);
            final String hex = HexFormat.of().formatHex(bytes);
            if (random.nextInt(4) == 0)
            {
                wal.addDelete(hash, at);
                effects.add(new Effect(sequence, WriteAheadLog.DELETE, hex, 0, 0, 0, 0, 0));
            }
            else
            {
                final long offset = (long)random.nextInt(1 << 30) * PAGE;
                final int length = 1 + random.nextInt(1 << 20);
                final int sizeClass = random.nextInt(256);
                final int crc = random.nextInt();
                final int flags = random.nextInt(256);
                wal.addPut(hash, at, offset, length, sizeClass, crc, flags);
                effects.add(new Effect(sequence, WriteAheadLog.PUT, hex, offset, length, sizeClass, crc, flags));
            }
        }
        assertEquals(count, wal.effectsInRecord());
        return effects;
    }

    /** Appends a record of {@code count} random effects, which must succeed. */
    static Appended append(final WriteAheadLog wal, final Random random, final int count, final long openSequence)
    {
        final List<Effect> effects = build(wal, random, count);
        final long sequence = wal.lastSequence() + 1;
        final long durable = Math.max(0, sequence - 2);
        assertEquals(0, wal.append(durable, openSequence));
        assertEquals(sequence, wal.lastSequence());
        final long start = wal.nextPosition() - WriteAheadLog.recordBytes(count);
        return new Appended(sequence, start, WalRecord.length(count), wal.lastCrc(), durable, effects);
    }

    static List<Effect> effectsOf(final List<Appended> records)
    {
        final List<Effect> effects = new ArrayList<>();
        for (final Appended record : records)
        {
            effects.addAll(record.effects());
        }
        return effects;
    }

    static byte[] read(final Path file, final long position, final int length) throws IOException
    {
        final ByteBuffer bytes = ByteBuffer.allocate(length);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            while (bytes.hasRemaining() && channel.read(bytes, position + bytes.position()) > 0)
            {
                // until done or the file ends
            }
        }
        return bytes.array();
    }

    static void write(final Path file, final long position, final byte[] bytes) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            write(channel, position, bytes, 0, bytes.length);
        }
    }

    static void write(final FileChannel channel, final long position, final byte[] bytes, final int from,
        final int length) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.wrap(bytes, from, length);
        while (buffer.hasRemaining())
        {
            channel.write(buffer, position + buffer.position() - from);
        }
    }
}
