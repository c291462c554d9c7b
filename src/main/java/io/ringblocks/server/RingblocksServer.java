package io.ringblocks.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

import io.ringblocks.protocol.Opcode;
import io.ringblocks.protocol.Status;
import io.ringblocks.storage.Committer;
import io.ringblocks.storage.ErrorHandler;
import io.ringblocks.storage.Scrubber;
import io.ringblocks.storage.Store;
import io.ringblocks.uring.LibC;
import io.ringblocks.uring.RingException;
import io.ringblocks.uring.Sockets;
import io.ringblocks.uring.Wakeup;

/**
 * The ringblocks server: N {@link Worker}s, each with its own ring and its own SO_REUSEPORT listener on the same port
 * (the kernel hashes new connections over the listeners; one shared listener would hand nearly all of them to one
 * ring), and the {@link Store} with its committer thread.
 * {@link #close()} is the graceful shutdown: stop accepting, finish in-flight requests, final commit, close files.
 */
public final class RingblocksServer implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger("ringblocks");

    private final ServerConfig config;
    private final ErrorHandler errors = new ErrorHandler();
    private final AtomicInteger connections = new AtomicInteger();
    private final long startedAt = System.currentTimeMillis();
    private final int[] listenFds;
    private final int port;
    private final Wakeup[] wakeups;
    private final Store store;
    private final Worker[] workers;
    private final Thread[] threads;
    private boolean closed;

    private RingblocksServer(final ServerConfig config)
    {
        this.config = config;
        final byte[] ip = ipv4(config.host());
        wakeups = new Wakeup[config.workers()];
        for (int i = 0; i < wakeups.length; i++)
        {
            wakeups[i] = new Wakeup();
        }
        listenFds = new int[config.workers()];
        Arrays.fill(listenFds, -1);
        Store opened = null;
        int boundPort = config.port();
        try
        {
            // A plain bind first: SO_REUSEPORT alone would let us share a port another server already listens on.
            final int probe = Sockets.listenTcp(ip, config.port(), 1, false);
            boundPort = Sockets.localPort(probe);
            LibC.close(probe);
            for (int i = 0; i < listenFds.length; i++)
            {
                listenFds[i] = Sockets.listenTcp(ip, boundPort, 4096, true);
                // Accepted sockets inherit TCP_NODELAY: responses go out whole, Nagle only adds latency.
                Sockets.noDelay(listenFds[i]);
            }
            opened = Store.open(config.store(), wakeups, errors);
        }
        catch (final RuntimeException e)
        {
            closeListeners();
            closeWakeups();
            throw e;
        }
        port = boundPort;
        store = opened;
        workers = new Worker[config.workers()];
        threads = new Thread[config.workers()];
        try
        {
            for (int i = 0; i < workers.length; i++)
            {
                // Started at once, so that close() below (which waits for every non-null worker) never waits for one
                // whose thread never ran; a failure here must not keep the store, and its directory lock, open.
                final Worker worker = new Worker(i, config, store, wakeups[i], listenFds[i], connections, errors);
                worker.statsText(this::statsText);
                threads[i] = new Thread(worker, "ringblocks-worker-" + i);
                threads[i].start();
                workers[i] = worker;
            }
            for (final Worker worker : workers)
            {
                worker.awaitStarted();
            }
        }
        catch (final InterruptedException | RuntimeException e)
        {
            close();
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }

    /**
     * Opens the store (recovering it) and starts serving.
     *
     * @throws IllegalArgumentException for an unusable configuration (address, data directory).
     * @throws RingException            when the port cannot be bound (the message names the errno, e.g. EADDRINUSE).
     */
    public static RingblocksServer start(final ServerConfig config)
    {
        return new RingblocksServer(config);
    }

    private static byte[] ipv4(final String host)
    {
        try
        {
            final byte[] address = InetAddress.getByName(host).getAddress();
            if (address.length != 4)
            {
                throw new IllegalArgumentException("listen address must be IPv4: " + host);
            }
            return address;
        }
        catch (final UnknownHostException e)
        {
            throw new IllegalArgumentException("unknown listen address: " + host, e);
        }
    }

    /** @return the bound port (useful with port 0). */
    public int port()
    {
        return port;
    }

    public ServerConfig config()
    {
        return config;
    }

    public Store store()
    {
        return store;
    }

    /** @return runtime faults seen so far (all logged). */
    public long errors()
    {
        return errors.errors();
    }

    /** The STATS body: {@code name value} lines, a racy but cheap snapshot of every worker and the store. */
    public String statsText()
    {
        final StringBuilder sb = new StringBuilder(4096);
        line(sb, "uptime_ms", System.currentTimeMillis() - startedAt);
        line(sb, "workers", workers.length);
        line(sb, "connections", connections.get());
        long accepted = 0;
        long rejected = 0;
        long closedCount = 0;
        long inFlight = 0;
        long protocolErrors = 0;
        long dedup = 0;
        long stalls = 0;
        long starvations = 0;
        long sendTimeouts = 0;
        long requestTimeouts = 0;
        long idleTimeouts = 0;
        long fdExhausted = 0;
        long shed = 0;
        long partialBodies = 0;
        long shortIo = 0;
        long sends = 0;
        long recvBuffersHeld = 0;
        long providedBuffers = 0;
        long providedExhausted = 0;
        long ioErrors = 0;
        long corruptReads = 0;
        long corruptHeals = 0;
        final long[] requests = new long[ServerStats.OPS];
        final long[] bytesIn = new long[ServerStats.OPS];
        final long[] bytesOut = new long[ServerStats.OPS];
        final long[] statuses = new long[ServerStats.STATUSES];
        for (final Worker w : workers)
        {
            final ServerStats s = w.stats;
            accepted += s.accepted;
            rejected += s.rejected;
            closedCount += s.closed;
            inFlight += s.inFlight;
            protocolErrors += s.protocolErrors;
            dedup += s.dedupHits;
            stalls += s.stalls;
            starvations += s.starvations;
            sendTimeouts += s.sendTimeouts;
            requestTimeouts += s.requestTimeouts;
            idleTimeouts += s.idleTimeouts;
            fdExhausted += s.acceptFdExhausted;
            shed += s.shedConnections;
            partialBodies += s.partialBodyBytes;
            shortIo += s.shortIo;
            sends += s.sends;
            recvBuffersHeld += s.recvBuffersHeld;
            providedBuffers += s.providedBuffers;
            providedExhausted += s.recvProvidedExhausted;
            ioErrors += s.ioErrors;
            corruptReads += s.corruptReads;
            corruptHeals += s.corruptHeals;
            for (int i = 0; i < ServerStats.OPS; i++)
            {
                requests[i] += s.requests[i];
                bytesIn[i] += s.bytesIn[i];
                bytesOut[i] += s.bytesOut[i];
            }
            for (int i = 0; i < ServerStats.STATUSES; i++)
            {
                statuses[i] += s.statuses[i];
            }
        }
        line(sb, "connections_accepted", accepted);
        line(sb, "connections_rejected", rejected);
        line(sb, "connections_closed", closedCount);
        line(sb, "in_flight", inFlight);
        for (int op = Opcode.PING; op <= Opcode.FIND_MISSING; op++)
        {
            final String name = Opcode.name(op).toLowerCase(Locale.ROOT);
            line(sb, "requests_" + name, requests[op]);
            line(sb, "bytes_in_" + name, bytesIn[op]);
            line(sb, "bytes_out_" + name, bytesOut[op]);
        }
        latencyLines(sb);
        for (int st = 0; st < ServerStats.STATUSES; st++)
        {
            line(sb, "status_" + Status.name(st).toLowerCase(Locale.ROOT), statuses[st]);
        }
        line(sb, "protocol_errors", protocolErrors);
        line(sb, "dedup_hits", dedup);
        line(sb, "stalls", stalls);
        line(sb, "starvations", starvations);
        line(sb, "send_timeouts", sendTimeouts);
        line(sb, "request_timeouts", requestTimeouts);
        line(sb, "idle_timeouts", idleTimeouts);
        line(sb, "accept_fd_exhausted", fdExhausted);
        line(sb, "connections_shed_no_fd", shed);
        line(sb, "partial_body_bytes", partialBodies);
        line(sb, "short_io", shortIo);
        line(sb, "sends", sends);
        line(sb, "recv_buffers_held", recvBuffersHeld);
        line(sb, "recv_provided_buffer_workers", providedBuffers);
        line(sb, "recv_provided_exhausted", providedExhausted);
        line(sb, "io_errors", ioErrors);
        line(sb, "corrupt_reads", corruptReads);
        line(sb, "corrupt_heals", corruptHeals);
        long lingers = 0;
        long lingersCut = 0;
        for (final Worker w : workers)
        {
            lingers += w.stats.lingers;
            lingersCut += w.stats.lingersCut;
        }
        line(sb, "lingering_closes", lingers);
        line(sb, "lingering_closes_cut", lingersCut);
        final Committer committer = store.committer();
        line(sb, "committer_batches", committer.batches());
        line(sb, "committer_deltas", committer.deltasCommitted());
        line(sb, "committer_max_batch", committer.maxBatchSeen());
        line(sb, "committer_last_batch", committer.lastBatch());
        line(sb, "committer_commit_us_total", committer.commitNanosTotal() / 1000);
        line(sb, "committer_data_sync_us_total", committer.dataSyncNanosTotal() / 1000);
        line(sb, "committer_block_writes", committer.blocksWritten());
        line(sb, "committer_limbo_blocks", committer.limboBlocks());
        line(sb, "committer_limbo_capacity", committer.limboCapacity());
        line(sb, "committer_backlogged_acks", committer.backloggedAcks());
        line(sb, "committer_backlogged_acks_max_worker", committer.largestAckBacklog());
        line(sb, "committer_ack_backlog_capacity", committer.ackBacklogCapacity());
        line(sb, "committer_held_back", committer.heldBackCycles());
        line(sb, "committer_corrupt_marked", committer.corruptMarked());
        final long[] journal = new long[Store.JOURNAL_STATS.length];
        store.journalStats(journal);
        for (int i = 0; i < journal.length; i++)
        {
            line(sb, Store.JOURNAL_STATS[i], journal[i]);
        }
        final Scrubber scrubber = store.scrubber();
        line(sb, "scrub_blocks_verified", scrubber == null ? 0 : scrubber.blocksVerified());
        line(sb, "scrub_bytes_verified", scrubber == null ? 0 : scrubber.bytesVerified());
        line(sb, "scrub_corrupt_found", scrubber == null ? 0 : scrubber.corruptFound());
        line(sb, "scrub_passes", scrubber == null ? 0 : scrubber.passes());
        for (int k = 0; k < 16; k++)
        {
            final long n = committer.batchesOfSizeLog2(k);
            if (n > 0)
            {
                line(sb, "committer_batches_size_ge_" + (1 << k), n);
            }
        }
        final long[] used = new long[32];
        final long[] free = new long[32];
        final long[] totals = new long[4];
        store.allocatorStats(used, free, totals);
        line(sb, "store_used_bytes", totals[0]);
        line(sb, "store_free_bytes", totals[1]);
        line(sb, "store_file_bytes", totals[2]);
        line(sb, "store_capacity_bytes", totals[3]);
        line(sb, "store_grow_failures", store.growFailures());
        line(sb, "store_zeroed_bytes", store.zeroedBytes());
        line(sb, "store_disk_free_bytes", store.diskFreeBytes());
        line(sb, "store_low_disk", store.refusingForLowDisk() ? 1 : 0);
        for (int c = 0; c < 32; c++)
        {
            if (used[c] > 0 || free[c] > 0)
            {
                line(sb, "store_blocks_" + (4 << c) + "k", used[c]);
                line(sb, "store_free_blocks_" + (4 << c) + "k", free[c]);
            }
        }
        line(sb, "recovered_blocks", store.recoveredBlocks());
        line(sb, "recovery_ms", store.recoveryMillis());
        line(sb, "durable", config.store().durable() ? 1 : 0);
        line(sb, "direct_io", store.directIo() ? 1 : 0);
        line(sb, "errors", errors.errors());
        return sb.toString();
    }

    /**
     * Server-side latency per opcode, from a request's frame taken to its answer sent (all workers, bucket upper
     * bounds: LatencyBuckets), for opcodes that were asked.
     */
    private void latencyLines(final StringBuilder sb)
    {
        final long[] merged = new long[ServerStats.OPS * LatencyBuckets.BUCKETS];
        for (final Worker w : workers)
        {
            final long[] l = w.stats.latency;
            for (int i = 0; i < merged.length; i++)
            {
                merged[i] += l[i];
            }
        }
        for (int op = Opcode.PING; op <= Opcode.FIND_MISSING; op++)
        {
            final int at = op * LatencyBuckets.BUCKETS;
            long total = 0;
            for (int b = 0; b < LatencyBuckets.BUCKETS; b++)
            {
                total += merged[at + b];
            }
            if (total == 0)
            {
                continue;
            }
            final String name = "latency_" + Opcode.name(op).toLowerCase(Locale.ROOT);
            line(sb, name + "_count", total);
            line(sb, name + "_p50_us", LatencyBuckets.percentile(merged, at, total, 500));
            line(sb, name + "_p99_us", LatencyBuckets.percentile(merged, at, total, 990));
            line(sb, name + "_p999_us", LatencyBuckets.percentile(merged, at, total, 999));
            line(sb, name + "_max_us", LatencyBuckets.percentile(merged, at, total, 1000));
        }
    }

    private static void line(final StringBuilder sb, final String name, final long value)
    {
        sb.append(name).append(' ').append(value).append('\n');
    }

    /**
     * Graceful shutdown: workers stop accepting, answer what is in flight (bounded by the shutdown timeout) and
     * close their connections; then the committer's final commit, and the files are closed.
     */
    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (final Worker worker : workers)
        {
            if (worker != null)
            {
                worker.requestStop();
            }
        }
        boolean allStopped = true;
        for (int i = 0; i < workers.length; i++)
        {
            if (workers[i] == null)
            {
                continue;
            }
            try
            {
                if (!workers[i].awaitStopped(config.shutdownTimeoutMillis() + 5_000))
                {
                    LOG.log(System.Logger.Level.ERROR, "worker " + i + " did not stop in time");
                    allStopped = false;
                }
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                allStopped = false;
            }
        }
        closeListeners();
        if (allStopped)
        {
            store.close();
            closeWakeups();
        }
        else
        {
            // A worker may still read the index or the data file: closing them under it could crash the JVM.
            // Acknowledged data is durable already; the next start recovers as after a crash.
            LOG.log(System.Logger.Level.ERROR, "leaving the store open: a worker is still running");
        }
    }

    private void closeListeners()
    {
        for (final int fd : listenFds)
        {
            if (fd >= 0)
            {
                LibC.close(fd);
            }
        }
    }

    private void closeWakeups()
    {
        for (final Wakeup w : wakeups)
        {
            if (w != null)
            {
                w.close();
            }
        }
    }
}
