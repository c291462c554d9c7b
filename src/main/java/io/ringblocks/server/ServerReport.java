package io.ringblocks.server;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

import io.ringblocks.storage.Committer;
import io.ringblocks.storage.ErrorHandler;
import io.ringblocks.storage.Scrubber;
import io.ringblocks.storage.Store;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Status;

/**
 * Every figure the server publishes, each named, typed and explained once: a racy but cheap snapshot of the workers'
 * counters (summed), the committer, the write-ahead path and the store, handed to a {@link StatsVisitor}.
 */
final class ServerReport
{
    /** Size classes of the allocator: 4 KiB << c for c below this. */
    private static final int SIZE_CLASSES = 32;
    /** Batch-size histogram of the committer: batches of [2^k, 2^(k+1)) deltas for k below this. */
    private static final int BATCH_SIZE_CLASSES = 16;

    private final ServerConfig config;
    private final Store store;
    private final Worker[] workers;
    private final AtomicInteger connections;
    private final ErrorHandler errors;
    private final long startedAt;

    ServerReport(final ServerConfig config, final Store store, final Worker[] workers,
        final AtomicInteger connections, final ErrorHandler errors, final long startedAt)
    {
        this.config = config;
        this.store = store;
        this.workers = workers;
        this.connections = connections;
        this.errors = errors;
        this.startedAt = startedAt;
    }

    void report(final StatsVisitor v)
    {
        v.gauge("uptime_ms", "Time since the server started.", System.currentTimeMillis() - startedAt);
        v.gauge("workers", "Worker threads, one io_uring each.", workers.length);
        v.gauge("connections", "Open client connections.", connections.get());
        workerFigures(v);
        committerFigures(v);
        final long[] journal = new long[Store.JOURNAL_STATS.size()];
        store.journalStats(journal);
        for (int i = 0; i < journal.length; i++)
        {
            final Store.Figure f = Store.JOURNAL_STATS.get(i);
            if (f.gauge())
            {
                v.gauge(f.name(), f.help(), journal[i]);
            }
            else
            {
                v.counter(f.name(), f.help(), journal[i]);
            }
        }
        final Scrubber scrubber = store.scrubber();
        v.counter("scrub_blocks_verified", "Blocks the background scrubber re-read and checked.",
            scrubber == null ? 0 : scrubber.blocksVerified());
        v.counter("scrub_bytes_verified", "Bytes the background scrubber re-read and checked.",
            scrubber == null ? 0 : scrubber.bytesVerified());
        v.counter("scrub_corrupt_found", "Blocks the scrubber found not matching their checksum.",
            scrubber == null ? 0 : scrubber.corruptFound());
        v.counter("scrub_passes", "Complete passes of the scrubber over the index.",
            scrubber == null ? 0 : scrubber.passes());
        v.gauge("scrub_reads_device", "1 when the scrubber reads the device (O_DIRECT), not the page cache.",
            scrubber != null && scrubber.readsDevice() ? 1 : 0);
        storeFigures(v);
        v.counter("errors", "Runtime faults logged by any thread.", errors.errors());
    }

