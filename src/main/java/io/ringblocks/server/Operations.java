package io.ringblocks.server;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.zip.CRC32C;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.protocol.ListBody;
import io.ringblocks.protocol.RangeBody;
import io.ringblocks.protocol.RequestValidator;
import io.ringblocks.protocol.ResponseHeader;
import io.ringblocks.protocol.ResponseHeaderEncoder;
import io.ringblocks.storage.BlockIndex;
import io.ringblocks.storage.CommitterClient;
import io.ringblocks.storage.Deltas;
import io.ringblocks.storage.ReadEpochs;
import io.ringblocks.storage.Scrubber;
import io.ringblocks.storage.Store;
import io.ringblocks.sys.Errno;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;
import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * The requests of one worker: PUT (hash → dedup lookup → allocate → WRITE_FIXED → OCCUPY delta → ack; a small
 * block in sync mode goes unwritten in a WRITE_OCCUPY delta instead, and the committer writes it next to its log
 * record while the buffer stays with the request until the ack), GET
 * (lookup → READ_FIXED into a buffer of the block's size, sent after a header from the request's small response
 * area; or, for a small block read before, {@link BlockCache} entry (lookup only if a commit since may have deleted
 * or flagged it) → sent from there), HEAD, DELETE (FREE delta → ack), PING and STATS. Runs on the worker thread;
 * nothing here blocks or allocates per request (STATS excepted).
 * <p>
 * Every block read is checked against the CRC32C its PUT recorded before a byte of it is sent (a ranged GET reads
 * and checks the whole block); a block that fails is answered {@link Status#CORRUPT} and flagged in the index,
 * and a PUT of the same content then writes a fresh copy instead of answering from dedup.
 * <p>
 * Lookups of one duty cycle share one LMDB snapshot, pinned in {@link ReadEpochs} before it is taken: a block
 * deleted after the snapshot stays allocated until every read that might have found it completed.
 */
final class Operations implements CommitterClient.AckHandler, AutoCloseable
{
    /** Bytes of a hash: each request slot keeps one in {@code reqs.hashes} (and the expected one) at r * HASH. */
    static final int HASH = Protocol.HASH_LENGTH;
    private static final int SMALL_RESPONSE = 64;
    /** LISTs a worker lets wait for their checkpoint at once; more are answered BUSY. */
    private static final int MAX_LISTS_WAITING = 8;
    /** How long a LIST waits for its checkpoint before it is answered BUSY. */
    private static final long LIST_WAIT_NANOS = 10_000_000_000L;
    private static final int PAGE = 4096;

    private final WorkerContext ctx;
    private final Responder responder;
    private final ServerStats stats;
    private final UnsafeBuffer memory;
    private final ListPageWriter listPage;
    private final Ring ring;
    private final ResponseHeaderEncoder encoder = new ResponseHeaderEncoder();
    private final Requests reqs;
    private final IoArena arena;
    private final Store store;
    private final CommitterClient client;
    private final BlockIndex.Reader reader;
    private final ReadEpochs epochs;
    private final MessageDigest sha256;
    private final byte[] digest = new byte[HASH];
    /** Intrinsified; fed from a direct view of the arena, so checking a block allocates nothing. */
    private final CRC32C crc32c = new CRC32C();
    private final long smallBase;
    private final int smallClass;
    private final BlockCache cache;
    private final int readFd;
    private final int maxBlockSize;
    private final long reserve;
    private boolean pinned;
    private long pinEpoch;
    /** {@link CommitterClient#invalidatingCommits()} read just before this cycle's pin: what its lookups vouch for. */
    private long pinInvalidations;
    private long pinTag;
    private boolean published;
    private int buffersLent;
    private int listsWaiting;
    private int stalledHead = -1;
    private int stalledTail = -1;

    Operations(final WorkerContext ctx, final Responder responder)
    {
        this.ctx = ctx;
        this.responder = responder;
        stats = ctx.stats;
        memory = ctx.memory;
        listPage = new ListPageWriter(memory);
        ring = ctx.ring();
        reqs = ctx.reqs;
        arena = ctx.arena;
        store = ctx.store;
        client = store.client(ctx.id);
        reader = store.index().reader();
        epochs = new ReadEpochs(client.link());
        readFd = store.readFd();
        maxBlockSize = store.config().maxBlockSize();
        // Room for 64 more connections' receive buffers, or a sixteenth of the arena, whichever is smaller.
        reserve = Math.min(64L * ctx.config.recvBufferSize(), ctx.config.arenaSize() / 16);
        smallClass = IoArena.classFor(Math.max(PAGE, reqs.capacity * SMALL_RESPONSE));
        smallBase = arena.allocate(smallClass);
        if (smallBase == IoArena.NONE)
        {
            throw new IllegalArgumentException("I/O arena too small for " + reqs.capacity + " request slots");
        }
        try
        {
            sha256 = MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException(e);
        }
        cache = new BlockCache(ctx.config.blockCacheSize()); // last: nothing after it can fail and leak the mapping
    }

    long smallResponse(final int r)
    {
        return smallBase + (long)r * SMALL_RESPONSE;
    }

    /** Answers a status with an empty body from the request's small response area. */
    void respondStatus(final int r, final int status)
    {
        final long at = smallResponse(r);
        encoder.wrap(memory, (int)at).encode(reqs.opcode[r], status, reqs.requestId[r], 0);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH, status);
    }

    /** Writes a response header at {@code at} for a body of {@code bodyLength} that follows it. */
    private void header(final int r, final long at, final int status, final int bodyLength)
    {
        encoder.wrap(memory, (int)at).encode(reqs.opcode[r], status, reqs.requestId[r], bodyLength);
    }

    /**
     * Starts a request whose whole body is in the receive buffer at arena offset {@code body}.
     *
     * @return false when a buffer could not be had: nothing was consumed, retry later.
     */
    boolean start(final int r, final long body, final int bodyLength)
    {
        final int opcode = reqs.opcode[r];
        ServerStats.add(stats.bytesIn, Opcode.isValid(opcode) ? opcode : Opcode.NONE,
            bodyLength + Protocol.HEADER_LENGTH);
        switch (opcode)
        {
            case Opcode.PING -> respondStatus(r, Status.OK);
            case Opcode.STATS -> stats(r);
            case Opcode.HEAD, Opcode.GET, Opcode.DELETE ->
            {
                reqs.hashes.putBytes(r * HASH, memory, (int)body, HASH);
                if (opcode == Opcode.HEAD)
                {
                    head(r);
                }
                else if (opcode == Opcode.DELETE)
                {
                    reqs.deltaType[r] = Deltas.FREE;
                    publishOrStall(r);
                }
                else
                {
                    final boolean ranged = (reqs.flags[r] & Flags.RANGE) != 0;
                    reqs.rangeOffset[r] = ranged ? RangeBody.offset(memory, (int)body) : 0;
                    reqs.rangeLength[r] = ranged ? RangeBody.length(memory, (int)body) : 0;
                    get(r);
                }
            }
            case Opcode.LIST ->
            {
                if (listsWaiting >= MAX_LISTS_WAITING)
                {
                    respondStatus(r, Status.BUSY); // each holds up to a 256 KiB page once its checkpoint is done
                    return true;
                }
                listsWaiting++;
                reqs.hashes.putBytes(r * HASH, memory, (int)body + ListBody.AFTER_OFFSET, HASH);
                reqs.rangeLength[r] = ListBody.effectiveLimit(ListBody.limit(memory, (int)body));
                reqs.rangeOffset[r] = client.requestCheckpoint(); // the ticket
                reqs.blockOffset[r] = System.nanoTime(); // when it started waiting
                list(r);
            }
            case Opcode.FIND_MISSING ->
            {
                return findMissing(r, body, bodyLength);
            }
            case Opcode.PUT ->
            {
                final int payload = RequestValidator.putPayloadLength(reqs.flags[r], bodyLength);
                final int prefix = bodyLength - payload;
                if (!takeBuffer(r, payload))
                {
                    return false;
                }
                if (prefix > 0)
                {
                    reqs.expected.putBytes(r * HASH, memory, (int)body, HASH);
                }
                memory.putBytes((int)reqs.buffer[r], memory, (int)(body + prefix), payload);
                reqs.payloadLength[r] = payload;
                startPut(r);
            }
            default -> respondStatus(r, Status.UNKNOWN_OPCODE);
        }
        return true;
    }

    /**
     * Starts a PUT whose body is larger than the receive buffer: takes its block buffer and moves the
     * {@code received} body bytes at {@code body} into place (the expected hash of a VERIFY_HASH PUT first). The
     * connection then receives the rest straight into {@link #expectedHashAddress} and {@link #payloadAddress}.
     *
     * @return false when no buffer could be had: nothing was consumed, retry later.
     */
    boolean startLargePut(final int r, final long body, final int received, final int bodyLength)
    {
        final int payload = RequestValidator.putPayloadLength(reqs.flags[r], bodyLength);
        final int prefix = bodyLength - payload;
        if (!takeBuffer(r, payload))
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

    /** @return the absolute address of byte {@code at} of request {@code r}'s payload buffer. */
    long payloadAddress(final int r, final int at)
    {
        return arena.address(reqs.buffer[r] + at);
    }

    private boolean takeBuffer(final int r, final int bytes)
    {
        final int cls = IoArena.classFor(Math.max(bytes, 1));
        final long buffer = arena.allocate(cls, reserve);
        if (buffer == IoArena.NONE)
        {
            return false;
        }
        reqs.buffer[r] = buffer;
        reqs.bufferClass[r] = cls;
        responder.chargeBuffer(r, BuddyAllocator.blockSize(cls));
        return true;
    }

    void releaseBuffers(final int r)
    {
        if (reqs.buffer[r] != IoArena.NONE)
        {
            arena.free(reqs.buffer[r], reqs.bufferClass[r]);
            reqs.buffer[r] = IoArena.NONE;
            responder.chargeBuffer(r, -BuddyAllocator.blockSize(reqs.bufferClass[r]));
        }
        if (reqs.readTag[r] >= 0)
        {
            epochs.end(reqs.readTag[r]);
            reqs.readTag[r] = -1;
        }
        if (reqs.cacheEntry[r] >= 0)
        {
            cache.unpin(reqs.cacheEntry[r]);
            reqs.cacheEntry[r] = -1;
        }
    }

    // ---------------------------------------------------------------- lookups

    private boolean lookup(final int r)
    {
        return lookup(reqs.hashes, r * HASH);
    }

    private boolean lookup(final DirectBuffer hash, final int hashOffset)
    {
        pin();
        return reader.lookup(hash, hashOffset);
    }

    /** Pins the committer epoch for this duty cycle's index reads (overlay tables and LMDB snapshots). */
    private void pin()
    {
        if (!pinned)
        {
            // Before the pin: a deletion counted after this read may be missing from the snapshot, never one before.
            pinInvalidations = client.invalidatingCommits();
            // Publish the pin before the snapshot exists, so the committer cannot reuse what it may show.
            pinEpoch = client.epoch();
            pinTag = epochs.begin(pinEpoch);
            pinned = true;
        }
    }

    /** End of a duty cycle: let LMDB move on and drop the snapshot's pin. */
    void endIteration()
    {
        gauges(); // cache pins come and go with every hit: published once a cycle
        reader.release();
        if (pinned)
        {
            epochs.end(pinTag);
            pinned = false;
        }
        if (published)
        {
            published = false;
            client.flush();
        }
    }

    private void head(final int r)
    {
        if (!lookup(r))
        {
            respondStatus(r, Status.NOT_FOUND);
            return;
        }
        final long at = smallResponse(r);
        header(r, at, Status.OK, 4);
        memory.putInt((int)at + ResponseHeader.HEADER_LENGTH, reader.length(),
            ByteOrder.LITTLE_ENDIAN);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + 4, Status.OK);
    }

    // ---------------------------------------------------------------- LIST, FIND_MISSING

    /**
     * LIST reads LMDB (in hash order, which the overlay is not): it first waits, stalled, until a checkpoint has put
     * every change committed before the request into LMDB, so a listing shows every acknowledged PUT and no
     * acknowledged DELETE; changes after that are looked up in the overlay as the scan goes.
     */
    private void list(final int r)
    {
        final boolean late = System.nanoTime() - reqs.blockOffset[r] > LIST_WAIT_NANOS;
        if (!client.checkpointed(reqs.rangeOffset[r]) && !late)
        {
            stall(r, Requests.WAIT_CHECKPOINT);
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
        if (!takeBuffer(r, ResponseHeader.HEADER_LENGTH + ListBody.responseLength(limit)))
        {
            stall(r, Requests.WAIT_SPACE);
            return;
        }
        pin(); // the scan looks its keys up in the overlay, whose tables are retired by reader epochs
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
        listsWaiting--;
        header(r, at, Status.OK, bodyLength);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + bodyLength, Status.OK);
    }

    private void listDone(final int r, final int status)
    {
        listsWaiting--;
        respondStatus(r, status);
    }

    /** Answers the hashes of the body that are not stored, in request order; no block is read. */
    private boolean findMissing(final int r, final long body, final int bodyLength)
    {
        if (!takeBuffer(r, ResponseHeader.HEADER_LENGTH + bodyLength))
        {
            return false;
        }
        final long at = reqs.buffer[r];
        int missing = 0;
        for (int i = 0; i < bodyLength; i += Protocol.HASH_LENGTH)
        {
            // A copy known to be corrupt counts as missing: a PUT of the content is what repairs it.
            if (!lookup(memory, (int)body + i) || reader.corrupt())
            {
                memory.putBytes((int)at + ResponseHeader.HEADER_LENGTH + missing, memory, (int)body + i,
                    Protocol.HASH_LENGTH);
                missing += Protocol.HASH_LENGTH;
            }
        }
        header(r, at, Status.OK, missing);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + missing, Status.OK);
        return true;
    }

    // ---------------------------------------------------------------- GET

    private void get(final int r)
    {
        final int cached = cache.find(reqs.hashes, r * HASH);
        final boolean known = cached >= 0 && unchangedSince(cache.validAt(cached));
        if (!known && !lookup(r))
        {
            forget(cached);
            respondStatus(r, Status.NOT_FOUND);
            return;
        }
        if (!known && reader.corrupt())
        {
            forget(cached);
            stats.increment(ServerStats.CORRUPT_READS); // already flagged and logged: no need to read it again
            respondStatus(r, Status.CORRUPT);
            return;
        }
        final int blockLength = known ? cache.length(cached) : reader.length();
        long offset = 0;
        int length = blockLength;
        if ((reqs.flags[r] & Flags.RANGE) != 0)
        {
            final int verdict = RangeBody.check(reqs.rangeOffset[r], reqs.rangeLength[r], blockLength);
            if (verdict != Status.OK)
            {
                respondStatus(r, verdict);
                return;
            }
            offset = reqs.rangeOffset[r];
            length = RangeBody.resolvedLength(reqs.rangeOffset[r], reqs.rangeLength[r], blockLength);
        }
        if (cached >= 0)
        {
            if (sendCached(r, cached, blockLength, known ? cache.crc(cached) : reader.crc(), offset, length))
            {
                if (known)
                {
                    stats.increment(ServerStats.CACHE_INDEX_SKIPS);
                }
                else
                {
                    cache.validate(cached, pinInvalidations);
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
        if (!takeBuffer(r, spanLength))
        {
            stall(r, Requests.WAIT_SPACE);
            return;
        }
        reqs.readTag[r] = epochs.begin(pinEpoch);
        reqs.indexedAt[r] = pinInvalidations;
        reqs.blockOffset[r] = reader.offset();
        reqs.payloadLength[r] = blockLength; // a GET's block length, for the check
        reqs.crc[r] = reader.crc();
        reqs.ioLength[r] = spanLength;
        reqs.ioDone[r] = 0;
        // Until the response is queued, response/responseLength hold the body: the wanted bytes of the buffer.
        reqs.response[r] = reqs.buffer[r] + offset;
        reqs.responseLength[r] = length;
        reqs.state[r] = Requests.READING;
        submitRead(r);
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
        final long at = smallResponse(r);
        header(r, at, Status.OK, length);
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

    private void gauges()
    {
        if (cache.enabled())
        {
            stats.set(ServerStats.CACHE_BYTES, cache.bytes());
            stats.set(ServerStats.CACHE_BLOCKS, cache.entries());
            stats.set(ServerStats.CACHE_PINNED, cache.pinnedEntries());
        }
        stats.set(ServerStats.ARENA_REGISTERED_BYTES, arena.registeredBytes());
    }

    private void submitRead(final int r)
    {
        final int done = reqs.ioDone[r];
        final long address = arena.address(reqs.buffer[r] + done);
        final int length = reqs.ioLength[r] - done;
        final long ud = UserData.pack(r, Worker.OP_FILE_READ, reqs.generation[r]);
        final int fixed = arena.fixedIndex(reqs.buffer[r]);
        if (fixed >= 0)
        {
            ring.prepReadFixed(readFd, address, length, reqs.blockOffset[r] + done, fixed, ud);
        }
        else
        {
            ring.prepRead(readFd, address, length, reqs.blockOffset[r] + done, ud);
        }
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
            releaseBuffers(r);
            respondStatus(r, Status.INTERNAL_ERROR);
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
        epochs.end(reqs.readTag[r]);
        reqs.readTag[r] = -1;
        if (reqs.payloadLength[r] <= BlockCache.MAX_BLOCK && cache.enabled())
        {
            if (cache.offer(reqs.hashes, r * HASH, memory, (int)reqs.buffer[r], reqs.payloadLength[r],
                reqs.crc[r], reqs.indexedAt[r]))
            {
                stats.increment(ServerStats.CACHE_ADMISSIONS);
            }
        }
        final long at = smallResponse(r);
        header(r, at, Status.OK, reqs.responseLength[r]);
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
        // The read's pin is still held: the space read cannot have been reused, so the mark, if it gets into the
        // ring now, can only condemn the copy that was read (any OCCUPY reusing this offset comes after it).
        reqs.deltaType[r] = Deltas.MARK_CORRUPT;
        final boolean marked = client.publishMarkCorrupt(reqs.token(r), reqs.hashes, r * HASH, reqs.blockOffset[r]);
        releaseBuffers(r); // and the pin
        if (!marked)
        {
            // A mark published later, without the pin, could flag a fresh copy at the same offset: read again.
            stall(r, Requests.WAIT_SPACE);
            return;
        }
        stats.increment(ServerStats.CORRUPT_READS);
        Scrubber.report(ctx.name, reqs.hashes, r * HASH, reqs.blockOffset[r], reqs.payloadLength[r],
            store.dataPath());
        published = true;
        reqs.state[r] = Requests.WAIT_ACK;
    }

    // ---------------------------------------------------------------- PUT

    /** The payload is in the request's buffer: hash it, deduplicate, allocate and write. */
    void startPut(final int r)
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
            respondStatus(r, Status.HASH_MISMATCH);
            return;
        }
        if (lookup(r))
        {
            if (!reader.corrupt())
            {
                stats.increment(ServerStats.DEDUP_HITS);
                respondHash(r);
                return;
            }
            // The stored copy is known bad: write this one, whose OCCUPY replaces the flagged entry (heal).
            stats.increment(ServerStats.CORRUPT_HEALS);
        }
        reqs.blockClass[r] = BuddyAllocator.sizeClassFor(payload, maxBlockSize);
        allocateAndWrite(r);
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

    private void allocateAndWrite(final int r)
    {
        final long offset = store.allocate(reqs.blockClass[r]);
        if (offset == Store.RETRY)
        {
            stall(r, Requests.WAIT_SPACE);
            return;
        }
        if (offset == Store.NO_SPACE)
        {
            respondStatus(r, Status.NO_SPACE);
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
        if (store.committerWrites(padded))
        {
            // The committer writes it next to the batch's log record, one thread hand-off less per PUT.
            reqs.deltaType[r] = Deltas.WRITE_OCCUPY;
            publishOrStall(r);
            return;
        }
        reqs.state[r] = Requests.WRITING;
        submitWrite(r);
    }

    private void submitWrite(final int r)
    {
        final int done = reqs.ioDone[r];
        final int fd = store.writeFd(reqs.ioLength[r]);
        final long address = arena.address(reqs.buffer[r] + done);
        final int length = reqs.ioLength[r] - done;
        final long ud = UserData.pack(r, Worker.OP_FILE_WRITE, reqs.generation[r]);
        final int fixed = arena.fixedIndex(reqs.buffer[r]);
        if (fixed >= 0)
        {
            ring.prepWriteFixed(fd, address, length, reqs.blockOffset[r] + done, fixed, ud);
        }
        else
        {
            ring.prepWrite(fd, address, length, reqs.blockOffset[r] + done, ud);
        }
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
            store.release(reqs.blockOffset[r], reqs.blockClass[r]);
            if (res == -Errno.ENOSPC)
            {
                respondStatus(r, Status.NO_SPACE);
                return;
            }
            ctx.errors.onError(ctx.name, "block write at " + reqs.blockOffset[r] + " failed: " +
                Errno.describe(res));
            respondStatus(r, Status.INTERNAL_ERROR);
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

    private void respondHash(final int r)
    {
        final long at = smallResponse(r);
        header(r, at, Status.OK, HASH);
        memory.putBytes((int)at + ResponseHeader.HEADER_LENGTH, reqs.hashes, r * HASH, HASH);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + HASH, Status.OK);
    }

    // ---------------------------------------------------------------- committer

    private void publishOrStall(final int r)
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
            stall(r, Requests.WAIT_PUBLISH);
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
            respondStatus(r, Status.CORRUPT); // whatever the result: these bytes were wrong
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
                respondHash(r);
            }
            else
            {
                respondStatus(r, Status.INTERNAL_ERROR);
            }
            return;
        }
        respondStatus(r, result == Deltas.DELETED ? Status.OK :
            result == Deltas.NOT_FOUND ? Status.NOT_FOUND : Status.INTERNAL_ERROR);
    }

    // ---------------------------------------------------------------- stalls

    private void stall(final int r, final int state)
    {
        stats.increment(ServerStats.STALLS);
        reqs.state[r] = state;
        reqs.next[r] = -1;
        if (stalledTail < 0)
        {
            stalledHead = r;
        }
        else
        {
            reqs.next[stalledTail] = r;
        }
        stalledTail = r;
    }

    boolean hasStalled()
    {
        return stalledHead >= 0;
    }

    /**
     * Retries each stalled request once (space to allocate, room in the delta ring).
     *
     * @return how many got further; a request that stalls again is not work, so an idle worker still sleeps.
     */
    int retryStalled()
    {
        int r = stalledHead;
        stalledHead = -1;
        stalledTail = -1;
        int work = 0;
        while (r >= 0)
        {
            final int next = reqs.next[r];
            final long stallsBefore = stats.get(ServerStats.STALLS);
            if (reqs.state[r] == Requests.WAIT_PUBLISH)
            {
                publishOrStall(r);
            }
            else if (reqs.opcode[r] == Opcode.LIST)
            {
                list(r);
            }
            else if (reqs.opcode[r] == Opcode.GET)
            {
                releaseBuffers(r);
                get(r);
            }
            else
            {
                allocateAndWrite(r);
            }
            if (stats.get(ServerStats.STALLS) == stallsBefore)
            {
                work++;
            }
            r = next;
        }
        return work;
    }

    /**
     * The worker stops: requests waiting for space or for room in the delta ring are answered SHUTTING_DOWN
     * instead of waiting on. None took effect; a PUT's block written but not published is given back.
     */
    void refuseStalled()
    {
        int r = stalledHead;
        stalledHead = -1;
        stalledTail = -1;
        while (r >= 0)
        {
            final int next = reqs.next[r];
            if (reqs.state[r] == Requests.WAIT_PUBLISH &&
                (reqs.deltaType[r] == Deltas.OCCUPY || reqs.deltaType[r] == Deltas.WRITE_OCCUPY))
            {
                store.release(reqs.blockOffset[r], reqs.blockClass[r]);
            }
            if (reqs.opcode[r] == Opcode.LIST)
            {
                listsWaiting--;
            }
            releaseBuffers(r);
            respondStatus(r, Status.SHUTTING_DOWN);
            r = next;
        }
    }

    // ---------------------------------------------------------------- STATS

    private void stats(final int r)
    {
        final String text = responder.statsText();
        final byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (!takeBuffer(r, ResponseHeader.HEADER_LENGTH + bytes.length))
        {
            respondStatus(r, Status.BUSY);
            return;
        }
        final long at = reqs.buffer[r];
        header(r, at, Status.OK, bytes.length);
        memory.putBytes((int)at + ResponseHeader.HEADER_LENGTH, bytes);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + bytes.length, Status.OK);
    }

    @Override
    public void close()
    {
        reader.close();
    }

    /** Unmaps the block cache: only once the ring is closed, since a send in flight may read from it. */
    void closeCache()
    {
        cache.close();
    }
}
