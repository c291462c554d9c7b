package io.ringblocks.server;

import io.ringblocks.storage.CommitterClient;
import io.ringblocks.storage.Deltas;
import io.ringblocks.storage.Scrubber;

/**
 * Flags a stored copy that a read found wrong (a GET's, or a deduplicated PUT's read-back): MARK_CORRUPT into the
 * delta ring, counted and logged. It must be published while the read's pin still keeps the space from reuse, so
 * that it can only condemn the copy that was read (an OCCUPY reusing the offset comes after it); when the ring is
 * full the caller reads again later instead of publishing without the pin.
 */
final class CorruptMarks
{
    private static final int HASH = Operations.HASH;

    private final WorkerContext ctx;
    private final Requests reqs;
    private final CommitterClient client;
    /** A mark was published this cycle: the committer must be woken. */
    private boolean published;

    CorruptMarks(final WorkerContext ctx, final CommitterClient client)
    {
        this.ctx = ctx;
        reqs = ctx.reqs;
        this.client = client;
    }

    /**
     * Publishes request {@code r}'s mark of the copy at {@code reqs.blockOffset[r]} ({@code reqs.payloadLength[r]}
     * bytes); the request then waits for its acknowledgement.
     *
     * @return false when the delta ring is full: nothing was published.
     */
    boolean publish(final int r)
    {
        reqs.deltaType[r] = Deltas.MARK_CORRUPT;
        if (!client.publishMarkCorrupt(reqs.token(r), reqs.hashes, r * HASH, reqs.blockOffset[r]))
        {
            return false;
        }
        published = true;
        ctx.stats.increment(ServerStats.CORRUPT_READS);
        Scrubber.report(ctx.name, reqs.hashes, r * HASH, reqs.blockOffset[r], reqs.payloadLength[r],
            ctx.store.dataPath());
        reqs.state[r] = Requests.WAIT_ACK;
        return true;
    }

    /** @return true once, after a cycle that published a mark. */
    boolean takePublished()
    {
        final boolean was = published;
        published = false;
        return was;
    }
}
