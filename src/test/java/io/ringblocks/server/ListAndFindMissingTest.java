package io.ringblocks.server;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.BlockClientPool;
import io.ringblocks.client.ClientOptions;
import io.ringblocks.client.Hash;
import io.ringblocks.client.ListPage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LIST pages through every stored block in hash order, including PUTs acknowledged a moment before (they may still
 * be only in the write-ahead log's overlay: LIST waits for a checkpoint) and none deleted; FIND_MISSING answers
 * which of many hashes are not stored, across several pipelined requests.
 */
@Timeout(60)
class ListAndFindMissingTest
{
    @TempDir
    Path dir;

    @Test
    void shouldListEveryStoredBlockOnceInHashOrderAndFindTheMissingOnes()
    {
        final Random random = new Random(5);
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir));
            BlockClientPool pool = BlockClientPool.connect(ClientOptions.builder().port(server.port()).poolSize(2)
                .build());
            BlockClient client = BlockClient.connect("127.0.0.1", server.port()))
        {
            final ListPage empty = client.list(null, 10);
            assertTrue(empty.entries().isEmpty());
            assertFalse(empty.more());

            final TreeMap<String, Integer> stored = new TreeMap<>();
            final List<Hash> deleted = new ArrayList<>();
            for (int i = 0; i < 300; i++)
            {
                final byte[] b = new byte[1 + random.nextInt(9000)];
                random.nextBytes(b);
                final Hash h = pool.put(b);
                stored.put(h.toHex(), b.length);
            }
            for (final String hex : new ArrayList<>(stored.keySet()).subList(100, 120))
            {
                assertTrue(pool.delete(Hash.fromHex(hex)));
                stored.remove(hex);
                deleted.add(Hash.fromHex(hex));
            }

            // Right after the acknowledgements: every PUT listed, no DELETE.
            final TreeMap<String, Integer> listed = new TreeMap<>();
            Hash after = null;
            String previous = "";
            int pages = 0;
            while (true)
            {
                final ListPage page = client.list(after, 37);
                pages++;
                for (final ListPage.Entry e : page.entries())
                {
                    assertTrue(e.hash().toHex().compareTo(previous) > 0, "ascending, each once");
                    previous = e.hash().toHex();
                    listed.put(e.hash().toHex(), e.length());
                }
                assertTrue(page.entries().size() <= 37);
                if (!page.more())
                {
                    break;
                }
                after = page.next();
            }
            assertEquals(stored, listed);
            assertEquals(280 / 37 + 1, pages);
            // A client configured for small blocks still takes a LIST page larger than its block size.
            try (BlockClient small = BlockClient.connect(ClientOptions.builder().port(server.port()).maxBlockSize(4096)
                .build()))
            {
                final ListPage big = small.list(null, 200);
                assertEquals(200, big.entries().size(), "a 7,236-byte page");
            }

            final List<Hash> ask = new ArrayList<>();
            final List<Hash> expectedMissing = new ArrayList<>();
            for (final String hex : stored.keySet())
            {
                ask.add(Hash.fromHex(hex));
                if (ask.size() % 3 == 0)
                {
                    final byte[] absent = new byte[8];
                    random.nextBytes(absent);
                    ask.add(Hash.of(absent));
                    expectedMissing.add(Hash.of(absent));
                }
            }
            ask.addAll(deleted);
            expectedMissing.addAll(deleted);
            assertTrue(ask.size() > 3 * 127, "several requests");
            assertEquals(expectedMissing, pool.findMissing(ask), "the missing ones, in the order asked");
            assertEquals(List.of(), client.findMissing(List.of()));
        }
    }

    @Test
    void shouldListEachAcknowledgedPutWithoutACheckpointPerList()
    {
        final Random random = new Random(6);
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir));
            BlockClient client = BlockClient.connect("127.0.0.1", server.port()))
        {
            final long before = client.stats().get("checkpoints");
            final long started = System.nanoTime();
            final int rounds = 30;
            for (int i = 0; i < rounds; i++)
            {
                final byte[] b = new byte[100];
                random.nextBytes(b);
                final Hash h = client.put(b);
                assertTrue(client.list(null, 100).entries().stream().anyMatch(e -> e.hash().equals(h)),
                    "a LIST shows the PUT acknowledged before it");
            }
            final long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
            final long checkpoints = client.stats().get("checkpoints") - before;
            // Each LIST needs a checkpoint of the PUT before it, but they are spaced: a client that lists after
            // every PUT must not make LMDB commit (and flush) once per request.
            assertTrue(checkpoints <= elapsedMillis / 50 + 2, checkpoints + " checkpoints in " + elapsedMillis + " ms");
        }
    }
}
