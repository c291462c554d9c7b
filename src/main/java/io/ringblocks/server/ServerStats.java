package io.ringblocks.server;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Status;

/**
 * One worker's counters. Written only by the worker thread, each update published with a release store
 * ({@link #add(long[], int, long)}); STATS and scrapes read them from other threads with acquire reads, as a racy
 * but whole-valued snapshot.
 */
final class ServerStats
{
    /** Per-opcode counters: index 0 for frames with no valid opcode, then each request opcode. */
    static final int OPS = Opcode.FIND_MISSING + 1;
    static final int STATUSES = Status.COUNT;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    // Scalar figures: indexes into figures.
    static final int ACCEPTED = 0;
    static final int REJECTED = 1;
    static final int CLOSED = 2;
    static final int PROTOCOL_ERRORS = 3;
    static final int DEDUP_HITS = 4;
    static final int STALLS = 5;
    static final int STARVATIONS = 6;
    static final int SEND_TIMEOUTS = 7;
    static final int REQUEST_TIMEOUTS = 8;
    static final int IDLE_TIMEOUTS = 9;
    static final int ACCEPT_FD_EXHAUSTED = 10;
    static final int SHED_CONNECTIONS = 11;
    static final int PARTIAL_BODY_BYTES = 12;
    /** Connections closed lingeringly after a connection-level error, and those of them cut at the bound. */
    static final int LINGERS = 13;
    static final int LINGERS_CUT = 14;
    static final int SHORT_IO = 15;
    /** SEND/SENDMSG submissions: fewer than responses when pipelined responses leave together. */
    static final int SENDS = 16;
    /** Connections holding a receive buffer of their own (with provided buffers: only those with partial frames). */
    static final int RECV_BUFFERS_HELD = 17;
    /** Buffer-select receives that found every provided buffer in use (-ENOBUFS) and fell back to an own buffer. */
    static final int RECV_PROVIDED_EXHAUSTED = 18;
    /** 1 when receives take provided buffers (an idle connection holds no receive memory), else 0. */
    static final int PROVIDED_BUFFERS = 19;
    static final int IO_ERRORS = 20;
    static final int CORRUPT_READS = 21;
    static final int CORRUPT_HEALS = 22;
    static final int IN_FLIGHT = 23;
    static final int LOOPS = 24;
    static final int COMPLETIONS = 25;
    /** GETs answered from the block cache, without a file read. */
    static final int CACHE_HITS = 26;
    /** Blocks copied into the block cache after a read. */
    static final int CACHE_ADMISSIONS = 27;
    /** Bytes (buddy blocks) and blocks held by the block cache. */
    static final int CACHE_BYTES = 28;
    static final int CACHE_BLOCKS = 29;
    /** Cache hits answered without an index lookup (no commit since could have deleted the block). */
    static final int CACHE_INDEX_SKIPS = 30;
    /** Cache entries that responses are being sent from (not evictable meanwhile). */
    static final int CACHE_PINNED = 31;
    /** I/O arena memory registered with the ring (pinned): a 2 MiB piece on its first file read or write. */
    static final int ARENA_REGISTERED_BYTES = 32;
    /** Receive submissions: fewer than arrivals of bytes while multishot receives stay armed. */
    static final int RECV_SUBMISSIONS = 33;
    /** 1 when connections waiting for requests keep a multishot receive armed, else 0. */
    static final int MULTISHOT_RECV = 34;
    /** Peers seen to finish sending while their connection waited for the partial-body budget. */
    static final int HANGUPS_SEEN = 35;
    /** Of those, connections closed because what their peer sent could not complete the waiting frame. */
    static final int HANGUPS_CUT_SHORT = 36;
    /** Connections whose large PUT waits for the partial-body budget. */
    static final int BODY_BUDGET_WAITERS = 37;
    /** Requests answered INTERNAL_ERROR because a step of theirs threw (each also reported to the error handler). */
    static final int REQUESTS_ABANDONED = 38;
    /** Idle connections closed to make room for a new one at the connection limit. */
    static final int IDLE_EVICTIONS = 39;
    /** Stalled requests given up: their connection closed, or they waited longer than the request timeout. */
    static final int STALLS_GIVEN_UP = 40;
    /** Connections refused BUSY because their large PUT found the queue for the body budget full. */
    static final int BODY_QUEUE_REFUSALS = 41;
    static final int FIGURES = 42;

    final long[] requests = new long[OPS];
    final long[] bytesIn = new long[OPS];
    final long[] bytesOut = new long[OPS];
    final long[] statuses = new long[STATUSES];
    /** Latency buckets, {@link LatencyBuckets#BUCKETS} per opcode, opcode-major: from frame taken to answer sent. */
    final long[] latency = new long[OPS * LatencyBuckets.BUCKETS];
    /** Sum of the latencies counted in {@link #latency}, per opcode, in µs. */
    final long[] latencySumMicros = new long[OPS];
    final long[] figures = new long[FIGURES];

    /** Adds one to figure {@code figure}. */
    void increment(final int figure)
    {
        add(figures, figure, 1);
    }

    /** Adds {@code delta} to figure {@code figure}. */
    void add(final int figure, final long delta)
    {
        add(figures, figure, delta);
    }

    /** Sets figure {@code figure}, a level rather than a count. */
    void set(final int figure, final long value)
    {
        LONGS.setRelease(figures, figure, value);
    }

    /** @return figure {@code figure} as last published (any thread). */
    long get(final int figure)
    {
        return read(figures, figure);
    }

    /**
     * The one writer's update: a plain read of its own last value, a release store for readers on other threads
     * (no fence on the worker's path, unlike a volatile write; readers see whole values, never torn ones).
     */
    static void add(final long[] counts, final int index, final long delta)
    {
        LONGS.setRelease(counts, index, counts[index] + delta);
    }

    /** @return {@code counts[index]} as last published by its writer (an acquire read, for other threads). */
    static long read(final long[] counts, final int index)
    {
        return (long)LONGS.getAcquire(counts, index);
    }
}
