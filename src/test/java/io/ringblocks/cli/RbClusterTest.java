package io.ringblocks.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.ClusterClient;
import io.ringblocks.client.ClusterOptions;
import io.ringblocks.client.Hash;
import io.ringblocks.client.Member;
import io.ringblocks.client.MemberList;
import io.ringblocks.client.Placement;
import io.ringblocks.server.RingblocksServer;
import io.ringblocks.server.ServerConfig;
import io.ringblocks.storage.JournalConfig;
import io.ringblocks.storage.StoreConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rbcluster against real servers: status, repair of a member that lost blocks, a dry run that changes nothing, and
 * a rebalance onto a fourth member that leaves every block on exactly its new owners; bad input exits 2.
 */
@Timeout(120)
class RbClusterTest
{
    @TempDir
    Path dir;

    private final List<RingblocksServer> servers = new ArrayList<>();

    @AfterEach
    void stop()
    {
        servers.forEach(RingblocksServer::close);
    }

    private Member start()
    {
        final StoreConfig store = StoreConfig.builder(dir.resolve("m" + servers.size())).maxSize(64L << 20)
            .growStep(8L << 20).journal(JournalConfig.builder().logSize(2L << 20).overlaySlots(1 << 14).conclude())
            .conclude();
        final RingblocksServer server = RingblocksServer.start(ServerConfig.builder(store).port(0).workers(1)
            .arenaSize(8L << 20).conclude());
        servers.add(server);
        return new Member("127.0.0.1", server.port(), 1);
    }

