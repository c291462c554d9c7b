package io.ringblocks.server;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.ClientOptions;
import io.ringblocks.client.ClusterClient;
import io.ringblocks.client.ClusterException;
import io.ringblocks.client.ClusterOptions;
import io.ringblocks.client.Hash;
import io.ringblocks.client.Member;
import io.ringblocks.client.MemberList;
import io.ringblocks.client.MemberState;
import io.ringblocks.client.MembershipSource;
import io.ringblocks.client.NotFoundException;
import io.ringblocks.client.Placement;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ClusterClient} against three (and four) real servers on loopback: placement on the owners, fallback and
 * read repair, a member down for PUT (quorum), GET and DELETE, and reads during a migration.
 */
@Timeout(120)
class ClusterClientTest
{
    @TempDir
    Path dir;

    private final List<RingblocksServer> servers = new ArrayList<>();
    private final Random random = new Random(42);

    @AfterEach
    void stopServers()
    {
        for (final RingblocksServer s : servers)
        {
            s.close();
        }
    }

    private MemberList start(final int count)
    {
        final List<Member> members = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            final ServerConfig config = ServerHarness.config(dir.resolve("m" + servers.size())).toBuilder()
                .workers(1).arenaSize(8L << 20).conclude();
            final RingblocksServer server = RingblocksServer.start(config);
            servers.add(server);
            members.add(new Member("127.0.0.1", server.port(), 1));
        }
        return new MemberList(members);
    }

    private static ClusterOptions.Builder options(final MemberList members)
    {
        return ClusterOptions.builder().members(members).replicas(2).downInterval(Duration.ofSeconds(30))
            .client(ClientOptions.builder().port(1).poolSize(1).connectTimeout(Duration.ofSeconds(2))
                .requestTimeout(Duration.ofSeconds(5)).reconnectAttempts(1).build());
    }

    private byte[] block()
    {
        final byte[] b = new byte[1 + random.nextInt(20_000)];
        random.nextBytes(b);
        return b;
    }

    private static BlockClient direct(final Member m)
    {
        return BlockClient.connect(m.host(), m.port());
    }

    /** A block whose owners (R = 2) include member {@code wanted} (and, if {@code first}, as the primary). */
    private byte[] blockOwnedBy(final Placement placement, final int wanted, final boolean first)
    {
        while (true)
        {
            final byte[] b = block();
            final int[] owners = placement.owners(Hash.of(b), 2);
            if (owners[0] == wanted || !first && owners[1] == wanted)
            {
                return b;
            }
        }
    }

    @Test
    void shouldStoreEachBlockOnExactlyItsOwners()
    {
        final MemberList members = start(3);
        try (ClusterClient cluster = ClusterClient.connect(options(members).build()))
        {
            final Placement placement = cluster.placement();
            final List<byte[]> blocks = new ArrayList<>();
            for (int i = 0; i < 40; i++)
            {
                final byte[] b = block();
                blocks.add(b);
                assertEquals(Hash.of(b), i % 2 == 0 ? cluster.put(b) : cluster.async().put(b).join());
            }
            for (int m = 0; m < 3; m++)
            {
                try (BlockClient client = direct(members.get(m)))
                {
                    for (final byte[] b : blocks)
                    {
                        final int[] owners = placement.owners(Hash.of(b), 2);
                        final boolean owner = owners[0] == m || owners[1] == m;
                        assertEquals(owner, client.head(Hash.of(b)).isPresent(), "member " + m + " holds it");
                    }
                }
            }
            for (final byte[] b : blocks)
            {
                assertArrayEquals(b, cluster.get(Hash.of(b)));
                assertEquals(OptionalInt.of(b.length), cluster.head(Hash.of(b)));
            }
            assertArrayEquals(Arrays.copyOfRange(blocks.get(0), 0, 1),
                cluster.getRange(Hash.of(blocks.get(0)), 0, 1));
            final List<Hash> ask = new ArrayList<>();
            blocks.forEach(b -> ask.add(Hash.of(b)));
            ask.add(Hash.of(new byte[]{1}));
            assertEquals(List.of(Hash.of(new byte[]{1})), cluster.findMissing(ask));
            assertThrows(NotFoundException.class, () -> cluster.get(Hash.of(new byte[]{1})));
            assertEquals(OptionalInt.empty(), cluster.head(Hash.of(new byte[]{1})));
            assertTrue(cluster.stats().get(members.get(0).address() + "/member_up") == 1L);
            assertTrue(cluster.ping().toNanos() > 0);
            for (final MemberState s : cluster.members())
            {
                assertTrue(s.up(), s.toString());
            }
        }
    }

    @Test
    void shouldReadFromTheNextOwnerAndRepairTheOneThatMissed() throws Exception
    {
        final MemberList members = start(3);
        try (ClusterClient cluster = ClusterClient.connect(options(members).build()))
        {
            final byte[] b = block();
            final Hash h = cluster.put(b);
            final int primary = cluster.placement().primary(h);
            try (BlockClient client = direct(members.get(primary)))
            {
                assertTrue(client.delete(h), "the primary loses its copy");
                assertArrayEquals(b, cluster.get(h), "served by the second owner");
                final long deadline = System.nanoTime() + 10_000_000_000L;
                while (client.head(h).isEmpty())
                {
                    assertTrue(System.nanoTime() < deadline, "read repair restores the primary's copy");
                    Thread.sleep(10);
                }
                assertArrayEquals(b, client.get(h));
                // The repair's PUT is visible to others before its answer reaches the cluster client, which counts it.
                while (cluster.readRepairs() == 0)
                {
                    assertTrue(System.nanoTime() < deadline, "the repair is counted once its PUT is answered");
                    Thread.sleep(1);
                }
            }
            assertEquals(1, cluster.readRepairs());
        }
    }

    @Test
    void shouldNameTheDownMemberWhenAPutMissesItsQuorumAndServeFromTheOtherOwner()
    {
        final MemberList members = start(3);
        final Placement placement = new Placement(members);
        final byte[] stored = blockOwnedBy(placement, 0, true);
        final byte[] later = blockOwnedBy(placement, 0, false);
        final String down = members.get(0).address();
        try (ClusterClient cluster = ClusterClient.connect(options(members).build());
            ClusterClient degraded = ClusterClient.connect(options(members).writeQuorum(1).build()))
        {
            final Hash h = cluster.put(stored);
            servers.get(0).close();

            final ClusterException e = assertThrows(ClusterException.class, () -> cluster.put(later));
            assertTrue(e.failures().containsKey(down), e.getMessage());
            assertEquals(1, e.failures().size(), e.getMessage());
            assertFalse(cluster.members().get(0).up(), "the failed member is marked down");
            assertTrue(cluster.members().get(0).failures() > 0);
            assertTrue(cluster.members().get(1).up());

            assertArrayEquals(stored, cluster.get(h), "its primary is down: served by the second owner");
            assertEquals(Hash.of(later), degraded.put(later), "W = 1 stores on the reachable owner");
            assertArrayEquals(later, degraded.get(Hash.of(later)));

            final ClusterException d = assertThrows(ClusterException.class, () -> cluster.delete(h));
            assertTrue(d.failures().containsKey(down), d.getMessage());
            assertEquals(1, d.failures().size(), d.getMessage());
            final ClusterException g = assertThrows(ClusterException.class, () -> cluster.get(h),
                "deleted on the reachable owner, its primary unreachable: not a plain NOT_FOUND");
            assertTrue(g.failures().containsKey(down), g.getMessage());
        }
    }

    @Test
    void shouldStartWithAMemberThatCannotBeReachedAndSkipIt() throws Exception
    {
        final MemberList two = start(2);
        final int unused;
        try (ServerSocket probe = new ServerSocket(0))
        {
            unused = probe.getLocalPort(); // closed again: nobody listens there
        }
        final List<Member> list = new ArrayList<>(two.members());
        list.add(new Member("127.0.0.1", unused, 1));
        final MemberList members = new MemberList(list);
        try (ClusterClient cluster = ClusterClient.connect(options(members).writeQuorum(1).build()))
        {
            final MemberState missing = cluster.members().get(2);
            assertFalse(missing.up(), missing.toString());
            assertTrue(missing.lastError().contains("ConnectionLostException"), missing.lastError());
            final byte[] b = blockOwnedBy(cluster.placement(), 2, true);
            final Hash h = cluster.put(b);
            assertArrayEquals(b, cluster.get(h), "from the reachable owner, the unreachable one skipped");
            final ClusterException e = assertThrows(ClusterException.class, () -> cluster.ping());
            assertTrue(e.failures().containsKey("127.0.0.1:" + unused), e.getMessage());
        }
    }

    @Test
    void shouldReadFromARemovedMemberUntilTheMigrationEnds()
    {
        final MemberList four = start(4);
        final MemberList three = new MemberList(four.members().subList(0, 3));
        final List<byte[]> onRemoved = new ArrayList<>();
        try (ClusterClient before = ClusterClient.connect(options(four).build()))
        {
            while (onRemoved.size() < 5)
            {
                final byte[] b = blockOwnedBy(before.placement(), 3, true);
                before.put(b);
                onRemoved.add(b);
            }
        }
        // The block's other owner under the old list loses its copy: only the removed member still has it.
        final Placement old = new Placement(four);
        for (final byte[] b : onRemoved)
        {
            try (BlockClient client = direct(four.get(old.owners(Hash.of(b), 2)[1])))
            {
                client.delete(Hash.of(b));
            }
        }
        try (ClusterClient cluster = ClusterClient.connect(options(three).membership(
            MembershipSource.of(three, four)).build()))
        {
            for (final byte[] b : onRemoved)
            {
                assertArrayEquals(b, cluster.get(Hash.of(b)), "found on the member being removed");
            }
        }
    }

    @Test
    void shouldFindBlocksUnderThePreviousMemberListDuringAMigration()
    {
        final MemberList three = start(3);
        final MemberList four;
        {
            final List<Member> more = new ArrayList<>(three.members());
            more.addAll(start(1).members());
            four = new MemberList(more);
        }
        final List<byte[]> blocks = new ArrayList<>();
        try (ClusterClient before = ClusterClient.connect(options(three).build()))
        {
            for (int i = 0; i < 30; i++)
            {
                final byte[] b = block();
                blocks.add(b);
                before.put(b);
            }
        }
        final ClusterOptions migrating = options(four).membership(MembershipSource.of(four, three)).build();
        try (ClusterClient cluster = ClusterClient.connect(migrating);
            ClusterClient plain = ClusterClient.connect(options(four).build()))
        {
            int moved = 0;
            for (final byte[] b : blocks)
            {
                final Hash h = Hash.of(b);
                assertArrayEquals(b, cluster.get(h));
                final int[] owners = cluster.placement().owners(h, 2);
                if (owners[0] == 3 || owners[1] == 3)
                {
                    moved++;
                }
            }
            assertTrue(moved > 0, "some blocks belong to the new member");
            assertTrue(cluster.readRepairs() + cluster.readRepairFailures() <= moved);
            // Deleting during the migration reaches the previous owners too.
            final Hash h = Hash.of(blocks.get(0));
            assertTrue(cluster.delete(h));
            assertThrows(NotFoundException.class, () -> plain.get(h));
            for (int m = 0; m < 3; m++)
            {
                try (BlockClient client = direct(three.get(m)))
                {
                    assertFalse(client.head(h).isPresent(), "no copy left on member " + m);
                }
            }
        }
    }

    /** A member that accepts connections and reads requests, counting them, but never answers one. */
    private static final class SilentMember implements AutoCloseable
    {
        private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final AtomicInteger requests = new AtomicInteger();

        SilentMember() throws IOException
        {
            Thread.ofVirtual().start(this::accept);
        }

        Member member()
        {
            return new Member("127.0.0.1", listener.getLocalPort(), 1);
        }

        int requests()
        {
            return requests.get();
        }

        private void accept()
        {
            try
            {
                while (true)
                {
                    final Socket socket = listener.accept();
                    Thread.ofVirtual().start(() -> read(socket));
                }
            }
            catch (final IOException ex)
            {
                // closed
            }
        }

        private void read(final Socket socket)
        {
            try (socket; DataInputStream in = new DataInputStream(socket.getInputStream()))
            {
                while (true)
                {
                    in.skipNBytes(Integer.reverseBytes(in.readInt()) & 0xFFFF_FFFFL); // little-endian length, then the rest
                    requests.incrementAndGet();
                }
            }
            catch (final IOException ex)
            {
                // the client closed it
            }
        }

        @Override
        public void close() throws IOException
        {
            listener.close();
        }
    }

    private static void awaitTrue(final String what, final BooleanSupplier condition) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean())
        {
            assertTrue(System.nanoTime() < deadline, what + ": not reached in 5 s");
            Thread.sleep(2);
        }
    }

    @Test
    void shouldMakeCallersBeyondMaxOutstandingWaitForAnOperationToComplete() throws Exception
    {
        final byte[][] blocks = {block(), block(), block()};
        try (SilentMember silent = new SilentMember();
             ClusterClient cluster = ClusterClient.connect(options(new MemberList(List.of(silent.member())))
                 .replicas(1).maxOutstanding(2)
                 // No request may time out meanwhile: that would free permits and send liveness PINGs.
                 .client(ClientOptions.builder().port(1).poolSize(1).connectTimeout(Duration.ofSeconds(2))
                     .requestTimeout(Duration.ofSeconds(120)).reconnectAttempts(1).build())
                 .build()))
        {
            final CompletableFuture<Hash> first = cluster.async().put(blocks[0]);
            final CompletableFuture<Hash> second = cluster.async().put(blocks[1]);
            final CompletableFuture<CompletableFuture<Hash>> third = new CompletableFuture<>();
            final Thread caller = Thread.ofPlatform().name("third-caller")
                .start(() -> third.complete(cluster.async().put(blocks[2])));
            awaitTrue("the third caller waits", () -> caller.getState() == Thread.State.TIMED_WAITING);
            awaitTrue("two PUTs reached the member", () -> silent.requests() == 2);
            assertFalse(third.isDone(), "the third operation did not start while two were outstanding");
            first.cancel(false); // completing an operation gives its permit back
            caller.join();
            awaitTrue("the third PUT reached the member", () -> silent.requests() == 3);
            assertFalse(second.isDone());
            third.join().cancel(false);
            second.cancel(false);
        }
    }
}
