package io.ringblocks.storage;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayDeque;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.sys.Errno;
import io.ringblocks.uring.CompletionBatch;
import io.ringblocks.uring.RegisteredBuffers;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;
import io.ringblocks.uring.Wakeup;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A single-threaded stand-in for a server worker, for storage tests: PUTs go allocate → write_fixed through
 * the ring → OCCUPY delta → ack; DELETEs go FREE delta → ack; GETs go lookup → read_fixed. Pipelined up to the
 * number of buffers.
 */
final class StoreDriver implements AutoCloseable
{
    interface Done
    {
        void done(byte[] hash, int result);
    }

    private static final int OP_WRITE = 1;
    private static final int OP_WAKE = 2;

    private final Ring ring = new Ring(256);
    private final RegisteredBuffers buffers;
    private final Store store;
    private final CommitterClient client;
    private final Wakeup wakeup;
    private final CompletionBatch batch = new CompletionBatch(256);
    private final UnsafeBuffer hashBuffer = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
    private final byte[][] slotHash;
    private final long[] slotOffset;
    private final int[] slotClass;
    private final int[] slotLength;
    private final int[] slotCrc;
    private final Done[] slotDone;
    private final ArrayDeque<Integer> awaitingPublish = new ArrayDeque<>();
    private final MessageDigest sha;
    private int inFlight;
    long noSpace;

    StoreDriver(final Store store, final Wakeup wakeup, final int worker, final int depth) throws Exception
    {
        this.store = store;
        this.wakeup = wakeup;
        this.client = store.client(worker);
        buffers = new RegisteredBuffers(depth, store.config().maxBlockSize());
        buffers.register(ring);
        slotHash = new byte[depth][];
        slotOffset = new long[depth];
        slotClass = new int[depth];
        slotLength = new int[depth];
        slotCrc = new int[depth];
        slotDone = new Done[depth];
        sha = MessageDigest.getInstance("SHA-256");
        wakeup.arm(ring, UserData.pack(0, OP_WAKE, 0));
    }

    static byte[] sha256(final byte[] data) throws Exception
    {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    /** Starts a PUT; blocks (pumping) while every buffer is busy or the file is growing. */
    void put(final byte[] data, final Done done)
    {
        int slot;
        while ((slot = buffers.acquire()) < 0)
        {
            pump(true);
        }
        final int cls = BuddyAllocator.sizeClassFor(data.length, store.config().maxBlockSize());
        long offset;
        while ((offset = store.allocate(cls)) == Store.RETRY)
        {
            pump(false);
            Thread.onSpinWait();
        }
        if (offset == Store.NO_SPACE)
        {
            buffers.release(slot);
            noSpace++;
            done.done(null, -1);
            return;
        }
        final MemorySegment buf = buffers.segment(slot);
        MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
        final int padded = (data.length + 4095) & ~4095;
        buf.asSlice(data.length, padded - data.length).fill((byte)0);
        slotHash[slot] = sha.digest(data);
        slotOffset[slot] = offset;
        slotClass[slot] = cls;
        slotLength[slot] = data.length;
        final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(data);
        slotCrc[slot] = (int)crc.getValue();
        slotDone[slot] = done;
        ring.prepWriteFixed(store.writeFd(padded), buffers.address(slot), padded, offset, slot,
            UserData.pack(slot, OP_WRITE, 0));
        ring.submit();
        inFlight++;
    }

    /** Starts a DELETE; the result arrives through {@code done}. */
    void delete(final byte[] hash, final Done done)
    {
        int slot;
        while ((slot = buffers.acquire()) < 0)
        {
            pump(true);
        }
        slotHash[slot] = hash;
        slotDone[slot] = done;
        slotLength[slot] = -1;
        while (true)
        {
            // Rewritten on every attempt: pump() publishes pending OCCUPY deltas through the same buffer.
            hashBuffer.putBytes(0, hash);
            if (client.publishFree(slot, hashBuffer, 0))
            {
                break;
            }
            pump(false);
        }
        client.flush();
        inFlight++;
    }

    /** Waits until every started operation completed. */
    void drain()
    {
        while (inFlight > 0)
        {
            pump(true);
        }
    }

    private void pump(final boolean mayBlock)
    {
        int work = client.pollAcks(this::onAck, 256);
        while (!awaitingPublish.isEmpty())
        {
            final int slot = awaitingPublish.peek();
            hashBuffer.putBytes(0, slotHash[slot]);
            if (!client.publishOccupy(slot, hashBuffer, 0, slotOffset[slot], slotLength[slot], slotClass[slot],
                slotCrc[slot]))
            {
                break;
            }
            awaitingPublish.poll();
            client.flush();
            work++;
        }
        ring.reap(batch);
        for (int i = 0; i < batch.size(); i++)
        {
            work++;
            final long ud = batch.userData(i);
            final int res = batch.result(i);
            if (UserData.op(ud) == OP_WAKE)
            {
                wakeup.arm(ring, UserData.pack(0, OP_WAKE, 0));
                continue;
            }
            final int slot = UserData.slot(ud);
            if (res < ((slotLength[slot] + 4095) & ~4095))
            {
                store.release(slotOffset[slot], slotClass[slot]);
                finish(slot, Deltas.FAILED);
                System.err.println("block write failed: " + Errno.describe(res));
                continue;
            }
            awaitingPublish.add(slot);
        }
        if (work == 0 && mayBlock)
        {
            wakeup.prepareToSleep();
            if (client.pollAcks(this::onAck, 256) == 0)
            {
                ring.submitAndWait(1, 10_000_000L);
            }
            wakeup.awake();
        }
        else
        {
            ring.submitAndGetEvents();
        }
    }

    private void onAck(final long token, final int result)
    {
        finish((int)token, result);
    }

    private void finish(final int slot, final int result)
    {
        final Done done = slotDone[slot];
        final byte[] hash = slotHash[slot];
        slotDone[slot] = null;
        buffers.release(slot);
        inFlight--;
        done.done(hash, result);
    }

    @Override
    public void close()
    {
        ring.close();
        buffers.close();
    }
}
