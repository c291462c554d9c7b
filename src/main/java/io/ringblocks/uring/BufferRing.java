package io.ringblocks.uring;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.ffi.io_uring_buf;
import io.ringblocks.ffi.io_uring_buf_reg;
import io.ringblocks.ffi.io_uring_buf_ring;
import io.ringblocks.ffi.liburing;
import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

/**
 * A provided-buffer ring (IORING_REGISTER_PBUF_RING, kernel 5.19+): {@code entries} buffers of {@code bufferSize}
 * bytes that the kernel picks from only when a buffer-select receive has data, so a connection waiting for bytes
 * holds no memory. Java ports of liburing 2.3's {@code io_uring_buf_ring_add/advance/mask} (liburing.h:1285-1320)
 * over the generated layouts.
 * <pre>
 *  ring (entries x 16 bytes, page aligned, shared with the kernel):
 *  +--------------------------------+--------------------------------+-----
 *  | addr (8) | len (4) | bid (2) | tail (2) | addr | len | bid | resv | ...
 *  +--------------------------------+--------------------------------+-----
 *    the tail overlays entry 0's reserved field; the kernel consumes from its head up to the tail we publish
 * </pre>
 * Owned by the ring's thread: {@link #recycle} hands a buffer back after its bytes were used.
 */
public final class BufferRing implements AutoCloseable
{
    /** CQE flag: the completion used a provided buffer, whose id is {@link #bufferId}. */
    public static final int CQE_F_BUFFER = liburing.IORING_CQE_F_BUFFER();
    /** The SQE flag that makes a receive pick its buffer from a group. */
    public static final int SQE_BUFFER_SELECT = liburing.IOSQE_BUFFER_SELECT();

    private static final int BUFFER_SHIFT = liburing.IORING_CQE_BUFFER_SHIFT();
    private static final int ENTRY = (int)io_uring_buf.layout().byteSize();
    private static final int ADDR = (int)io_uring_buf.addr$offset();
    private static final int LEN = (int)io_uring_buf.len$offset();
    private static final int BID = (int)io_uring_buf.bid$offset();
    private static final int TAIL = (int)io_uring_buf_ring.tail$offset();

    private final Ring ring;
    private final int group;
    private final int entries;
    private final int mask;
    private final long bufferBase;
    private final int bufferSize;
    private final long ringAddress;
    private final long ringLength;
    private final UnsafeBuffer entriesView;
    private int tail;
    private boolean closed;

    private BufferRing(final Ring ring, final int group, final int entries, final long bufferBase,
        final int bufferSize, final long ringAddress, final long ringLength)
    {
        this.ring = ring;
        this.group = group;
        this.entries = entries;
        this.mask = entries - 1;
        this.bufferBase = bufferBase;
        this.bufferSize = bufferSize;
        this.ringAddress = ringAddress;
        this.ringLength = ringLength;
        entriesView = new UnsafeBuffer(ringAddress, (int)ringLength);
    }

    /**
     * Registers {@code entries} buffers of {@code bufferSize} bytes, back to back from absolute address
     * {@code bufferBase}, as buffer group {@code group} of {@code ring}, all of them available.
     *
     * @return the ring, or null where the kernel has no provided-buffer rings (EINVAL before 5.19).
     * @throws IllegalArgumentException for entries not a power of two in 1..32768 or a non-positive buffer size.
     * @throws RingException for any other failure.
     */
    public static BufferRing register(final Ring ring, final int group, final int entries, final long bufferBase,
        final int bufferSize)
    {
        if (entries < 1 || entries > 32768 || Integer.bitCount(entries) != 1 || bufferSize <= 0 || group < 0 ||
            group > 0xFFFF)
        {
            throw new IllegalArgumentException("need a power-of-two entries in 1..32768, bufferSize > 0 and a " +
                "16-bit group: entries=" + entries + " bufferSize=" + bufferSize + " group=" + group);
        }
        final long length = Math.max(4096L, (long)entries * ENTRY);
        final long address = LibC.mmap(length, LibC.PROT_READ | LibC.PROT_WRITE,
            LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, 0);
        if (address < 0)
        {
            throw new RingException("mmap of a " + length + "-byte buffer ring", (int)address);
        }
        final int rc;
        try (Arena call = Arena.ofConfined())
        {
            final MemorySegment reg = io_uring_buf_reg.allocate(call);
            reg.fill((byte)0);
            io_uring_buf_reg.ring_addr(reg, address);
            io_uring_buf_reg.ring_entries(reg, entries);
            io_uring_buf_reg.bgid(reg, (short)group);
            rc = ring.registerBufRing(reg);
        }
        if (rc < 0)
        {
            LibC.munmap(address, length);
            if (rc == -Errno.EINVAL || rc == -Errno.ENOSYS || rc == -Errno.EOPNOTSUPP)
            {
                return null;
            }
            throw new RingException("io_uring_register_buf_ring(group " + group + ", " + entries + " entries)", rc);
        }
        final BufferRing buffers = new BufferRing(ring, group, entries, bufferBase, bufferSize, address, length);
        for (int bid = 0; bid < entries; bid++)
        {
            buffers.add(bid);
        }
        buffers.publish();
        return buffers;
    }

    /** @return the buffer id a CQE with {@link #CQE_F_BUFFER} names. */
    public static int bufferId(final int cqeFlags)
    {
        return cqeFlags >>> BUFFER_SHIFT;
    }

    public int group()
    {
        return group;
    }

    public int entries()
    {
        return entries;
    }

    /** @return each buffer's size in bytes. */
    public int bufferSize()
    {
        return bufferSize;
    }

    /** @return the absolute address of buffer {@code bid}. */
    public long address(final int bid)
    {
        return bufferBase + (long)bid * bufferSize;
    }

    /** Hands buffer {@code bid} back to the kernel once its bytes were used. */
    public void recycle(final int bid)
    {
        if (bid < 0 || bid >= entries)
        {
            throw new IllegalArgumentException("no buffer " + bid + " in a ring of " + entries);
        }
        add(bid);
        publish();
    }

    private void add(final int bid)
    {
        final int at = (tail & mask) * ENTRY;
        entriesView.putLong(at + ADDR, address(bid));
        entriesView.putInt(at + LEN, bufferSize);
        entriesView.putShort(at + BID, (short)bid);
        tail++;
    }

    /** io_uring_buf_ring_advance: the entries added so far become visible to the kernel (store-release). */
    private void publish()
    {
        entriesView.putShortVolatile(TAIL, (short)tail);
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        ring.unregisterBufRing(group);
        LibC.munmap(ringAddress, ringLength);
    }
}
