package io.ringblocks.cli;

import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.ClientOptions;
import io.ringblocks.client.CorruptBlockException;
import io.ringblocks.client.Hash;
import io.ringblocks.client.IntegrityException;
import io.ringblocks.client.ListPage;
import io.ringblocks.client.Member;
import io.ringblocks.client.MemberList;
import io.ringblocks.client.NotFoundException;
import io.ringblocks.client.Placement;
import io.ringblocks.client.RingblocksException;

/**
 * The operator's tool for a ringblocks cluster (docs/cluster.md): {@code status} shows each member's blocks, bytes,
 * free space and health; {@code repair} walks every member's blocks (LIST) and copies each to those of its owners
 * that lack it (FIND_MISSING, GET, PUT with VERIFY_HASH); {@code rebalance} does the same after a membership change
 * and then deletes a block from a member that no longer owns it, only once every owner confirmed its copy. The walk
 * is resumable ({@code --state}), rate-bounded ({@code --rate}) and can be dry-run.
 */
@Command(name = "rbcluster", mixinStandardHelpOptions = true, sortOptions = false,
    versionProvider = VersionProvider.class,
    description = "Status, repair and rebalance of a ringblocks cluster.",
    footer = {"", "Actions:",
        "  status     each member's blocks, bytes, free space and health",
        "  repair     copy every block to all of its owners that lack it",
        "  rebalance  repair, then delete blocks from members that no longer own them (after --previous changed)"})
public final class RbCluster implements Callable<Integer>
{
    @Parameters(index = "0", paramLabel = "ACTION", description = "status, repair or rebalance")
    String action;

    @Option(names = "--members", required = true, paramLabel = "LIST",
        description = "the member list, host:port[=weight],...")
    String members;

    @Option(names = "--previous", paramLabel = "LIST",
        description = "the member list before the change (rebalance; members only here are emptied)")
    String previous;

    @Option(names = "--replicas", paramLabel = "R", defaultValue = "2", description = "owners per block (default: 2)")
    int replicas;

    @Option(names = "--rate", paramLabel = "N", defaultValue = "0",
        description = "most blocks copied or deleted per second, 0 = unbounded (default: 0)")
    int rate;

    @Option(names = "--dry-run", description = "print what would be copied or deleted, change nothing")
    boolean dryRun;

    @Option(names = "--state", paramLabel = "FILE",
        description = "progress file: a rerun resumes each member's walk where it stopped; removed when done")
    Path state;

    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, BlockClient> clients = new LinkedHashMap<>();
    private final Map<String, String> progress = new LinkedHashMap<>();
    private long copied;
    private long deleted;
    private long kept;
    private long walked;
    private long unreadable;
    private long lastOperationNanos;
    private String stateHeader = "";

