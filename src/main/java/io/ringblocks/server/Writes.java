package io.ringblocks.server;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.zip.CRC32C;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.protocol.RequestValidator;
import io.ringblocks.storage.CommitterClient;
import io.ringblocks.storage.Deltas;
import io.ringblocks.storage.Store;
import io.ringblocks.sys.Errno;
import io.ringblocks.uring.UserData;
import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * A worker's changes to the index and what the committer answers: PUT (hash → dedup lookup (a stored copy is read
 * back and compared before it answers the PUT, {@link StoredCopyCheck}) → allocate →
 * WRITE_FIXED → OCCUPY delta → ack; a small block in sync mode goes unwritten in a WRITE_OCCUPY delta instead, and the
 * committer writes it next to its log record while the buffer stays with the request until the ack), DELETE (FREE
 * delta → ack), and the acknowledgements of those and of a GET's MARK_CORRUPT. A PUT that finds its content stored
 * but flagged corrupt writes a fresh copy, whose OCCUPY replaces the flagged entry (a heal).
 */
final class Writes implements CommitterClient.AckHandler
{
    private static final int HASH = Protocol.HASH_LENGTH;
    private static final int PAGE = 4096;
    /** In a PUT's flags: it rewrites a stored copy flagged corrupt. Beyond the wire's 16 flag bits. */
    private static final int HEALING = 1 << 30;

    private final WorkerContext ctx;
    private final ServerStats stats;
    private final Requests reqs;
    private final IoArena arena;
    private final UnsafeBuffer memory;
    private final Store store;
    private final CommitterClient client;
    private final Answers answers;
    private final Lookups lookups;
    private final RequestBuffers buffers;
    private final StallList stalls;
    private final StoredCopyCheck check;
    private final MessageDigest sha256;
    private final byte[] digest = new byte[HASH];
    /** Intrinsified; fed from a direct view of the arena, so checksumming a PUT allocates nothing. */
    private final CRC32C crc32c = new CRC32C();
    private final int maxBlockSize;
    /** A delta was published this cycle: the committer must be woken. */
    private boolean published;
    private int buffersLent;

