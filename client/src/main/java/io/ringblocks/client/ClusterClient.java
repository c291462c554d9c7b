package io.ringblocks.client;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A client of a sharded, replicated ringblocks cluster: each block is owned by the first {@link
 * ClusterOptions#replicas()} members of its {@link Placement} (weighted rendezvous hashing), and this client keeps
 * one {@link BlockClientPool} per member. Content addressing makes this safe without coordination: a PUT can be
 * repeated anywhere, and a GET is checked against its hash.
 * <ul>
 *   <li>PUT goes to every owner in parallel (VERIFY_HASH) and succeeds once {@link ClusterOptions#writeQuorum()}
 *   of them stored the block; the others keep going in the background.</li>
 *   <li>GET asks the owners in order, skipping members marked down, then the owners under the previous member list
 *   during a migration; on NOT_FOUND, CORRUPT, a hash mismatch, a timeout or a lost connection it asks the next.
 *   The bytes are verified against the hash (unless {@link ClientOptions#verifyGets()} is off), and owners that
 *   answered without the block get a copy in the background (read repair). HEAD and ranged GETs walk the same
 *   way, without repair.</li>
 *   <li>DELETE must reach every owner, current and previous; otherwise it fails with a {@link ClusterException}
 *   naming the member, so a repair cannot bring the block back unnoticed.</li>
 *   <li>A member whose connection is lost or times out is marked down and skipped (GETs ask it last) until a
 *   background probe, once per {@link ClusterOptions#downInterval()}, reaches it again; unconnected members are
 *   connected the same way. {@link #members()} shows each member's state.</li>
 * </ul>
 * Blocking operations are on this object, the same ones returning futures on {@link #async()}. Thread-safe. At most
 * {@link ClusterOptions#maxOutstanding()} operations are outstanding at once: further callers wait for one to
 * complete (back-pressure), as for a connection's in-flight slots. What a PUT still sends after its quorum and read
 * repairs run on beyond that; a read repair finding every permit taken is skipped (counted in
 * {@link #readRepairFailures()}).
 */
public final class ClusterClient extends BlockingOperations
{
    private final ClusterOptions options;
    private final MembershipSource membership;
    private final ConcurrentHashMap<String, ClusterNode> nodes = new ConcurrentHashMap<>();
    /** The background probe's timer. */
    private final ScheduledExecutorService timer;
    /** Where fallback steps, repairs, fan-out sends and probes run: they may block on a reconnect. */
    private final ExecutorService executor;
    private final AsyncBlockOperations async = new AsyncView();
    private final AtomicLong readRepairs = new AtomicLong();
    private final AtomicLong readRepairFailures = new AtomicLong();
    /** One per outstanding operation, see {@link ClusterOptions#maxOutstanding()}. */
    private final Semaphore outstanding;
    private volatile Placement placement;
    private volatile Placement previousPlacement;
    private volatile boolean closed;

    private ClusterClient(final ClusterOptions options)
    {
        this.options = options;
        this.membership = options.membership();
        this.outstanding = new Semaphore(options.maxOutstanding());
        timer = Executors.newSingleThreadScheduledExecutor(
            task -> new Connection.ClientThread(task, "ringblocks-cluster-timer"));
        executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("ringblocks-cluster-", 0).factory());
    }

    /**
     * Connects to every member of the current list (and of the previous one, during a migration) in parallel, each
     * within the connect timeout; members that cannot be reached are marked down and probed in the background, so a
     * cluster with members down still starts.
     */
    public static ClusterClient connect(final ClusterOptions options)
    {
        Objects.requireNonNull(options, "options");
        final ClusterClient client = new ClusterClient(options);
        // One virtual thread per member: unreachable members each take a connect timeout, all at the same time.
        try (ExecutorService connecting = Executors.newVirtualThreadPerTaskExecutor())
        {
            for (final Member m : options.membership().current().members())
            {
                connecting.execute(client.node(m)::connect);
            }
            for (final Member m : options.membership().previous().map(MemberList::members).orElse(List.of()))
            {
                connecting.execute(client.node(m)::connect);
            }
        }
        final long period = Math.max(10, options.downInterval().toMillis() / 4);
        client.timer.scheduleWithFixedDelay(client::probeDown, period, period, TimeUnit.MILLISECONDS);
        return client;
    }

    /** @return the futures-returning face of this client. */
    public AsyncBlockOperations async()
    {
        return async;
    }

    public ClusterOptions options()
    {
        return options;
    }

    /** @return the health of each current member, in list order. */
    public List<MemberState> members()
    {
        final List<MemberState> states = new ArrayList<>();
        for (final Member m : membership.current().members())
        {
            states.add(node(m).state());
        }
        return states;
    }

    /** @return blocks copied to owners that missed them, found by GETs, so far. */
    public long readRepairs()
    {
        return readRepairs.get();
    }

    /** @return read repairs that failed (the owner stays without the block until a repair pass). */
    public long readRepairFailures()
    {
        return readRepairFailures.get();
    }

    /** @return the current placement (cached per member list). */
    public Placement placement()
    {
        final MemberList current = membership.current();
        Placement p = placement;
        if (p == null || !p.members().equals(current))
        {
            p = new Placement(current);
            placement = p;
        }
        return p;
    }

    private Placement previousPlacement()
    {
        final Optional<MemberList> previous = membership.previous();
        if (previous.isEmpty())
        {
            return null;
        }
        Placement p = previousPlacement;
        if (p == null || !p.members().equals(previous.get()))
        {
            p = new Placement(previous.get());
            previousPlacement = p;
        }
        return p;
    }

    private ClusterNode node(final Member member)
    {
        return nodes.computeIfAbsent(member.address(),
            a -> new ClusterNode(member, options.client(), options.downInterval().toNanos()));
    }

    private void probeDown()
    {
        for (final ClusterNode node : nodes.values())
        {
            if (!closed && node.wantsProbe())
            {
                executor.execute(node::probe);
            }
        }
    }

    /** The owners of {@code hash} under the current list. */
    private List<ClusterNode> owners(final Hash hash)
    {
        final Placement p = placement();
        final int[] owners = p.owners(hash, options.replicas());
        final List<ClusterNode> list = new ArrayList<>(owners.length);
        for (final int o : owners)
        {
            list.add(node(p.members().get(o)));
        }
        return list;
    }

    /**
     * Usable members first (current owners in score order, then previous owners not among them), then the members
     * that are down or not connected, in the same order: asked only when no usable one had the block.
     */
    private List<ClusterNode> readCandidates(final Hash hash, final List<Boolean> current)
    {
        final List<ClusterNode> owners = owners(hash);
        final List<ClusterNode> all = new ArrayList<>(owners);
        final Placement previous = previousPlacement();
        if (previous != null)
        {
            for (final int o : previous.owners(hash, options.replicas()))
            {
                final ClusterNode n = node(previous.members().get(o));
                if (!all.contains(n))
                {
                    all.add(n);
                }
            }
        }
        final List<ClusterNode> ordered = new ArrayList<>(all.size());
        for (int pass = 0; pass < 2; pass++)
        {
            for (final ClusterNode n : all)
            {
                if (n.usable() == (pass == 0))
                {
                    ordered.add(n);
                    current.add(owners.contains(n));
                }
            }
        }
        return ordered;
    }

    private static boolean[] flags(final List<Boolean> list)
    {
        final boolean[] flags = new boolean[list.size()];
        for (int i = 0; i < flags.length; i++)
        {
            flags[i] = list.get(i);
        }
        return flags;
    }

    private <T> CompletableFuture<T> closedFuture()
    {
        return CompletableFuture.failedFuture(new IllegalStateException("cluster client closed"));
    }

    private void checkPayload(final int length)
    {
        if (length < 1 || length > options.client().maxBlockSize())
        {
            throw new IllegalArgumentException("block must be 1.." + options.client().maxBlockSize() + " bytes: " +
                length);
        }
    }

    // ---------------------------------------------------------------- operations (futures)

    /**
     * Starts one operation holding an {@link #outstanding} permit, taken on the caller's thread and given back when
     * its future completes. The caller waits for a permit at most the request timeout; on a client library thread
     * (a callback) it does not wait, as that thread may be the one that would complete an operation.
     */
    private <T> CompletableFuture<T> bounded(final String what, final Supplier<CompletableFuture<T>> operation)
    {
        if (closed)
        {
            return closedFuture();
        }
        try
        {
            final boolean acquired = Connection.isClientThread() ? outstanding.tryAcquire() :
                outstanding.tryAcquire(options.client().requestTimeoutNanos(), TimeUnit.NANOSECONDS);
            if (!acquired)
            {
                return CompletableFuture.failedFuture(new RequestTimeoutException(what + ": all " +
                    options.maxOutstanding() + " cluster operations stayed outstanding for " +
                    options.client().requestTimeout(), false));
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new RingblocksException("interrupted while waiting for one of " +
                "the cluster's outstanding operations to complete", ex));
        }
        final CompletableFuture<T> result;
        try
        {
            result = operation.get();
        }
        catch (final RuntimeException | Error ex)
        {
            outstanding.release();
            throw ex;
        }
        result.whenComplete((value, failure) -> outstanding.release());
        return result;
    }

    private CompletableFuture<Hash> putAsync(final byte[] data, final Hash hash)
    {
        if (closed)
        {
            return closedFuture();
        }
        final List<ClusterNode> owners = owners(hash);
        final QuorumWrite<Hash> write = new QuorumWrite<>("PUT " + hash, owners.size(),
            Math.min(options.writeQuorum(), owners.size()), hash);
        for (final ClusterNode node : owners)
        {
            if (!node.usable())
            {
                write.failed(node.address(), new ConnectionLostException("member " + node.address() +
                    " is marked down: " + node.state().lastError(), null));
                continue;
            }
            // Each owner on its own thread: one whose connection must be re-established holds up nobody else.
            send(node, write, () -> node.async().put(data, hash));
        }
        return write.future();
    }

    /** Sends one member's part of a fan-out from the executor; its answer counts into {@code write}. */
    private <T, R> void send(final ClusterNode node, final QuorumWrite<R> write,
        final Supplier<CompletableFuture<T>> request)
    {
        try
        {
            executor.execute(() ->
            {
                final CompletableFuture<T> answer;
                final long sent = System.nanoTime();
                try
                {
                    answer = request.get();
                }
                catch (final RuntimeException e)
                {
                    write.failed(node.address(), e);
                    return;
                }
                answer.whenComplete((v, failure) ->
                {
                    node.record(sent, failure == null ? null : QuorumWrite.asRingblocks(failure));
                    if (failure == null)
                    {
                        write.succeeded();
                    }
                    else
                    {
                        write.failed(node.address(), failure);
                    }
                });
            });
        }
        catch (final RejectedExecutionException e)
        {
            write.failed(node.address(), new IllegalStateException("cluster client closed"));
        }
    }

    private CompletableFuture<byte[]> getAsync(final Hash hash)
    {
        Objects.requireNonNull(hash, "hash");
        if (closed)
        {
            return closedFuture();
        }
        final List<Boolean> current = new ArrayList<>();
        final List<ClusterNode> candidates = readCandidates(hash, current);
        return new ReadWalk<byte[]>("GET " + hash, candidates, flags(current), (ops, i) -> ops.get(hash), null,
            (data, missed) -> repair(hash, data, missed), executor).start();
    }

    /** Copies a block found elsewhere to owners that answered without it, off the caller's path. */
    private void repair(final Hash hash, final byte[] data, final List<ClusterNode> missed)
    {
        for (final ClusterNode node : missed)
        {
            if (closed)
            {
                return;
            }
            if (!outstanding.tryAcquire())
            {
                readRepairFailures.incrementAndGet(); // the callers' operations come first; a repair pass catches up
                continue;
            }
            try
            {
                executor.execute(() -> repairOn(node, hash, data));
            }
            catch (final java.util.concurrent.RejectedExecutionException e)
            {
                outstanding.release(); // closing: the executor takes no more work
                readRepairFailures.incrementAndGet();
            }
        }
    }

    /** One repair copy, holding a permit of {@code outstanding} that it gives back once the PUT is done. */
    private void repairOn(final ClusterNode node, final Hash hash, final byte[] data)
    {
        try
        {
            final long sent = System.nanoTime();
            node.async().put(data, hash).whenComplete((h, failure) ->
            {
                outstanding.release();
                node.record(sent, failure == null ? null : QuorumWrite.asRingblocks(failure));
                (failure == null ? readRepairs : readRepairFailures).incrementAndGet();
            });
        }
        catch (final RuntimeException e)
        {
            outstanding.release();
            readRepairFailures.incrementAndGet();
        }
    }

    private <T> CompletableFuture<T> walk(final String what, final Hash hash,
        final Function<AsyncBlockOperations, CompletableFuture<T>> request,
        final Predicate<T> isMiss)
    {
        Objects.requireNonNull(hash, "hash");
        if (closed)
        {
            return closedFuture();
        }
        final List<Boolean> current = new ArrayList<>();
        final List<ClusterNode> candidates = readCandidates(hash, current);
        return new ReadWalk<T>(what + " " + hash, candidates, flags(current), (ops, i) -> request.apply(ops), isMiss,
            null, executor).start();
    }

    private CompletableFuture<Boolean> deleteAsync(final Hash hash)
    {
        Objects.requireNonNull(hash, "hash");
        if (closed)
        {
            return closedFuture();
        }
        final List<ClusterNode> targets = new ArrayList<>(owners(hash));
        final Placement previous = previousPlacement();
        if (previous != null)
        {
            for (final int o : previous.owners(hash, options.replicas()))
            {
                final ClusterNode n = node(previous.members().get(o));
                if (!targets.contains(n))
                {
                    targets.add(n);
                }
            }
        }
        final AtomicInteger removed = new AtomicInteger();
        final QuorumWrite<Boolean> write = new QuorumWrite<>("DELETE " + hash + " (members not listed may have " +
            "deleted it)", targets.size(), targets.size(), Boolean.TRUE);
        for (final ClusterNode node : targets)
        {
            send(node, write, () -> node.async().delete(hash).thenApply(r ->
            {
                if (r)
                {
                    removed.incrementAndGet();
                }
                return r;
            }));
        }
        return write.future().thenApply(all -> removed.get() > 0);
    }

    /**
     * A block counts as stored when any of its owners (current or, during a migration, previous) says so; an owner
     * that cannot be asked confirms nothing, so its blocks count as missing unless another owner has them (for a
     * build cache, a needless upload is harmless, a block wrongly reported present is not).
     */
    private CompletableFuture<List<Hash>> findMissingAsync(final Collection<Hash> hashes)
    {
        final List<Hash> all = List.copyOf(hashes);
        if (closed)
        {
            return closedFuture();
        }
        final Map<ClusterNode, List<Hash>> asks = new LinkedHashMap<>();
        final Placement previous = previousPlacement();
        for (final Hash h : all)
        {
            for (final ClusterNode n : owners(h))
            {
                asks.computeIfAbsent(n, k -> new ArrayList<>()).add(h);
            }
            if (previous != null)
            {
                for (final int o : previous.owners(h, options.replicas()))
                {
                    final List<Hash> list = asks.computeIfAbsent(node(previous.members().get(o)), k -> new ArrayList<>());
                    if (list.isEmpty() || list.get(list.size() - 1) != h)
                    {
                        list.add(h);
                    }
                }
            }
        }
        final Set<Hash> present = ConcurrentHashMap.newKeySet();
        final List<CompletableFuture<Void>> answers = new ArrayList<>();
        for (final Map.Entry<ClusterNode, List<Hash>> ask : asks.entrySet())
        {
            final ClusterNode node = ask.getKey();
            if (!node.usable())
            {
                continue;
            }
            final long sent = System.nanoTime();
            answers.add(CompletableFuture.supplyAsync(() -> node.async().findMissing(ask.getValue()), executor)
                .thenCompose(f -> f).handle((missing, failure) ->
                {
                    node.record(sent, failure == null ? null : QuorumWrite.asRingblocks(failure));
                    if (failure == null)
                    {
                        final Set<Hash> gone = new HashSet<>(missing);
                        for (final Hash h : ask.getValue())
                        {
                            if (!gone.contains(h))
                            {
                                present.add(h);
                            }
                        }
                    }
                    return null;
                }));
        }
        return CompletableFuture.allOf(answers.toArray(new CompletableFuture<?>[0])).thenApply(v ->
        {
            final List<Hash> missing = new ArrayList<>();
            for (final Hash h : all)
            {
                if (!present.contains(h))
                {
                    missing.add(h);
                }
            }
            return Collections.unmodifiableList(missing);
        });
    }

    private CompletableFuture<Map<String, Long>> statsAsync()
    {
        if (closed)
        {
            return closedFuture();
        }
        final List<Member> members = membership.current().members();
        final List<CompletableFuture<Map<String, Long>>> each = new ArrayList<>();
        for (final Member m : members)
        {
            final ClusterNode node = node(m);
            each.add(node.usable() ? node.async().stats().exceptionally(f -> null) :
                CompletableFuture.completedFuture(null));
        }
        return CompletableFuture.allOf(each.toArray(new CompletableFuture<?>[0])).thenApply(v ->
        {
            final Map<String, Long> all = new LinkedHashMap<>();
            for (int i = 0; i < members.size(); i++)
            {
                final Map<String, Long> s = each.get(i).join();
                final String prefix = members.get(i).address() + "/";
                all.put(prefix + "member_up", s == null ? 0L : 1L);
                if (s != null)
                {
                    for (final Map.Entry<String, Long> e : s.entrySet())
                    {
                        all.put(prefix + e.getKey(), e.getValue());
                    }
                }
            }
            return Collections.unmodifiableMap(all);
        });
    }

    private CompletableFuture<Duration> pingAsync()
    {
        if (closed)
        {
            return closedFuture();
        }
        final List<Member> members = membership.current().members();
        final QuorumWrite<Boolean> all = new QuorumWrite<>("PING", members.size(), members.size(), Boolean.TRUE);
        final long start = System.nanoTime();
        for (final Member m : members)
        {
            final ClusterNode node = node(m);
            send(node, all, () -> node.async().ping());
        }
        return all.future().thenApply(ok -> Duration.ofNanos(System.nanoTime() - start));
    }

    // ---------------------------------------------------------------- blocking operations (BlockingOperations)

    /**
     * Every current member's metrics, each name prefixed with the member's {@code host:port/}, plus
     * {@code host:port/member_up} (0 for a member that is down or did not answer).
     */
    @Override
    public Map<String, Long> stats()
    {
        return super.stats();
    }

    /** Pings every current member at once; returns when all answered, or fails naming those that did not. */
    @Override
    public Duration ping()
    {
        return super.ping();
    }

    @Override
    AsyncBlockOperations asyncOperations()
    {
        return async;
    }

    /**
     * Closes every member's pool (outstanding requests fail with {@link ConnectionLostException}) and stops the
     * background probe. Idempotent.
     */
    @Override
    public void close()
    {
        closed = true;
        timer.shutdownNow();
        for (final ClusterNode node : nodes.values())
        {
            node.close();
        }
        executor.shutdown(); // steps already queued still run and fail fast on the closed pools
    }

    /**
     * The futures-returning operations; see the class comment for what each does across members. Each checks its
     * arguments, then starts {@link #bounded}.
     */
    private final class AsyncView implements AsyncBlockOperations
    {
        @Override
        public CompletableFuture<Hash> put(final byte[] data)
        {
            Objects.requireNonNull(data, "data");
            checkPayload(data.length);
            return bounded("PUT", () -> putAsync(data, Hash.of(data)));
        }

        @Override
        public CompletableFuture<Hash> put(final ByteBuffer data)
        {
            Objects.requireNonNull(data, "data");
            final byte[] copy = new byte[data.remaining()];
            data.duplicate().get(copy);
            return put(copy);
        }

        @Override
        public CompletableFuture<Hash> put(final byte[] data, final Hash expected)
        {
            Objects.requireNonNull(data, "data");
            Objects.requireNonNull(expected, "expected");
            checkPayload(data.length);
            return bounded("PUT", () -> putAsync(data, expected));
        }

        @Override
        public CompletableFuture<byte[]> get(final Hash hash)
        {
            Objects.requireNonNull(hash, "hash");
            return bounded("GET", () -> getAsync(hash));
        }

        @Override
        public CompletableFuture<Integer> get(final Hash hash, final ByteBuffer destination)
        {
            Objects.requireNonNull(destination, "destination");
            if (destination.isReadOnly())
            {
                throw new ReadOnlyBufferException();
            }
            return BufferFill.into(hash, destination, get(hash));
        }

        @Override
        public CompletableFuture<byte[]> getRange(final Hash hash, final long offset, final int length)
        {
            Objects.requireNonNull(hash, "hash");
            if (offset < 0 || length < 0)
            {
                throw new IllegalArgumentException("offset and length must be >= 0: " + offset + ", " + length);
            }
            return bounded("GET range", () -> walk("GET range of", hash, ops -> ops.getRange(hash, offset, length),
                null));
        }

        @Override
        public CompletableFuture<OptionalInt> head(final Hash hash)
        {
            Objects.requireNonNull(hash, "hash");
            return bounded("HEAD", () -> walk("HEAD", hash, ops -> ops.head(hash), OptionalInt::isEmpty)
                .thenApply(v -> v == null ? OptionalInt.empty() : v));
        }

        @Override
        public CompletableFuture<Boolean> delete(final Hash hash)
        {
            Objects.requireNonNull(hash, "hash");
            return bounded("DELETE", () -> deleteAsync(hash));
        }

        @Override
        public CompletableFuture<List<Hash>> findMissing(final Collection<Hash> hashes)
        {
            Objects.requireNonNull(hashes, "hashes");
            return bounded("FIND_MISSING", () -> findMissingAsync(hashes));
        }

        @Override
        public CompletableFuture<Map<String, Long>> stats()
        {
            return bounded("STATS", ClusterClient.this::statsAsync);
        }

        @Override
        public CompletableFuture<Duration> ping()
        {
            return bounded("PING", ClusterClient.this::pingAsync);
        }

        @Override
        public void close()
        {
            ClusterClient.this.close();
        }
    }
}