    private static String[] run(final int expectedExit, final String... args)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int exit = RbCluster.run(args, new PrintStream(out, true), new PrintStream(err, true));
        assertEquals(expectedExit, exit, out + " / " + err);
        return (out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8)).split("\n");
    }

    private static boolean holds(final Member m, final Hash h)
    {
        try (BlockClient c = BlockClient.connect(m.host(), m.port()))
        {
            return c.head(h).isPresent();
        }
    }

    /** Every block on exactly its owners under {@code list}. */
    private static void assertPlaced(final MemberList list, final List<Hash> hashes, final List<Member> everyone)
    {
        final Placement p = new Placement(list);
        for (final Hash h : hashes)
        {
            final List<String> owners = new ArrayList<>();
            for (final int o : p.owners(h, 2))
            {
                owners.add(p.members().get(o).address());
            }
            for (final Member m : everyone)
            {
                assertEquals(owners.contains(m.address()), holds(m, h), h + " on " + m.address());
            }
        }
    }

    @Test
    void shouldRepairAndRebalanceSoEveryBlockIsOnExactlyItsOwners() throws Exception
    {
        final List<Member> three = List.of(start(), start(), start());
        final MemberList before = new MemberList(three);
        final List<Hash> hashes = new ArrayList<>();
        final Random random = new Random(3);
        try (ClusterClient cluster = ClusterClient.connect(ClusterOptions.builder().members(before).build()))
        {
            for (int i = 0; i < 60; i++)
            {
                final byte[] b = new byte[1 + random.nextInt(5000)];
                random.nextBytes(b);
                hashes.add(cluster.put(b));
            }
        }
        final String[] status = run(0, "--members", before.toString(), "status");
        for (final Member m : three)
        {
            assertTrue(String.join("\n", status).contains(m.address()), String.join("\n", status));
        }

        // Member 0 loses everything it had (its disk was replaced, say).
        int lost = 0;
        try (BlockClient c = BlockClient.connect(three.get(0).host(), three.get(0).port()))
        {
            for (final Hash h : hashes)
            {
                lost += c.delete(h) ? 1 : 0;
            }
        }
        assertTrue(lost > 0);
        final String[] dry = run(0, "--members", before.toString(), "repair", "--dry-run");
        assertTrue(String.join("\n", dry).contains("would copy"), String.join("\n", dry));
        assertEquals(lost, String.join("\n", dry).split("would copy", -1).length - 1);
        final Path state = dir.resolve("repair.state");
        final String[] repaired = run(0, "--members", before.toString(), "repair", "--state", state.toString(),
            "--rate", "1000");
        assertTrue(repaired[repaired.length - 1].contains(lost + " copied"), String.join("\n", repaired));
        assertFalse(Files.exists(state), "a finished walk removes its state file");
        assertPlaced(before, hashes, three);
        final String[] again = run(0, "--members", before.toString(), "repair");
        assertTrue(again[again.length - 1].contains(" 0 copied"), String.join("\n", again));

        // A fourth member joins: rebalance copies its share to it and deletes what the others no longer own.
        final List<Member> four = new ArrayList<>(three);
        four.add(start());
        final MemberList after = new MemberList(four);
        run(0, "--members", after.toString(), "--previous", before.toString(), "rebalance", "--dry-run");
        assertPlaced(before, hashes, four); // the dry run changed nothing
        final String[] rebalanced = run(0, "--members", after.toString(), "--previous", before.toString(),
            "rebalance");
        assertTrue(rebalanced[rebalanced.length - 1].contains("deleted"), String.join("\n", rebalanced));
        assertPlaced(after, hashes, four);

        // And one leaves again: its blocks go to the remaining owners, it ends up empty.
        run(0, "--members", before.toString(), "--previous", after.toString(), "rebalance");
        assertPlaced(before, hashes, four);
    }

    @Test
    void shouldAnswerBadInputWithOneLineAndExitTwo() throws Exception
    {
        final String[] bad = run(2, "--members", "nohost", "status");
        assertTrue(bad[bad.length - 1].contains("bad member"), String.join("\n", bad));
        final String[] unknown = run(2, "--members", "127.0.0.1:1", "explode");
        assertTrue(String.join("\n", unknown).contains("unknown action"), String.join("\n", unknown));
        final String[] missing = run(2, "status");
        assertEquals(1, missing.length, "one line: " + String.join("\n", missing));
        assertTrue(missing[0].contains("--members") && missing[0].contains("see --help"), missing[0]);
        if ("127.0.0.1".equals(InetAddress.getByName("localhost").getHostAddress()))
        {
            final String[] alias = run(2, "--members", "localhost:7000,127.0.0.1:7000", "status");
            assertTrue(String.join("\n", alias).contains("same server"), String.join("\n", alias));
        }
        final String[] noPrevious = run(2, "--members", "127.0.0.1:7000", "rebalance");
        assertTrue(String.join("\n", noPrevious).contains("needs --previous"), String.join("\n", noPrevious));
    }

    @Test
    void shouldPlaceTheProgressBarByTheCursorsPositionInHashSpace()
    {
        assertEquals(0.0, RbCluster.fraction(Hash.fromHex("00".repeat(32))));
        assertEquals(0.5, RbCluster.fraction(Hash.fromHex("80" + "00".repeat(31))), 1e-9);
        assertTrue(RbCluster.fraction(Hash.fromHex("ff".repeat(32))) > 0.999);
    }

    /** An owner that cannot be asked stops the walk at that page, deletes nothing and keeps the cursor. */
    @Test
    void shouldStopAtAPageAnOwnerCouldNotConfirmAndResumeThere() throws Exception
    {
        final Member a = start();
        final Member b = start();
        final MemberList two = new MemberList(List.of(a, b));
        final List<Hash> hashes = new ArrayList<>();
        try (ClusterClient cluster = ClusterClient.connect(ClusterOptions.builder().members(two).build()))
        {
            for (int i = 0; i < 20; i++)
            {
                hashes.add(cluster.put(("block " + i).getBytes(StandardCharsets.UTF_8)));
            }
        }
        final int dead;
        try (ServerSocket probe = new ServerSocket(0))
        {
            dead = probe.getLocalPort();
        }
        final MemberList three = new MemberList(List.of(a, b, new Member("127.0.0.1", dead, 1)));
        final Path state = dir.resolve("walk.state");
        final String[] dry = run(1, "--members", three.toString(), "--previous", two.toString(), "rebalance",
            "--dry-run", "--state", state.toString());
        assertFalse(Files.exists(state), "a dry run writes no state: " + String.join("\n", dry));
        final String[] out = run(1, "--members", three.toString(), "--previous", two.toString(), "rebalance",
            "--state", state.toString());
        assertTrue(String.join("\n", out).contains("could not be asked"), String.join("\n", out));
        assertTrue(String.join("\n", out).contains(" 0 deleted"), String.join("\n", out));
        assertTrue(Files.readString(state).startsWith("# rbcluster rebalance"), Files.readString(state));
        for (final Hash h : hashes)
        {
            assertTrue(holds(a, h) && holds(b, h), "nothing deleted while an owner was unreachable");
        }
        final String[] other = run(2, "--members", two.toString(), "repair", "--state", state.toString());
        assertTrue(String.join("\n", other).contains("records another walk"), String.join("\n", other));
    }
}