    Writes(final WorkerContext ctx, final Answers answers, final Lookups lookups, final RequestBuffers buffers,
        final StallList stalls, final CommitterClient client, final CorruptMarks marks)
    {
        this.ctx = ctx;
        stats = ctx.stats;
        reqs = ctx.reqs;
        arena = ctx.arena;
        memory = ctx.memory;
        store = ctx.store;
        this.client = client;
        this.answers = answers;
        this.lookups = lookups;
        this.buffers = buffers;
        this.stalls = stalls;
        maxBlockSize = store.config().maxBlockSize();
        check = new StoredCopyCheck(ctx, answers, lookups, buffers, stalls, marks);
        try
        {
            sha256 = MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Starts a PUT whose whole body is in the receive buffer at arena offset {@code body}: copies the payload into a
     * block buffer of its own (and the expected hash of a VERIFY_HASH PUT into the slot), then stores it.
     *
     * @return false when no buffer could be had: nothing was consumed, retry later.
     */
    boolean startPut(final int r, final long body, final int bodyLength)
    {
        final int payload = RequestValidator.putPayloadLength(reqs.flags[r], bodyLength);
        final int prefix = bodyLength - payload;
        if (!buffers.take(r, payload))
        {
            return false;
        }
        if (prefix > 0)
        {
            reqs.expected.putBytes(r * HASH, memory, (int)body, HASH);
        }
        memory.putBytes((int)reqs.buffer[r], memory, (int)(body + prefix), payload);
        reqs.payloadLength[r] = payload;
        hashAndStore(r);
        return true;
    }

    /**
     * Starts a PUT whose body is larger than the receive buffer: takes its block buffer and moves the
     * {@code received} body bytes at {@code body} into place (the expected hash of a VERIFY_HASH PUT first). The
     * connection then receives the rest straight into {@link #expectedHashAddress} and the payload buffer.
     *
     * @return false when no buffer could be had: nothing was consumed, retry later.
     */
    boolean startLargePut(final int r, final long body, final int received, final int bodyLength)
    {
        final int payload = RequestValidator.putPayloadLength(reqs.flags[r], bodyLength);
        final int prefix = bodyLength - payload;
        if (!buffers.take(r, payload))
        {
            return false;
        }
        ServerStats.add(stats.bytesIn, Opcode.PUT, bodyLength + Protocol.HEADER_LENGTH);
        reqs.payloadLength[r] = payload;
        final int hashPart = Math.min(prefix, received);
        if (hashPart > 0)
        {
            reqs.expected.putBytes(r * HASH, memory, (int)body, hashPart);
        }
        final int payloadPart = received - hashPart;
        if (payloadPart > 0)
        {
            memory.putBytes((int)reqs.buffer[r], memory, (int)(body + hashPart), payloadPart);
        }
        return true;
    }

    /** @return the absolute address of byte {@code at} of request {@code r}'s expected hash. */
    long expectedHashAddress(final int r, final int at)
    {
        return reqs.expected.addressOffset() + (long)r * HASH + at;
    }

    /** The payload is in the request's buffer: hash it, deduplicate, allocate and write. */
    void hashAndStore(final int r)
    {
        final int payload = reqs.payloadLength[r];
        sha256.update(arena.view(reqs.buffer[r], payload));
        crc32c.reset();
        crc32c.update(arena.view(reqs.buffer[r], payload));
        reqs.crc[r] = (int)crc32c.getValue();
        try
        {
            sha256.digest(digest, 0, HASH);
        }
        catch (final java.security.DigestException e)
        {
            throw new IllegalStateException(e);
        }
        reqs.hashes.putBytes(r * HASH, digest);
        if ((reqs.flags[r] & Flags.VERIFY_HASH) != 0 && !sameHash(r))
        {
            answers.status(r, Status.HASH_MISMATCH);
            return;
        }
        storeUnlessStored(r);
    }

    /**
     * PUT {@code r}'s payload is hashed: answered from the stored copy once that is read back intact
     * ({@link StoredCopyCheck}), else written. Also the retry of a check that waited for a buffer or the ring.
     */
    void storeUnlessStored(final int r)
    {
        if (lookups.lookup(reqs.hashes, r * HASH))
        {
            if (lookups.corrupt())
            {
                heal(r); // the stored copy is known bad
            }
            else
            {
                check.start(r);
            }
            return;
        }
        reqs.blockClass[r] = BuddyAllocator.sizeClassFor(reqs.payloadLength[r], maxBlockSize);
        allocateAndWrite(r);
    }

    /** Writes PUT {@code r}'s bytes over a stored copy flagged corrupt: its OCCUPY replaces the flagged entry. */
    private void heal(final int r)
    {
        reqs.flags[r] |= HEALING; // counted once its OCCUPY is stored: a heal refused for space is no heal
        reqs.blockClass[r] = BuddyAllocator.sizeClassFor(reqs.payloadLength[r], maxBlockSize);
        allocateAndWrite(r);
    }

    /** {@link #heal}, answering INTERNAL_ERROR if it throws before the PUT got anywhere (as Operations.abandon). */
    private void healOrFail(final int r)
    {
        try
        {
            heal(r);
        }
        catch (final RuntimeException e)
        {
            ctx.errors.onError(ctx.name + " request " + r, e);
            // Still waiting on the MARK_CORRUPT's acknowledgement: not a WRITE_OCCUPY published, lending its buffer.
            if (reqs.state[r] == Requests.WAIT_ACK && reqs.deltaType[r] == Deltas.MARK_CORRUPT)
            {
                stats.increment(ServerStats.REQUESTS_ABANDONED);
                answers.status(r, Status.INTERNAL_ERROR);
            }
        }
    }

    private boolean sameHash(final int r)
    {
        for (int i = 0; i < HASH; i += Long.BYTES)
        {
            if (reqs.hashes.getLong(r * HASH + i) != reqs.expected.getLong(r * HASH + i))
            {
                return false;
            }
        }
        return true;
    }

    /** Allocates the block's space and writes it (or hands it to the committer); retried when space was short. */
    void allocateAndWrite(final int r)
    {
        if (!store.journalHealthy())
        {
            // The committer answers every change FAILED until a restart: no space is taken, no block written.
            answers.status(r, Status.INTERNAL_ERROR);
            return;
        }
        final long offset = store.allocate(reqs.blockClass[r]);
        if (offset == Store.RETRY)
        {
            stalls.stall(r, Requests.WAIT_SPACE);
            return;
        }
        if (offset == Store.NO_SPACE)
        {
            answers.status(r, Status.NO_SPACE);
            return;
        }
        final int payload = reqs.payloadLength[r];
        final int padded = (payload + PAGE - 1) & ~(PAGE - 1);
        if (padded > payload)
        {
            memory.setMemory((int)(reqs.buffer[r] + payload), padded - payload, (byte)0);
        }
        reqs.blockOffset[r] = offset;
        reqs.ioLength[r] = padded;
        reqs.ioDone[r] = 0;
        try
        {
            if (store.committerWrites(padded))
            {
                // The committer writes it next to the batch's log record, one thread hand-off less per PUT.
                reqs.deltaType[r] = Deltas.WRITE_OCCUPY;
                publishOrStall(r); // nothing after it throws: a stalled or published request keeps its block
                return;
            }
            submitWrite(r);
        }
        catch (final RuntimeException e)
        {
            releaseBlock(r); // nothing was written to it, and nothing else has it
            throw e;
        }
        reqs.state[r] = Requests.WRITING;
    }

    /** Gives back the space of this PUT's own block, once: the offset is forgotten with it. */
    private void releaseBlock(final int r)
    {
        if (reqs.blockOffset[r] >= 0)
        {
            store.release(reqs.blockOffset[r], reqs.blockClass[r]);
            reqs.blockOffset[r] = -1;
        }
    }

    private void submitWrite(final int r)
    {
        final int done = reqs.ioDone[r];
        arena.prepWrite(store.writeFd(reqs.ioLength[r]), reqs.buffer[r], reqs.buffer[r] + done, reqs.ioLength[r] - done,
            reqs.blockOffset[r] + done, UserData.pack(r, Worker.OP_FILE_WRITE, reqs.generation[r]));
    }

    void onFileWrite(final int r, final int gen, final int res)
    {
        if (reqs.generation[r] != gen || reqs.state[r] != Requests.WRITING)
        {
            return;
        }
        if (res == -Errno.EINTR || res == -Errno.EAGAIN)
        {
            submitWrite(r);
            return;
        }
        if (res <= 0)
        {
            stats.increment(ServerStats.IO_ERRORS);
            final long at = reqs.blockOffset[r];
            releaseBlock(r);
            if (res == -Errno.ENOSPC)
            {
                answers.status(r, Status.NO_SPACE);
                return;
            }
            ctx.errors.onError(ctx.name, "block write at " + at + " failed: " + Errno.describe(res));
            answers.status(r, Status.INTERNAL_ERROR);
            return;
        }
        reqs.ioDone[r] += res;
        if (reqs.ioDone[r] < reqs.ioLength[r])
        {
            stats.increment(ServerStats.SHORT_IO);
            submitWrite(r);
            return;
        }
        reqs.deltaType[r] = Deltas.OCCUPY;
        publishOrStall(r);
    }

    /** Starts DELETE {@code r}, whose hash is in its slot. */
    void delete(final int r)
    {
        reqs.deltaType[r] = Deltas.FREE;
        publishOrStall(r);
    }

    /** A PUT refused at a stop (stalled for space or the ring), or abandoned after a fault: its own space goes back. */
    void refuse(final int r)
    {
        // A block being written (its write over) or written and not published is this PUT's own space.
        if (reqs.state[r] == Requests.WRITING || reqs.state[r] == Requests.WAIT_PUBLISH &&
            (reqs.deltaType[r] == Deltas.OCCUPY || reqs.deltaType[r] == Deltas.WRITE_OCCUPY))
        {
            releaseBlock(r);
        }
    }

    /** @return true once, after a cycle that published a delta. */
    boolean takePublished()
    {
        final boolean was = published;
        published = false;
        return was;
    }

    /** The read-back of a deduplicated PUT's stored copy completed. */
    void onCheckRead(final int r, final int gen, final int res)
    {
        check.onRead(r, gen, res);
    }

    /** Publishes request {@code r}'s delta ({@code reqs.deltaType}), or stalls it while the ring is full. */
    void publishOrStall(final int r)
    {
        final int type = reqs.deltaType[r];
        final boolean ok = type == Deltas.OCCUPY ?
            client.publishOccupy(reqs.token(r), reqs.hashes, r * HASH, reqs.blockOffset[r], reqs.payloadLength[r],
                reqs.blockClass[r], reqs.crc[r]) :
            type == Deltas.WRITE_OCCUPY ?
            client.publishWriteOccupy(reqs.token(r), reqs.hashes, r * HASH, reqs.blockOffset[r],
                reqs.payloadLength[r], reqs.blockClass[r], reqs.crc[r], arena.address(reqs.buffer[r]),
                reqs.ioLength[r]) :
            type == Deltas.MARK_CORRUPT ? client.publishMarkCorrupt(reqs.token(r), reqs.hashes, r * HASH,
                reqs.blockOffset[r]) :
            client.publishFree(reqs.token(r), reqs.hashes, r * HASH);
        if (!ok)
        {
            stalls.stall(r, Requests.WAIT_PUBLISH);
            return;
        }
        published = true;
        if (type == Deltas.WRITE_OCCUPY)
        {
            buffersLent++;
        }
        reqs.state[r] = Requests.WAIT_ACK;
    }

    /**
     * @return request buffers the committer may still be writing from (WRITE_OCCUPY published, not yet
     * acknowledged): the arena must stay mapped while there are any.
     */
    int buffersLent()
    {
        return buffersLent;
    }

    int pollAcks()
    {
        return client.pollAcks(this, 1024);
    }

    boolean hasAcks()
    {
        return client.link().acks().size() > 0;
    }

    @Override
    public void onAck(final long token, final int result)
    {
        final int r = Requests.slotOf(token);
        if (reqs.generation[r] != Requests.generationOf(token) || reqs.state[r] != Requests.WAIT_ACK)
        {
            ctx.errors.onError(ctx.name, "acknowledgement for a request no longer waiting: " + token);
            return;
        }
        if (reqs.deltaType[r] == Deltas.MARK_CORRUPT)
        {
            if (reqs.opcode[r] == Opcode.PUT)
            {
                healOrFail(r); // its read-back found the stored copy wrong, and the flag is committed now
                return;
            }
            answers.status(r, Status.CORRUPT); // whatever the result: these bytes were wrong
            return;
        }
        if (reqs.deltaType[r] == Deltas.WRITE_OCCUPY)
        {
            buffersLent--;
        }
        if (reqs.deltaType[r] == Deltas.OCCUPY || reqs.deltaType[r] == Deltas.WRITE_OCCUPY)
        {
            if (result == Deltas.STORED || result == Deltas.DUPLICATE)
            {
                if (result == Deltas.DUPLICATE)
                {
                    stats.increment(ServerStats.DEDUP_HITS);
                }
                else if ((reqs.flags[r] & HEALING) != 0)
                {
                    stats.increment(ServerStats.CORRUPT_HEALS);
                }
                answers.hash(r);
            }
            else
            {
                answers.status(r, Status.INTERNAL_ERROR);
            }
            return;
        }
        answers.status(r, result == Deltas.DELETED ? Status.OK :
            result == Deltas.NOT_FOUND ? Status.NOT_FOUND : Status.INTERNAL_ERROR);
    }
}