    private void workerFigures(final StatsVisitor v)
    {
        final long[] requests = new long[ServerStats.OPS];
        final long[] bytesIn = new long[ServerStats.OPS];
        final long[] bytesOut = new long[ServerStats.OPS];
        final long[] statuses = new long[ServerStats.STATUSES];
        final long[] latency = new long[ServerStats.OPS * LatencyBuckets.BUCKETS];
        final long[] latencySum = new long[ServerStats.OPS];
        for (final Worker w : workers)
        {
            final ServerStats s = w.stats();
            add(requests, s.requests);
            add(bytesIn, s.bytesIn);
            add(bytesOut, s.bytesOut);
            add(statuses, s.statuses);
            add(latency, s.latency);
            add(latencySum, s.latencySumMicros);
        }
        v.counter("connections_accepted", "Connections accepted.", sum(ServerStats.ACCEPTED));
        v.counter("connections_rejected", "Connections refused at the connection limit (answered BUSY).",
            sum(ServerStats.REJECTED));
        v.counter("connections_closed", "Connections closed.", sum(ServerStats.CLOSED));
        v.gauge("in_flight", "Requests taken and not yet answered.", sum(ServerStats.IN_FLIGHT));
        // From NONE: answers that belong to no defined opcode are counted there (UNKNOWN_OPCODE, and the
        // connection-level FRAME_TOO_LARGE, UNSUPPORTED_VERSION, short-frame and BUSY frames).
        for (int op = Opcode.NONE; op <= Opcode.FIND_MISSING; op++)
        {
            final String name = Opcode.name(op).toLowerCase(Locale.ROOT);
            v.counter("requests", "requests", "Requests answered, by opcode.", "op", name, requests[op]);
            v.counter("bytes_in", "received_bytes", "Bytes of requests received, by opcode.", "op", name,
                bytesIn[op]);
            v.counter("bytes_out", "sent_bytes", "Bytes of responses sent, by opcode.", "op", name, bytesOut[op]);
        }
        for (int op = Opcode.NONE; op <= Opcode.FIND_MISSING; op++)
        {
            final int at = op * LatencyBuckets.BUCKETS;
            long count = 0;
            for (int b = 0; b < LatencyBuckets.BUCKETS; b++)
            {
                count += latency[at + b];
            }
            if (count > 0)
            {
                v.latency(Opcode.name(op).toLowerCase(Locale.ROOT), latency, at, count, latencySum[op]);
            }
        }
        for (int st = 0; st < ServerStats.STATUSES; st++)
        {
            v.counter("status", "responses", "Responses sent, by status.", "status",
                Status.name(st).toLowerCase(Locale.ROOT), statuses[st]);
        }
        v.counter("protocol_errors", "Frames refused by validation (bad version, length, opcode, flags or body), whether or not the connection was closed.",
            sum(ServerStats.PROTOCOL_ERRORS));
        v.counter("dedup_hits", "PUTs of content already stored, answered without writing once the stored copy was " +
            "read back equal.", sum(ServerStats.DEDUP_HITS));
        v.counter("stalls", "Requests that waited for a buffer, space or the committer and were resumed.",
            sum(ServerStats.STALLS));
        v.counter("starvations", "Requests that found no arena memory for their buffer at first.",
            sum(ServerStats.STARVATIONS));
        v.counter("send_timeouts", "Connections closed because their client stopped reading (or read too slowly).",
            sum(ServerStats.SEND_TIMEOUTS));
        v.counter("request_timeouts", "Connections closed because a frame stayed incomplete too long.",
            sum(ServerStats.REQUEST_TIMEOUTS));
        v.counter("idle_timeouts", "Idle connections closed.", sum(ServerStats.IDLE_TIMEOUTS));
        v.counter("idle_evictions", "Idle connections closed to make room for a new one at the connection limit.",
            sum(ServerStats.IDLE_EVICTIONS));
        v.counter("stalls_given_up", "Stalled requests answered BUSY after waiting a request timeout for memory, " +
            "space or the committer, or dropped because their connection closed.", sum(ServerStats.STALLS_GIVEN_UP));
        v.counter("accept_fd_exhausted", "Accepts that failed for lack of file descriptors.",
            sum(ServerStats.ACCEPT_FD_EXHAUSTED));
        v.counter("connections_shed_no_fd", "Connections shed to free descriptors when none were left.",
            sum(ServerStats.SHED_CONNECTIONS));
        v.gauge("partial_body_bytes", "Bytes held by PUT bodies still arriving.", sum(ServerStats.PARTIAL_BODY_BYTES));
        v.gauge("body_budget_waiters", "Connections whose large PUT waits, unread, for the partial-body budget.",
            sum(ServerStats.BODY_BUDGET_WAITERS));
        v.counter("body_queue_refusals", "Large PUTs declined BUSY because 64 others were waiting for the " +
            "partial-body budget (per worker); a connection with nothing else outstanding is closed after a " +
            "connection-level BUSY frame.", sum(ServerStats.BODY_QUEUE_REFUSALS));
        v.counter("short_io", "Short reads and writes resumed.", sum(ServerStats.SHORT_IO));
        v.counter("sends", "Send submissions (fewer than responses when pipelined responses leave together).",
            sum(ServerStats.SENDS));
        v.gauge("recv_buffers_held", "Connections holding a receive buffer of their own.",
            sum(ServerStats.RECV_BUFFERS_HELD));
        v.gauge("recv_provided_buffer_workers", "Workers receiving into provided buffers.",
            sum(ServerStats.PROVIDED_BUFFERS));
        v.gauge("recv_multishot_workers", "Workers keeping one multishot receive armed per connection waiting for requests.",
            sum(ServerStats.MULTISHOT_RECV));
        v.counter("recv_submissions", "Receive submissions (fewer than arrivals of bytes while multishot receives stay armed).",
            sum(ServerStats.RECV_SUBMISSIONS));
        v.counter("recv_provided_exhausted", "Receives that found every provided buffer in use.",
            sum(ServerStats.RECV_PROVIDED_EXHAUSTED));
        v.counter("cache_hits", "GETs answered from the block cache, with no file read.", sum(ServerStats.CACHE_HITS));
        v.counter("cache_admissions", "Blocks copied into the block cache after a read.",
            sum(ServerStats.CACHE_ADMISSIONS));
        v.counter("cache_index_skips", "Cache hits that needed no index lookup (nothing deleted since the last one).",
            sum(ServerStats.CACHE_INDEX_SKIPS));
        v.gauge("cache_bytes", "Memory held by cached blocks.", sum(ServerStats.CACHE_BYTES));
        v.gauge("cache_blocks", "Blocks in the block cache.", sum(ServerStats.CACHE_BLOCKS));
        v.gauge("cache_pinned", "Cached blocks that responses are being sent from.", sum(ServerStats.CACHE_PINNED));
        v.gauge("arena_registered_bytes", "I/O arena memory registered for fixed file I/O (pinned), 2 MiB at a time.",
            sum(ServerStats.ARENA_REGISTERED_BYTES));
        v.counter("io_errors", "Block reads or writes that failed.", sum(ServerStats.IO_ERRORS));
        v.counter("requests_abandoned", "Requests answered INTERNAL_ERROR after a fault in the server (reported too).",
            sum(ServerStats.REQUESTS_ABANDONED));
        v.counter("corrupt_reads",
            "Reads whose bytes did not match: GETs answered CORRUPT, PUT read-backs that healed.",
            sum(ServerStats.CORRUPT_READS));
        v.counter("corrupt_heals", "Corrupt blocks rewritten by a PUT of their content.", sum(ServerStats.CORRUPT_HEALS));
        v.counter("lingering_closes", "Connections closed lingeringly: after a connection-level error, a refusal or an idle eviction, or at a stop.",
            sum(ServerStats.LINGERS));
        v.counter("lingering_closes_cut", "Lingering closes cut short at their bound.", sum(ServerStats.LINGERS_CUT));
        v.counter("waiting_hangups", "Peers that finished sending while their PUT waited for the partial-body budget.",
            sum(ServerStats.HANGUPS_SEEN));
        v.counter("waiting_hangups_cut_short",
            "Connections closed at once because such a peer had not sent all of the waiting PUT.",
            sum(ServerStats.HANGUPS_CUT_SHORT));
    }

