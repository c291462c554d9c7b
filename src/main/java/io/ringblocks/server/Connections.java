package io.ringblocks.server;

import java.util.Arrays;

/**
 * A worker's connection slots, struct-of-arrays. A slot's generation changes every time it is reused, so a
 * completion that names an older generation is recognised as stale.
 */
final class Connections
{
    static final int FREE = 0;
    static final int OPEN = 1;
    /** No more reading; waits for in-flight work, then the fd is closed. */
    static final int CLOSING = 2;
    /** The close SQE is in flight. */
    static final int CLOSED = 3;

    /** Receiving frame headers into the receive buffer. */
    static final int BODY_NONE = 0;
    /** Receiving a PUT's expected hash (VERIFY_HASH) into the request's slot. */
    static final int BODY_EXPECTED_HASH = 1;
    /** Receiving a PUT payload straight into its block buffer. */
    static final int BODY_PAYLOAD = 2;
    /** Skipping the body of a request that was already answered (BLOCK_TOO_LARGE). */
    static final int BODY_DISCARD = 3;

    final int capacity;
    final int[] state;
    final int[] fd;
    final int[] generation;
    final long[] recvBuffer;
    final int[] filled;
    final boolean[] recvPosted;
    final boolean[] parseBlocked;
    final int[] inFlight;
    final int[] sendHead;
    final int[] sendTail;
    final boolean[] sending;
    /** The receive in flight is multishot, and whether its cancel was asked for. */
    final boolean[] multishot;
    final boolean[] multishotCancelled;
    /** Its last request was a PUT body received in place: its next receive is single-shot (see ReceivePosts#post). */
    final boolean[] lastBodyLarge;
    /** The last buffer-select receive found no provided buffer: the next receive goes into the connection's own. */
    final boolean[] ownRecv;
    /** When the response at the head of the send queue got there: a short send does not restart it. */
    final long[] sendSince;
    final boolean[] closeAfterSend;
    /** Closing because the socket is unusable (reset, a failed send, a deadline passed): answers can no longer go. */
    final boolean[] broken;
    /** The peer finished sending (end of stream): closed once what it sent is answered. */
    final boolean[] peerDone;
    final int[] bodyState;
    final int[] bodyRequest;
    final long[] bodyTarget;
    final int[] bodyRemaining;
    /** Bytes of I/O arena held by this connection's requests: bounds what a client that never reads can pin. */
    final long[] bufferBytes;
    /** Being closed to make room for a new connection at the limit (IdleEviction), until its slot frees. */
    private final boolean[] evicted;
    private final int[] freeList;
    private int freeCount;
    private int open;
    private int evicting;

    Connections(final int capacity)
    {
        this.capacity = capacity;
        state = new int[capacity];
        fd = new int[capacity];
        generation = new int[capacity];
        recvBuffer = new long[capacity];
        filled = new int[capacity];
        recvPosted = new boolean[capacity];
        parseBlocked = new boolean[capacity];
        inFlight = new int[capacity];
        sendHead = new int[capacity];
        sendTail = new int[capacity];
        sending = new boolean[capacity];
        multishot = new boolean[capacity];
        multishotCancelled = new boolean[capacity];
        lastBodyLarge = new boolean[capacity];
        ownRecv = new boolean[capacity];
        sendSince = new long[capacity];
        closeAfterSend = new boolean[capacity];
        broken = new boolean[capacity];
        peerDone = new boolean[capacity];
        bodyState = new int[capacity];
        bodyRequest = new int[capacity];
        bodyTarget = new long[capacity];
        bodyRemaining = new int[capacity];
        bufferBytes = new long[capacity];
        evicted = new boolean[capacity];
        Arrays.fill(fd, -1);
        freeList = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            freeList[i] = capacity - 1 - i;
        }
        freeCount = capacity;
    }

    /** @return a fresh slot for {@code socket}, or -1 when all are taken. */
    int open(final int socket)
    {
        if (freeCount == 0)
        {
            return -1;
        }
        final int c = freeList[--freeCount];
        state[c] = OPEN;
        fd[c] = socket;
        generation[c] = (generation[c] + 1) & 0xFF_FFFF;
        recvBuffer[c] = IoArena.NONE; // taken when bytes arrive (Receiver)
        filled[c] = 0;
        recvPosted[c] = false;
        parseBlocked[c] = false;
        inFlight[c] = 0;
        sendHead[c] = -1;
        sendTail[c] = -1;
        sending[c] = false;
        multishot[c] = false;
        multishotCancelled[c] = false;
        lastBodyLarge[c] = false;
        ownRecv[c] = false;
        closeAfterSend[c] = false;
        broken[c] = false;
        peerDone[c] = false;
        bodyState[c] = BODY_NONE;
        bodyRequest[c] = -1;
        bufferBytes[c] = 0;
        open++;
        return c;
    }

    void free(final int c)
    {
        if (evicted[c])
        {
            evicted[c] = false;
            evicting--;
        }
        state[c] = FREE;
        fd[c] = -1;
        generation[c] = (generation[c] + 1) & 0xFF_FFFF;
        freeList[freeCount++] = c;
        open--;
    }

    int openCount()
    {
        return open;
    }

    /** Connection {@code c} is being closed to make room for another: counted until its slot frees. */
    void markEvicted(final int c)
    {
        if (!evicted[c])
        {
            evicted[c] = true;
            evicting++;
        }
    }

    /** @return connections being closed to make room for others whose slots have not freed yet. */
    int evictingCount()
    {
        return evicting;
    }
}
