package io.ringblocks.server;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * A worker's request slots, struct-of-arrays: everything a request carries between its frame being parsed and
 * its response being sent, with no per-request object. The slot index and generation form the token used in
 * user_data and in committer deltas.
 */
final class Requests
{
    static final int FREE = 0;
    static final int RECEIVING = 1;
    static final int WAIT_SPACE = 2;
    static final int WRITING = 3;
    static final int WAIT_PUBLISH = 4;
    static final int WAIT_ACK = 5;
    static final int READING = 6;
    static final int RESPONDING = 7;
    /** LIST: waiting until LMDB holds every change committed before it arrived. */
    static final int WAIT_CHECKPOINT = 8;
    /** PUT: its content is stored; waiting for a buffer to read the stored copy back ({@link StoredCopyCheck}). */
    static final int WAIT_CHECK = 9;

    final int capacity;
    final int[] state;
    final int[] generation;
    final int[] connection;
    final int[] connectionGeneration;
    final int[] opcode;
    final int[] flags;
    final long[] requestId;
    final long[] buffer;
    final int[] bufferClass;
    /** A deduplicated PUT's second buffer, into which the stored copy is read back; {@link IoArena#NONE} when none. */
    final long[] checkBuffer;
    final int[] checkBufferClass;
    final int[] payloadLength;
    final long[] blockOffset;
    final int[] blockClass;
    final int[] ioLength;
    final int[] ioDone;
    final long[] rangeOffset;
    final int[] rangeLength;
    final long[] readTag;
    /** A GET's lookup: the invalidating-commit count read before its snapshot (what a cache entry from it vouches). */
    final long[] indexedAt;
    final long[] response;
    final int[] responseLength;
    final int[] responseSent;
    /** A second part of the response outside the arena (a block cache entry): absolute address and length (0: none). */
    final long[] bodyAddress;
    final int[] bodyLength;
    /** The block cache entry the response is sent from (pinned), or -1. */
    final int[] cacheEntry;
    /** When the request's frame was taken, for its latency (LatencyBuckets). */
    final long[] startNanos;
    /** When the request began to wait in the stall list (0: it is not waiting there); see Operations.retryStalled. */
    final long[] stalledSince;
    final int[] next;
    final int[] deltaType;
    /** CRC32C of the block: computed from a PUT's payload, or the index's value a GET's read is checked against. */
    final int[] crc;
    /** SHA-256 of the payload (PUT) or the requested hash (GET/HEAD/DELETE), 32 bytes per slot. */
    final UnsafeBuffer hashes;
    /** The client's expected hash for VERIFY_HASH PUTs, 32 bytes per slot. */
    final UnsafeBuffer expected;
    private final int[] freeList;
    private int freeCount;
    private long releases;
    private long exhaustions;

    Requests(final int capacity)
    {
        this.capacity = capacity;
        state = new int[capacity];
        generation = new int[capacity];
        connection = new int[capacity];
        connectionGeneration = new int[capacity];
        opcode = new int[capacity];
        flags = new int[capacity];
        requestId = new long[capacity];
        buffer = new long[capacity];
        bufferClass = new int[capacity];
        checkBuffer = new long[capacity];
        checkBufferClass = new int[capacity];
        payloadLength = new int[capacity];
        blockOffset = new long[capacity];
        blockClass = new int[capacity];
        ioLength = new int[capacity];
        ioDone = new int[capacity];
        rangeOffset = new long[capacity];
        rangeLength = new int[capacity];
        crc = new int[capacity];
        readTag = new long[capacity];
        indexedAt = new long[capacity];
        response = new long[capacity];
        responseLength = new int[capacity];
        responseSent = new int[capacity];
        bodyAddress = new long[capacity];
        bodyLength = new int[capacity];
        cacheEntry = new int[capacity];
        startNanos = new long[capacity];
        stalledSince = new long[capacity];
        next = new int[capacity];
        deltaType = new int[capacity];
        hashes = new UnsafeBuffer(ByteBuffer.allocateDirect(capacity * Operations.HASH));
        expected = new UnsafeBuffer(ByteBuffer.allocateDirect(capacity * Operations.HASH));
        freeList = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            freeList[i] = capacity - 1 - i;
        }
        freeCount = capacity;
    }

    /** @return a slot for a request on connection {@code c}, or -1 when all are in use. */
    int acquire(final int c, final int cGeneration)
    {
        if (freeCount == 0)
        {
            exhaustions++;
            return -1;
        }
        final int r = freeList[--freeCount];
        generation[r] = (generation[r] + 1) & 0xFF_FFFF;
        state[r] = RECEIVING;
        connection[r] = c;
        connectionGeneration[r] = cGeneration;
        buffer[r] = IoArena.NONE;
        bufferClass[r] = 0;
        checkBuffer[r] = IoArena.NONE;
        blockOffset[r] = -1;
        readTag[r] = -1;
        next[r] = -1;
        ioDone[r] = 0;
        responseSent[r] = 0;
        bodyLength[r] = 0;
        cacheEntry[r] = -1;
        startNanos[r] = System.nanoTime();
        stalledSince[r] = 0;
        return r;
    }

    void release(final int r)
    {
        state[r] = FREE;
        freeList[freeCount++] = r;
        releases++;
    }

    /** @return how many times {@link #acquire} found no free slot (a sign of pressure, see ConnectionTimeouts). */
    long exhaustions()
    {
        return exhaustions;
    }

    /** @return slots released so far: a connection waiting for one is worth retrying only after this moved. */
    long releases()
    {
        return releases;
    }

    int inUse()
    {
        return capacity - freeCount;
    }

    /** @return the token naming request {@code r} in its current generation (for deltas and user_data). */
    long token(final int r)
    {
        return ((long)generation[r] << 32) | r;
    }

    static int slotOf(final long token)
    {
        return (int)token;
    }

    static int generationOf(final long token)
    {
        return (int)(token >>> 32);
    }
}