    private void committerFigures(final StatsVisitor v)
    {
        final Committer c = store.committer();
        v.counter("committer_batches", "Batches the committer made durable (group commits).", c.batches());
        v.counter("committer_deltas", "Index changes the committer made durable.", c.deltasCommitted());
        v.gauge("committer_max_batch", "Largest batch so far, in changes.", c.maxBatchSeen());
        v.gauge("committer_last_batch", "Size of the last batch, in changes.", c.lastBatch());
        v.counter("committer_commit_us_total", "Time the committer spent committing batches.",
            c.commitNanosTotal() / 1000);
        v.counter("committer_data_sync_us_total", "Time the committer spent flushing.",
            c.dataSyncNanosTotal() / 1000);
        v.counter("committer_block_writes", "Small blocks the committer wrote next to their batch's log record.",
            c.blocksWritten());
        v.gauge("committer_limbo_blocks", "Freed blocks waiting until no reader can still see them.",
            c.limboBlocks());
        v.gauge("committer_limbo_capacity", "Capacity of that waiting list.", c.limboCapacity());
        v.gauge("committer_backlogged_acks", "Acknowledgements waiting for room in a worker's queue.",
            c.backloggedAcks());
        v.gauge("committer_backlogged_acks_max_worker", "The largest of those backlogs on one worker.",
            c.largestAckBacklog());
        v.gauge("committer_ack_backlog_capacity", "Capacity of each worker's acknowledgement backlog.",
            c.ackBacklogCapacity());
        v.counter("committer_held_back", "Committer cycles that held changes back for lack of room.",
            c.heldBackCycles());
        v.counter("committer_corrupt_marked", "Index entries the committer flagged corrupt.", c.corruptMarked());
        for (int k = 0; k < BATCH_SIZE_CLASSES; k++)
        {
            final long n = c.batchesOfSizeLog2(k);
            if (n > 0)
            {
                v.counter("committer_batches_size_ge", "committer_batches_by_size",
                    "Batches by size: at least size_ge changes, fewer than twice that.", "size_ge",
                    Long.toString(1L << k), n);
            }
        }
    }

