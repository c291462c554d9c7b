package io.ringblocks.server;

import io.ringblocks.sys.Errno;
import io.ringblocks.uring.UserData;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * A PUT whose content is already stored is answered from the stored copy only after that copy was read back and
 * found equal to the PUT's bytes (in one read into a buffer of the block's size, or piece by piece through a small
 * buffer of the worker's own when the arena has none free: {@link RequestBuffers#takeCheck}), through the O_DIRECT
 * descriptor. Deduplication acknowledges a block without writing it, so the acknowledgement must not rest on a copy
 * that rotted unnoticed since it was written, or whose rot a GET found but whose flag is still on its way to the
 * committer. A copy that differs is flagged through the committer (MARK_CORRUPT, sent while the read's
 * pin still keeps its space from reuse, as a GET does) and, once that is acknowledged, the PUT writes its own bytes,
 * whose OCCUPY replaces the flagged entry: a heal ({@link Writes}).
 */
final class StoredCopyCheck
{
    private static final int HASH = Protocol.HASH_LENGTH;
    private static final int PAGE = 4096;

    private final WorkerContext ctx;
    private final ServerStats stats;
    private final Requests reqs;
    private final IoArena arena;
    private final Answers answers;
    private final Lookups lookups;
    private final RequestBuffers buffers;
    private final StallList stalls;
    private final CorruptMarks marks;
    private final int readFd;

    StoredCopyCheck(final WorkerContext ctx, final Answers answers, final Lookups lookups,
        final RequestBuffers buffers, final StallList stalls, final CorruptMarks marks)
    {
        this.marks = marks;
        this.ctx = ctx;
        stats = ctx.stats;
        reqs = ctx.reqs;
        arena = ctx.arena;
        this.answers = answers;
        this.lookups = lookups;
        this.buffers = buffers;
        this.stalls = stalls;
        readFd = ctx.store.checkFd(); // the device, not the page cache
    }

    /**
     * Starts checking the stored copy of PUT {@code r}'s content, which this cycle's last lookup found (unflagged).
     * The PUT's payload stays in its buffer until the check ends.
     */
    void start(final int r)
    {
        reqs.blockOffset[r] = lookups.offset();
        if (lookups.length() != reqs.payloadLength[r] || lookups.crc() != reqs.crc[r])
        {
            // The same hash with another length or checksum: the entry itself is wrong, and no GET of it can pass.
            condemn(r);
            return;
        }
        final int span = (reqs.payloadLength[r] + PAGE - 1) & ~(PAGE - 1);
        if (!buffers.takeCheck(r, span))
        {
            stalls.stall(r, Requests.WAIT_CHECK);
            return;
        }
        reqs.ioLength[r] = span;
        reqs.ioDone[r] = 0;
        reqs.readTag[r] = lookups.beginRead();
        try
        {
            submitRead(r);
        }
        catch (final RuntimeException e)
        {
            lookups.endRead(reqs.readTag[r]); // as in Reads.get: no pin may leak from a prep that threw
            reqs.readTag[r] = -1;
            throw e;
        }
        reqs.state[r] = Requests.READING;
    }

    /**
     * Reads on from {@code ioDone}: to the end of the block, or of the piece a buffer smaller than the block holds
     * (pieces start at multiples of its length, so every read stays page-aligned).
     */
    private void submitRead(final int r)
    {
        final int done = reqs.ioDone[r];
        final int window = buffers.checkLength(r);
        final int at = done % window;
        final int end = Math.min(reqs.ioLength[r], done - at + window);
        arena.prepRead(readFd, reqs.checkBuffer[r], reqs.checkBuffer[r] + at, end - done,
            reqs.blockOffset[r] + done, UserData.pack(r, Worker.OP_FILE_READ, reqs.generation[r]));
    }

    /** @return true when the piece just read completely (ending at {@code done}) equals the payload's bytes there. */
    private boolean pieceMatches(final int r, final int done)
    {
        final int window = buffers.checkLength(r);
        final int start = (done - 1) / window * window;
        final int end = Math.min(done, reqs.payloadLength[r]);
        return end <= start || arena.sameBytes(reqs.buffer[r] + start, reqs.checkBuffer[r], end - start);
    }

    /** The read of the stored copy completed (in part, or failed). */
    void onRead(final int r, final int gen, final int res)
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
            ctx.errors.onError(ctx.name, "read-back of a stored block at " + reqs.blockOffset[r] + " failed: " +
                (res == 0 ? "unexpected end of file" : Errno.describe(res)));
            end(r);
            answers.status(r, Status.INTERNAL_ERROR); // as a GET of it would be: the client may try again
            return;
        }
        final int done = reqs.ioDone[r] + res;
        reqs.ioDone[r] = done;
        final boolean pieceRead = done == reqs.ioLength[r] || done % buffers.checkLength(r) == 0;
        if (pieceRead && !pieceMatches(r, done))
        {
            buffers.releaseCheck(r);
            condemn(r); // before the pin ends: the space read cannot have been reused yet
            endPin(r);
            return;
        }
        if (done < reqs.ioLength[r])
        {
            if (!pieceRead)
            {
                stats.increment(ServerStats.SHORT_IO);
            }
            submitRead(r);
            return;
        }
        end(r);
        stats.increment(ServerStats.DEDUP_HITS);
        answers.hash(r);
    }

    /**
     * Flags the stored copy at {@code reqs.blockOffset[r]} corrupt; the acknowledgement sends the PUT on to write its
     * own bytes. Called while this cycle's pin or the read's still keeps that space from reuse: a mark published
     * later could condemn a fresh copy at the same offset, so a full ring sends the PUT back to look the hash up again.
     */
    private void condemn(final int r)
    {
        if (!marks.publish(r))
        {
            stalls.stall(r, Requests.WAIT_CHECK);
        }
    }

    private void end(final int r)
    {
        buffers.releaseCheck(r);
        endPin(r);
    }

    private void endPin(final int r)
    {
        if (reqs.readTag[r] >= 0)
        {
            lookups.endRead(reqs.readTag[r]);
            reqs.readTag[r] = -1;
        }
    }

}
