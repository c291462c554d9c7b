package io.ringblocks.server;

/**
 * What a configuration asks of the JVM's own memory, estimated before anything is allocated, so that a server
 * whose tables cannot fit fails at once with one line naming the flags and the limit (instead of an
 * OutOfMemoryError from a worker's start). The estimates are linear in what each worker sizes its tables by: every
 * worker keeps a slot for each of {@link ServerConfig#maxConnections()} (connections land on workers unevenly), its
 * {@link ServerConfig#requestSlots()}, and block cache bookkeeping. The coefficients are measured (docs/design.md,
 * "Memory") and rounded up. The I/O arena and the block cache themselves are mappings, outside both limits.
 */
public final class MemoryBudget
{
    /** Java heap per connection slot of a worker: its state across the connection tables. */
    static final long HEAP_PER_CONNECTION = 192 + Inbox.STASH_BYTES;
    static final long HEAP_PER_REQUEST = 176;
    /** Java heap per worker besides its tables (completion batch, codecs, thread). */
    static final long HEAP_PER_WORKER = 256L << 10;
    /** Heap the block cache's bookkeeping takes: 1/32 of its size (measured about 2 %, rounded up). */
    static final int CACHE_BOOKKEEPING_SHIFT = 5;
    /** Direct memory (native segments) per worker besides its request tables: send vectors, ring buffers. */
    static final long DIRECT_PER_WORKER = 1280L << 10;
    /** Direct memory per request slot: its hash and expected hash. */
    static final long DIRECT_PER_REQUEST = 64;
    /** Heap the rest of the server takes: store, committer, checkpointer, their buffers. */
    static final long HEAP_BASE = 8L << 20;
    /** Direct memory the rest of the server may take: the committer's buffers, a recovery chunk (16 MiB). */
    static final long DIRECT_BASE = 24L << 20;

    private MemoryBudget()
    {
    }

    /** @return about the Java heap {@code config}'s workers take with their tables. */
    public static long workerHeap(final ServerConfig config)
    {
        return config.workers() * (HEAP_PER_WORKER + HEAP_PER_CONNECTION * (config.maxConnections() + IdleEviction.HEADROOM) +
            HEAP_PER_REQUEST * config.requestSlots() + (config.blockCacheSize() >> CACHE_BOOKKEEPING_SHIFT));
    }

    /** @return about the direct (native segment) memory {@code config}'s workers take. */
    public static long workerDirect(final ServerConfig config)
    {
        return config.workers() * (DIRECT_PER_WORKER + DIRECT_PER_REQUEST * config.requestSlots());
    }

    /**
     * @param maxHeap   the JVM's heap limit ({@link Runtime#maxMemory()}).
     * @param maxDirect its direct memory limit (-XX:MaxDirectMemorySize).
     * @return null when {@code config} fits both, else why not, naming the flags that size it.
     */
    public static String shortfall(final ServerConfig config, final long maxHeap, final long maxDirect)
    {
        // Tables live as long as the server, and the collector needs some room besides: at most 85 % of the heap.
        final long heap = HEAP_BASE + workerHeap(config);
        if (heap > maxHeap / 20 * 17)
        {
            return describe(config) + " need about " + mib(heap) + " MiB of Java heap; this JVM may use " +
                mib(maxHeap) + " MiB, of which 85 % for the server's tables (-Xmx" + suggestedXmxMib(heap) +
                "m would do)";
        }
        final long direct = DIRECT_BASE + workerDirect(config);
        if (direct > maxDirect)
        {
            return describe(config) + " need about " + mib(direct) + " MiB of direct memory, more than the " +
                mib(maxDirect) + " MiB this JVM has (-XX:MaxDirectMemorySize=" + mib(direct) + "m would do)";
        }
        return null;
    }

    /**
     * @return an -Xmx in MiB under which {@code heap} fits: the JVM reports a little less than -Xmx as its maximum
     * (a survivor space is not counted), so an eighth more than 85 % asks for, in steps of 16 MiB.
     */
    static long suggestedXmxMib(final long heap)
    {
        final long wanted = mib(heap / 17 * 20 / 8 * 9);
        return (wanted + 15) / 16 * 16;
    }

    private static String describe(final ServerConfig config)
    {
        return "--workers " + config.workers() + " with --max-connections " + config.maxConnections() +
            ", --max-in-flight " + config.maxInFlight() + " and --block-cache " + mib(config.blockCacheSize()) + "m";
    }

    private static long mib(final long bytes)
    {
        return (bytes + (1L << 20) - 1) >> 20;
    }
}