    RbCluster(final PrintStream out, final PrintStream err)
    {
        this.out = out;
        this.err = err;
    }

    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        final CommandLine cli = Cli.commandLine(new RbCluster(out, err), "rbcluster");
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(out, true));
        return cli.execute(args);
    }

    @Override
    public Integer call() throws IOException
    {
        final MemberList current = MemberList.parse(members);
        final MemberList before = previous == null ? null : MemberList.parse(previous);
        if (replicas < 1 || rate < 0)
        {
            throw new IllegalArgumentException("--replicas must be >= 1 and --rate >= 0");
        }
        if (action.equals("rebalance") && before == null)
        {
            throw new IllegalArgumentException("rebalance needs --previous: the list before the change");
        }
        final List<Member> all = new ArrayList<>(current.members());
        if (before != null)
        {
            for (final Member m : before.members())
            {
                if (current.indexOf(m.address()) < 0)
                {
                    all.add(m);
                }
            }
        }
        refuseAliases(all);
        try
        {
            return switch (action)
            {
                case "status" -> status(current, all);
                case "repair", "rebalance" -> walk(current, all, action.equals("rebalance"));
                default -> throw new IllegalArgumentException("unknown action '" + action +
                    "' (status, repair, rebalance)");
            };
        }
        finally
        {
            clients.values().forEach(BlockClient::close);
        }
    }

    /**
     * Placement is by the member strings, so one server under two names (a host name and its address) would be two
     * members: a rebalance could then "move" blocks to the same server and delete them there.
     */
    private static void refuseAliases(final List<Member> all)
    {
        final Map<String, String> seen = new LinkedHashMap<>();
        for (final Member m : all)
        {
            String resolved;
            try
            {
                resolved = InetAddress.getByName(m.host()).getHostAddress() + ":" + m.port();
            }
            catch (final UnknownHostException e)
            {
                resolved = m.address(); // reported as unreachable when used
            }
            final String other = seen.putIfAbsent(resolved, m.address());
            if (other != null && !other.equals(m.address()))
            {
                throw new IllegalArgumentException(other + " and " + m.address() + " are the same server (" +
                    resolved + "): give every member one name, the same in every list and client");
            }
        }
    }

    // ---------------------------------------------------------------- status

    private int status(final MemberList current, final List<Member> all)
    {
        int down = 0;
        out.printf("%-24s %-8s %12s %16s %16s %16s%n", "member", "health", "blocks", "bytes", "free", "disk free");
        for (final Member m : all)
        {
            final String role = current.indexOf(m.address()) < 0 ? " (leaving)" : "";
            try
            {
                final Map<String, Long> s = client(m).stats();
                long blocks = 0;
                for (final Map.Entry<String, Long> e : s.entrySet())
                {
                    if (e.getKey().startsWith("store_blocks_"))
                    {
                        blocks += e.getValue();
                    }
                }
                final long used = s.getOrDefault("store_used_bytes", 0L);
                out.printf("%-24s %-8s %12d %16d %16d %16d%s%n", m.address(),
                    s.getOrDefault("store_low_disk", 0L) == 1 ? "low-disk" : "up", blocks, used,
                    s.getOrDefault("store_capacity_bytes", 0L) - used, s.getOrDefault("store_disk_free_bytes", 0L),
                    role);
            }
            catch (final RingblocksException e)
            {
                down++;
                out.printf("%-24s %-8s %s%s%n", m.address(), "DOWN", e.getMessage(), role);
            }
        }
        return down == 0 ? 0 : 1;
    }

    // ---------------------------------------------------------------- repair, rebalance

    private int walk(final MemberList current, final List<Member> all, final boolean rebalance) throws IOException
    {
        final Placement placement = new Placement(current);
        loadState(current);
        saveState(); // the walk is recorded from its start, so an early failure leaves it resumable
        int failedMembers = 0;
        for (final Member source : all)
        {
            final String at = progress.get(source.address());
            if ("done".equals(at))
            {
                continue;
            }
            try
            {
                if (walkMember(source, at == null ? null : Hash.fromHex(at), placement, current, rebalance))
                {
                    progress.put(source.address(), "done");
                    saveState();
                }
                else
                {
                    failedMembers++; // stopped at a page an owner could not confirm: the cursor stays before it
                }
            }
            catch (final RingblocksException | IllegalStateException e)
            {
                failedMembers++;
                warn(source.address() + ": " + e.getMessage() + " (rerun to resume)");
            }
        }
        finishProgress();
        out.printf("%s%s: %d blocks walked, %d copied, %d deleted, %d kept (an owner lacked them), %d unreadable%n",
            dryRun ? "dry run, " : "", action, walked, copied, deleted, kept, unreadable);
        if (unreadable > 0)
        {
            warn(unreadable + " blocks could not be read from the member walked (corrupt or deleted meanwhile) and " +
                "were skipped, never deleted: a walk of another member that holds them copies them");
        }
        if (failedMembers == 0 && state != null && !dryRun)
        {
            Files.deleteIfExists(state);
        }
        return failedMembers == 0 && unreadable == 0 ? 0 : 1;
    }

    /** @return false when it stopped at a page that an owner could not confirm (rerun to resume there). */
    private boolean walkMember(final Member source, final Hash resumeAfter, final Placement placement,
        final MemberList current, final boolean rebalance) throws IOException
    {
        final BlockClient from = client(source);
        final boolean owner = current.indexOf(source.address()) >= 0;
        Hash after = resumeAfter;
        ListPage page;
        do
        {
            page = from.list(after, ListPage.MAX_LIMIT);
            if (!copyToOwners(source, from, page.entries(), placement, rebalance))
            {
                warn(source.address() + ": an owner could not be asked; stopped before " +
                    (after == null ? "its first page" : after.toHex()) + " (rerun to resume)");
                return false;
            }
            walked += page.entries().size();
            showProgress(source, page.more() ? page.next() : null);
            if (page.more() && after != null && page.next().toHex().compareTo(after.toHex()) <= 0)
            {
                throw new IllegalStateException(source.address() + ": LIST cursor did not move past " + after);
            }
            after = page.next();
            progress.put(source.address(), after.toHex());
            saveState();
        }
        while (page.more());
        if (!owner && rebalance)
        {
            out.printf("%s%s: walked (it owns nothing under the new list)%n", progressPrefix(), source.address());
        }
        return true;
    }

    /**
     * One page: each owner's missing blocks are copied; in a rebalance, blocks the source no longer owns go.
     *
     * @return false when an owner could not be asked (nothing of the page was deleted).
     */
    private boolean copyToOwners(final Member source, final BlockClient from, final List<ListPage.Entry> entries,
        final Placement placement, final boolean rebalance)
    {
        final Map<Integer, List<Hash>> byOwner = new LinkedHashMap<>();
        final List<Hash> notOwned = new ArrayList<>();
        for (final ListPage.Entry e : entries)
        {
            boolean sourceOwns = false;
            for (final int o : placement.owners(e.hash(), replicas))
            {
                if (placement.members().get(o).address().equals(source.address()))
                {
                    sourceOwns = true;
                }
                else
                {
                    byOwner.computeIfAbsent(o, k -> new ArrayList<>()).add(e.hash());
                }
            }
            if (!sourceOwns)
            {
                notOwned.add(e.hash());
            }
        }
        final Set<Hash> unconfirmed = new HashSet<>();
        boolean complete = true;
        for (final Map.Entry<Integer, List<Hash>> ask : byOwner.entrySet())
        {
            final Member target = placement.members().get(ask.getKey());
            final List<Hash> missing;
            try
            {
                missing = client(target).findMissing(ask.getValue());
            }
            catch (final RingblocksException e)
            {
                unconfirmed.addAll(ask.getValue()); // cannot tell: nothing it owns is deleted from the source
                warn(target.address() + ": " + e.getMessage());
                complete = false;
                continue;
            }
            for (final Hash h : missing)
            {
                if (dryRun)
                {
                    out.printf("would copy %s from %s to %s%n", h, source.address(), target.address());
                    continue;
                }
                pace();
                final byte[] data;
                try
                {
                    data = from.get(h);
                }
                catch (final NotFoundException | CorruptBlockException | IntegrityException e)
                {
                    unreadable++;
                    unconfirmed.add(h); // and never deleted here
                    continue;
                }
                client(target).put(data, h);
                copied++;
            }
        }
        if (!complete)
        {
            return false;
        }
        if (!rebalance)
        {
            return true;
        }
        for (final Hash h : notOwned)
        {
            if (unconfirmed.contains(h))
            {
                kept++;
                continue;
            }
            if (dryRun)
            {
                out.printf("would delete %s from %s%n", h, source.address());
                continue;
            }
            pace();
            if (from.delete(h))
            {
                deleted++;
            }
        }
        return true;
    }

    private BlockClient client(final Member m)
    {
        BlockClient c = clients.get(m.address());
        if (c == null)
        {
            c = BlockClient.connect(ClientOptions.builder().host(m.host()).port(m.port())
                .connectTimeout(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(30)).build());
            clients.put(m.address(), c);
        }
        return c;
    }

    /** Keeps copies and deletes at most {@code --rate} per second. */
    private void pace()
    {
        if (rate == 0)
        {
            return;
        }
        final long gap = 1_000_000_000L / rate;
        final long wait = lastOperationNanos + gap - System.nanoTime();
        if (wait > 0)
        {
            LockSupport.parkNanos(wait);
        }
        lastOperationNanos = Math.max(System.nanoTime(), lastOperationNanos + gap);
    }

    // ---------------------------------------------------------------- progress

    /** A terminal to draw progress on (on JDK 22+ System.console() exists when redirected too). */
    private static boolean terminal()
    {
        final Console console = System.console();
        return console != null && console.isTerminal();
    }

    /**
     * A progress bar for the member being walked: hashes are uniform, so the cursor's position in hash space is the
     * share of the member's blocks already walked (also after a resume).
     *
     * @param cursor where the walk continues, null when the member is done.
     */
    private void showProgress(final Member source, final Hash cursor)
    {
        if (!terminal())
        {
            return;
        }
        final double done = cursor == null ? 1.0 : fraction(cursor);
        final int width = 30;
        final int filled = (int)Math.floor(done * width); // never 100% before the walk ends
        err.printf("\r%s [%s%s] %3.0f%%  %d walked, %d copied, %d deleted   ", source.address(), "#".repeat(filled),
            ".".repeat(width - filled), Math.floor(done * 100), walked, copied, deleted);
        err.flush();
    }

    /** @return the hash's position in hash space, 0..1, from its first 8 bytes read as an unsigned number. */
    static double fraction(final Hash hash)
    {
        final byte[] b = hash.bytes();
        long prefix = 0;
        for (int i = 0; i < 8; i++)
        {
            prefix = prefix << 8 | (b[i] & 0xFF);
        }
        return (prefix >>> 11) * 0x1.0p-53;
    }

    private void warn(final String message)
    {
        err.println((terminal() ? "\n" : "") + "rbcluster: " + message);
    }

    private String progressPrefix()
    {
        return terminal() ? "\r" : "";
    }

    private void finishProgress()
    {
        if (terminal())
        {
            err.println();
        }
    }

    /**
     * The state file: a header naming the action and the lists (a state from another walk is refused), then one line
     * per member, {@code host:port cursor-hex} or {@code host:port done}. A dry run neither reads nor writes it.
     */
    private void loadState(final MemberList current) throws IOException
    {
        stateHeader = "# rbcluster " + action + " --members " + current + (previous == null ? "" :
            " --previous " + MemberList.parse(previous));
        if (state == null || dryRun || !Files.exists(state))
        {
            return;
        }
        final List<String> lines = Files.readAllLines(state, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.getFirst().equals(stateHeader))
        {
            throw new IllegalArgumentException(state + " records another walk (" +
                (lines.isEmpty() ? "empty" : lines.getFirst()) + "): remove it or give the same action and lists");
        }
        for (final String line : lines.subList(1, lines.size()))
        {
            final String[] w = line.trim().split("\\s+");
            if (w.length == 2 && (w[1].equals("done") || w[1].matches("[0-9a-f]{64}")))
            {
                progress.put(w[0], w[1]);
            }
            else if (!line.isBlank())
            {
                throw new IllegalArgumentException(state + ": unreadable line '" + line + "'");
            }
        }
    }

    private void saveState() throws IOException
    {
        if (state == null || dryRun)
        {
            return;
        }
        final StringBuilder sb = new StringBuilder(stateHeader).append('\n');
        progress.forEach((member, at) -> sb.append(member).append(' ').append(at).append('\n'));
        final Path tmp = state.resolveSibling(state.getFileName() + ".tmp");
        Files.writeString(tmp, sb, StandardCharsets.UTF_8);
        Files.move(tmp, state, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
