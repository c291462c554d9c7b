package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmdbjava.Txn;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The scrubber's walk: bounded batches in hash order, each resuming right after the last key it saw. */
class BlockIndexScanTest
{
    @TempDir
    Path dir;

    @Test
    void shouldScanEveryEntryOnceInHashOrderInBoundedBatches()
    {
        try (BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
            final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(IndexValue.VALUE_LENGTH));
            final Random random = new Random(8);
            try (Txn<DirectBuffer> txn = index.writeTxn())
            {
                for (int i = 0; i < 200; i++)
                {
                    final byte[] h = new byte[32];
                    random.nextBytes(h);
                    key.putBytes(0, h);
                    IndexValue.encode(value, i * 4096L, 100 + i, 0, 0, ~i, i % 2);
                    index.put(txn, key, value);
                }
                txn.commit();
            }
            final List<String> seen = new ArrayList<>();
            final List<Integer> batches = new ArrayList<>();
            final UnsafeBuffer last = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
            boolean first = true;
            while (true)
            {
                final int n = index.scan(first ? null : last, 64, (hash, offset, length, sizeClass, crc, flags) ->
                {
                    final byte[] h = new byte[32];
                    hash.getBytes(0, h);
                    seen.add(HexFormat.of().formatHex(h));
                    last.putBytes(0, h);
                    final int i = (int)(offset / 4096);
                    assertEquals(100 + i, length);
                    assertEquals(~i, crc);
                    assertEquals(i % 2, flags);
                });
                first = false;
                batches.add(n);
                if (n < 64)
                {
                    break;
                }
            }
            assertEquals(List.of(64, 64, 64, 8), batches);
            assertEquals(200, seen.stream().distinct().count());
            assertEquals(seen.stream().sorted().toList(), seen, "hash order");
        }
    }
}