    private void storeFigures(final StatsVisitor v)
    {
        final long[] used = new long[SIZE_CLASSES];
        final long[] free = new long[SIZE_CLASSES];
        final long[] totals = new long[4];
        store.allocatorStats(used, free, totals);
        v.gauge("store_used_bytes", "Bytes of the data file holding blocks.", totals[0]);
        v.gauge("store_free_bytes", "Bytes of the data file free for blocks.", totals[1]);
        v.gauge("store_file_bytes", "Size of the data file.", totals[2]);
        v.gauge("store_capacity_bytes", "Largest size the data file may grow to (--max-size).", totals[3]);
        v.counter("store_grow_failures", "Attempts to grow the data file that failed.", store.growFailures());
        v.counter("store_zeroed_bytes", "Bytes of reserved space zeroed ahead of the allocator.",
            store.zeroedBytes());
        v.gauge("store_disk_free_bytes", "Free space of the data directory's filesystem (-1: unknown).",
            store.diskFreeBytes());
        v.gauge("store_low_disk", "1 while PUTs are refused because the filesystem is nearly full.",
            store.refusingForLowDisk() ? 1 : 0);
        for (int c = 0; c < SIZE_CLASSES; c++)
        {
            if (used[c] > 0 || free[c] > 0)
            {
                final String size = (4 << c) + "k";
                v.gauge("store_blocks", "store_blocks", "Stored blocks, by allocation size.", "size", size,
                    used[c]);
                v.gauge("store_free_blocks", "store_free_blocks", "Free slots, by allocation size.", "size", size,
                    free[c]);
            }
        }
        v.gauge("recovered_blocks", "Blocks indexed when the store opened.", store.recoveredBlocks());
        v.gauge("recovery_ms", "Time opening (recovering) the store took.", store.recoveryMillis());
        v.gauge("durable", "1 in sync mode (acknowledged writes survive power loss), 0 in relaxed mode.",
            config.store().durable() ? 1 : 0);
        v.gauge("direct_io", "1 when the data file is written with O_DIRECT.", store.directIo() ? 1 : 0);
    }

    /** @return figure {@code figure} summed over the workers. */
    private long sum(final int figure)
    {
        long total = 0;
        for (final Worker w : workers)
        {
            total += w.stats().get(figure);
        }
        return total;
    }

    private static void add(final long[] into, final long[] values)
    {
        for (int i = 0; i < into.length; i++)
        {
            into[i] += ServerStats.read(values, i);
        }
    }
}
