package io.ringblocks.server;

import java.util.zip.CRC32C;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.protocol.RangeBody;
import io.ringblocks.protocol.ResponseHeader;
import io.ringblocks.storage.CommitterClient;
import io.ringblocks.sys.Errno;
import io.ringblocks.uring.UserData;
import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * A worker's GETs: the index lookup (skipped for a {@link BlockCache} hit while no commit since can have deleted or
 * flagged the block), then either the cached copy or one READ_FIXED of the whole block into a buffer of its padded
 * size (a plain READ where its arena piece could not be registered, see {@link IoArena}), sent after a header from
 * the request's small response area. Every byte sent was checked against the CRC32C
 * its PUT recorded (a ranged GET reads and checks the whole block); a block that fails is flagged in the index
 * through the committer and answered {@link Status#CORRUPT} once the flag is committed.
 */
final class Reads implements AutoCloseable
{
    private static final int HASH = Protocol.HASH_LENGTH;
    private static final int PAGE = 4096;

    private final WorkerContext ctx;
    private final ServerStats stats;
    private final Requests reqs;
    private final IoArena arena;
    private final UnsafeBuffer memory;
    private final Responder responder;
    private final Answers answers;
    private final Lookups lookups;
    private final RequestBuffers buffers;
    private final StallList stalls;
    private final CommitterClient client;
    private final CorruptMarks marks;
    private final int readFd;
    /** Intrinsified; fed from a direct view of the arena, so checking a block allocates nothing. */
    private final CRC32C crc32c = new CRC32C();
    private final BlockCache cache;

    Reads(final WorkerContext ctx, final Responder responder, final Answers answers, final Lookups lookups,
        final RequestBuffers buffers, final StallList stalls, final CommitterClient client, final CorruptMarks marks)
    {
        this.marks = marks;
        this.ctx = ctx;
        stats = ctx.stats;
        reqs = ctx.reqs;
        arena = ctx.arena;
        memory = ctx.memory;
        this.responder = responder;
        this.answers = answers;
        this.lookups = lookups;
        this.buffers = buffers;
        this.stalls = stalls;
        this.client = client;
        readFd = ctx.store.readFd();
        cache = new BlockCache(ctx.config.blockCacheSize()); // last: nothing after it can fail and leak the mapping
    }

    /** Starts GET {@code r}, whose hash is in its slot (and its range, if any): answered from the cache or read. */
    void get(final int r)
    {
        final int cached = cache.find(reqs.hashes, r * HASH);
        final boolean known = cached >= 0 && unchangedSince(cache.validAt(cached));
        if (!known && !lookups.lookup(reqs.hashes, r * HASH))
        {
            forget(cached);
            answers.status(r, Status.NOT_FOUND);
            return;
        }
        if (!known && lookups.corrupt())
        {
            forget(cached);
            stats.increment(ServerStats.CORRUPT_READS); // already flagged and logged: no need to read it again
            answers.status(r, Status.CORRUPT);
            return;
        }
        final int blockLength = known ? cache.length(cached) : lookups.length();
        long offset = 0;
        int length = blockLength;
        if ((reqs.flags[r] & Flags.RANGE) != 0)
        {
            final int verdict = RangeBody.check(reqs.rangeOffset[r], reqs.rangeLength[r], blockLength);
            if (verdict != Status.OK)
            {
                answers.status(r, verdict);
                return;
            }
            offset = reqs.rangeOffset[r];
            length = RangeBody.resolvedLength(reqs.rangeOffset[r], reqs.rangeLength[r], blockLength);
        }
        if (cached >= 0)
        {
            if (sendCached(r, cached, blockLength, known ? cache.crc(cached) : lookups.crc(), offset, length))
            {
                if (known)
                {
                    stats.increment(ServerStats.CACHE_INDEX_SKIPS);
                }
                else
                {
                    cache.validate(cached, lookups.invalidationsAtPin());
                }
                return;
            }
            if (known)
            {
                get(r); // the entry was dropped: ask the index (once: nothing is cached under the hash now)
                return;
            }
        }
        // Read the whole block (its checksum covers all of it, so a range is checked too) into a buffer of its own
        // size: the header leaves from the small response area as the first part of the send, so a 2^n-byte block
        // takes a 2^n buffer, not twice that for one page in front of it.
        final int spanLength = (blockLength + PAGE - 1) & ~(PAGE - 1);
        if (!buffers.take(r, spanLength))
        {
            stalls.stall(r, Requests.WAIT_SPACE);
            return;
        }
        reqs.indexedAt[r] = lookups.invalidationsAtPin();
        reqs.blockOffset[r] = lookups.offset();
        reqs.payloadLength[r] = blockLength; // a GET's block length, for the check
        reqs.crc[r] = lookups.crc();
        reqs.ioLength[r] = spanLength;
        reqs.ioDone[r] = 0;
        // Until the response is queued, response/responseLength hold the body: the wanted bytes of the buffer.
        reqs.response[r] = reqs.buffer[r] + offset;
        reqs.responseLength[r] = length;
        reqs.readTag[r] = lookups.beginRead();
        submitPinnedRead(r);
        reqs.state[r] = Requests.READING; // only now: a prep that throws leaves the request for Operations.abandon
    }

    /** The first read of a pinned request; a prep that throws gives the pin back, so none can leak. */
    private void submitPinnedRead(final int r)
    {
        try
        {
            submitRead(r);
        }
        catch (final RuntimeException e)
        {
            releasePins(r);
            throw e;
        }
    }

    /**
     * Answers a GET from block cache entry {@code e}: the header from the request's small response area, the body
     * straight from the entry (pinned until the response is sent), checked against the block's CRC32C first.
     *
     * @return false when the entry does not match: it is dropped, and the block is looked up and read instead.
     */
    private boolean sendCached(final int r, final int e, final int blockLength, final int crc, final long offset,
        final int length)
    {
        crc32c.reset();
        crc32c.update(cache.view(e));
        if (cache.length(e) != blockLength || (int)crc32c.getValue() != crc)
        {
            // Content-addressed bytes cannot change, so only overwritten memory gets here.
            ctx.errors.onError(ctx.name, "block cache entry does not match its checksum (length " + cache.length(e) +
                ", expected " + blockLength + "): dropped, the block is looked up and read from the file");
            cache.remove(e);
            return false;
        }
        cache.pin(e);
        reqs.cacheEntry[r] = e;
        stats.increment(ServerStats.CACHE_HITS);
        final long at = answers.smallResponse(r);
        answers.header(r, at, Status.OK, length);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH, cache.address(e) + offset, length, Status.OK);
        return true;
    }

    /**
     * @return true when no commit has deleted or flagged a block since {@code validAt} was read before a lookup
     * found the block (and none was under way then): it still exists unflagged, and the index need not be asked.
     */
    private boolean unchangedSince(final long validAt)
    {
        return (validAt & 1) == 0 && validAt == client.invalidatingCommits();
    }

    /** The index no longer has the cached block (deleted, or flagged corrupt): drop the copy. */
    private void forget(final int e)
    {
        if (e >= 0)
        {
            cache.remove(e);
        }
    }

    /** Publishes the cache's gauges (once a duty cycle: pins come and go with every hit). */
    void gauges()
    {
        if (cache.enabled())
        {
            stats.set(ServerStats.CACHE_BYTES, cache.bytes());
            stats.set(ServerStats.CACHE_BLOCKS, cache.entries());
            stats.set(ServerStats.CACHE_PINNED, cache.pinnedEntries());
        }
    }

    private void submitRead(final int r)
    {
        final int done = reqs.ioDone[r];
        arena.prepRead(readFd, reqs.buffer[r], reqs.buffer[r] + done, reqs.ioLength[r] - done,
            reqs.blockOffset[r] + done, UserData.pack(r, Worker.OP_FILE_READ, reqs.generation[r]));
    }

    void onFileRead(final int r, final int gen, final int res)
    {
        if (reqs.generation[r] != gen || reqs.state[r] != Requests.READING)
        {
            return;
        }
        if (res == -Errno.EINTR || res == -Errno.EAGAIN)
        {
            submitRead(r);
            return;
        }
        if (res <= 0)
        {
            stats.increment(ServerStats.IO_ERRORS);
            ctx.errors.onError(ctx.name, "block read at " + reqs.blockOffset[r] + " failed: " +
                (res == 0 ? "unexpected end of file" : Errno.describe(res)));
            release(r);
            answers.status(r, Status.INTERNAL_ERROR);
            return;
        }
        reqs.ioDone[r] += res;
        if (reqs.ioDone[r] < reqs.ioLength[r])
        {
            stats.increment(ServerStats.SHORT_IO);
            submitRead(r);
            return;
        }
        crc32c.reset();
        crc32c.update(arena.view(reqs.buffer[r], reqs.payloadLength[r]));
        if ((int)crc32c.getValue() != reqs.crc[r])
        {
            onCorrupt(r);
            return;
        }
        lookups.endRead(reqs.readTag[r]);
        reqs.readTag[r] = -1;
        if (reqs.payloadLength[r] <= BlockCache.MAX_BLOCK && cache.enabled())
        {
            if (cache.offer(reqs.hashes, r * HASH, memory, (int)reqs.buffer[r], reqs.payloadLength[r],
                reqs.crc[r], reqs.indexedAt[r]))
            {
                stats.increment(ServerStats.CACHE_ADMISSIONS);
            }
        }
        final long at = answers.smallResponse(r);
        answers.header(r, at, Status.OK, reqs.responseLength[r]);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH, arena.address(reqs.response[r]), reqs.responseLength[r],
            Status.OK);
    }

    /**
     * The block's bytes do not match its CRC32C: nothing of it is sent. The reader that found out logs it and has
     * the committer flag the entry (later lookups see the flag and answer without reading). CORRUPT is answered
     * only once the flag is committed, so a PUT of the same content sent after that answer finds the flag and
     * rewrites the block instead of answering from dedup.
     */
    private void onCorrupt(final int r)
    {
        final boolean marked = marks.publish(r); // the read's pin is still held
        release(r); // and the pin
        if (!marked)
        {
            // A mark published later, without the pin, could flag a fresh copy at the same offset: read again.
            stalls.stall(r, Requests.WAIT_SPACE);
        }
    }

    /** Gives back the GET's buffer and its pins. */
    private void release(final int r)
    {
        buffers.release(r);
        releasePins(r);
    }

    /**
     * Ends what a GET holds besides its buffer: the pin on the space it reads, and on the cache entry it is sent from.
     */
    void releasePins(final int r)
    {
        if (reqs.readTag[r] >= 0)
        {
            lookups.endRead(reqs.readTag[r]);
            reqs.readTag[r] = -1;
        }
        if (reqs.cacheEntry[r] >= 0)
        {
            cache.unpin(reqs.cacheEntry[r]);
            reqs.cacheEntry[r] = -1;
        }
    }

    /** Unmaps the block cache: only once the ring is closed, since a send in flight may read from it. */
    @Override
    public void close()
    {
        cache.close();
    }
}
