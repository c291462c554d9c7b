package io.ringblocks.server;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Status;

/**
 * One worker's counters. Written only by the worker thread; STATS reads them from another thread as a racy
 * snapshot (64-bit array elements are read whole on the 64-bit JVMs ringblocks runs on).
 */
final class ServerStats
{
    /** Per-opcode counters: index 0 for frames with no valid opcode, then each request opcode. */
    static final int OPS = Opcode.FIND_MISSING + 1;
    static final int STATUSES = Status.COUNT;

    final long[] requests = new long[OPS];
    final long[] bytesIn = new long[OPS];
    final long[] bytesOut = new long[OPS];
    final long[] statuses = new long[STATUSES];
    /** Latency buckets, {@link LatencyBuckets#BUCKETS} per opcode, opcode-major: from frame taken to answer sent. */
    final long[] latency = new long[OPS * LatencyBuckets.BUCKETS];
    /** Sum of the latencies counted in {@link #latency}, per opcode, in µs. */
    final long[] latencySumMicros = new long[OPS];
    volatile long accepted;
    volatile long rejected;
    volatile long closed;
    volatile long protocolErrors;
    volatile long dedupHits;
    volatile long stalls;
    volatile long starvations;
    volatile long sendTimeouts;
    volatile long requestTimeouts;
    volatile long idleTimeouts;
    volatile long acceptFdExhausted;
    volatile long shedConnections;
    volatile long partialBodyBytes;
    /** Connections closed lingeringly after a connection-level error, and those of them cut at the bound. */
    volatile long lingers;
    volatile long lingersCut;
    volatile long shortIo;
    /** SEND/SENDMSG submissions: fewer than responses when pipelined responses leave together. */
    volatile long sends;
    /** Connections holding a receive buffer of their own (with provided buffers: only those with partial frames). */
    volatile long recvBuffersHeld;
    /** Buffer-select receives that found every provided buffer in use (-ENOBUFS) and fell back to an own buffer. */
    volatile long recvProvidedExhausted;
    /** 1 when receives take provided buffers (an idle connection holds no receive memory), else 0. */
    volatile long providedBuffers;
    volatile long ioErrors;
    volatile long corruptReads;
    volatile long corruptHeals;
    volatile long inFlight;
    volatile long loops;
    volatile long completions;
}
