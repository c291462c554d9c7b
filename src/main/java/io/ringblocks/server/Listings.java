package io.ringblocks.server;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.protocol.ListBody;
import io.ringblocks.protocol.ResponseHeader;
import io.ringblocks.storage.CommitterClient;
import io.ringblocks.storage.Store;
import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * The requests about many blocks at once: LIST (a page of the index in hash order, once a checkpoint covers every
 * change acknowledged before it) and FIND_MISSING (which of up to 127 hashes are not stored). Neither reads a block.
 * A bounded number of LISTs may wait for their checkpoint; more are answered BUSY.
 */
final class Listings
{
    private static final int HASH = Operations.HASH;
    /** LISTs a worker lets wait for their checkpoint at once; more are answered BUSY. */
    private static final int MAX_LISTS_WAITING = 8;
    /** How long a LIST waits for its checkpoint before it is answered BUSY. */
    private static final long LIST_WAIT_NANOS = 10_000_000_000L;

    private final WorkerContext ctx;
    private final Responder responder;
    private final UnsafeBuffer memory;
    private final Requests reqs;
    private final Store store;
    private final Answers answers;
    private final Lookups lookups;
    private final RequestBuffers buffers;
    private final StallList stalls;
    private final CommitterClient client;
    private final ListPageWriter listPage;
    private int listsWaiting;
    /** Request slots whose LIST counts in {@link #listsWaiting}: each is uncounted exactly once. */
    private final boolean[] listCounted;

    Listings(final WorkerContext ctx, final Responder responder, final Answers answers, final Lookups lookups,
        final RequestBuffers buffers, final StallList stalls, final CommitterClient client)
    {
        this.ctx = ctx;
        this.responder = responder;
        memory = ctx.memory;
        reqs = ctx.reqs;
        store = ctx.store;
        this.answers = answers;
        this.lookups = lookups;
        this.buffers = buffers;
        this.stalls = stalls;
        this.client = client;
        listPage = new ListPageWriter(memory);
        listCounted = new boolean[reqs.capacity];
    }

    /** Starts LIST {@code r}, whose body is at arena offset {@code body}: it asks for a checkpoint and waits for it. */
    void list(final int r, final long body)
    {
        if (listsWaiting >= MAX_LISTS_WAITING)
        {
            answers.status(r, Status.BUSY); // each holds up to a 256 KiB page once its checkpoint is done
            return;
        }
        listsWaiting++;
        listCounted[r] = true;
        reqs.hashes.putBytes(r * HASH, memory, (int)body + ListBody.AFTER_OFFSET, HASH);
        reqs.rangeLength[r] = ListBody.effectiveLimit(ListBody.limit(memory, (int)body));
        reqs.rangeOffset[r] = client.requestCheckpoint(); // the ticket
        reqs.blockOffset[r] = System.nanoTime(); // when it started waiting
        retry(r);
    }

    /**
     * LIST reads LMDB (in hash order, which the overlay is not): it first waits, stalled, until a checkpoint has put
     * every change committed before the request into LMDB, so a listing shows every acknowledged PUT and no
     * acknowledged DELETE; changes after that are looked up in the overlay as the scan goes.
     */
    void retry(final int r)
    {
        final boolean late = System.nanoTime() - reqs.blockOffset[r] > LIST_WAIT_NANOS;
        if (!client.checkpointed(reqs.rangeOffset[r]) && !late)
        {
            stalls.stall(r, Requests.WAIT_CHECKPOINT);
            return;
        }
        if (late || client.checkpointsFailed())
        {
            // No checkpoint in time (a failing checkpointer), or never again (a failed journal): LMDB may lack
            // acknowledged blocks, and a listing without them would send a repair astray.
            listDone(r, client.checkpointsFailed() ? Status.INTERNAL_ERROR : Status.BUSY);
            return;
        }
        final int limit = reqs.rangeLength[r];
        if (!buffers.take(r, ResponseHeader.HEADER_LENGTH + ListBody.responseLength(limit)))
        {
            stalls.stall(r, Requests.WAIT_SPACE);
            return;
        }
        lookups.pin(); // the scan looks its keys up in the overlay, whose tables are retired by reader epochs
        final long at = reqs.buffer[r];
        final int bodyLength;
        try
        {
            bodyLength = listPage.fill(store.index(), reqs.hashes, r * HASH, (reqs.flags[r] & Flags.FIRST) != 0,
                limit, (int)at + ResponseHeader.HEADER_LENGTH);
        }
        catch (final RuntimeException e)
        {
            ctx.errors.onError(ctx.name, "LIST scan failed: " + e);
            listDone(r, Status.INTERNAL_ERROR);
            return;
        }
        uncount(r);
        answers.header(r, at, Status.OK, bodyLength);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + bodyLength, Status.OK);
    }

    private void listDone(final int r, final int status)
    {
        uncount(r);
        answers.status(r, status);
    }

    /** A LIST that ends without its page (answered otherwise, abandoned, refused) leaves the count once. */
    void uncount(final int r)
    {
        if (listCounted[r])
        {
            listCounted[r] = false;
            listsWaiting--;
        }
    }

    /** Answers the hashes of the body that are not stored, in request order; no block is read. */
    boolean findMissing(final int r, final long body, final int bodyLength)
    {
        if (!buffers.take(r, ResponseHeader.HEADER_LENGTH + bodyLength))
        {
            return false;
        }
        final long at = reqs.buffer[r];
        int missing = 0;
        for (int i = 0; i < bodyLength; i += Protocol.HASH_LENGTH)
        {
            // A copy known to be corrupt counts as missing: a PUT of the content is what repairs it.
            if (!lookups.lookup(memory, (int)body + i) || lookups.corrupt())
            {
                memory.putBytes((int)at + ResponseHeader.HEADER_LENGTH + missing, memory, (int)body + i,
                    Protocol.HASH_LENGTH);
                missing += Protocol.HASH_LENGTH;
            }
        }
        answers.header(r, at, Status.OK, missing);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + missing, Status.OK);
        return true;
    }

}
