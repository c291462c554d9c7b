package io.ringblocks.server;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Arrays;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.RingException;

/**
 * A worker's I/O memory: one page-aligned region of anonymous memory, carved into power-of-two buffers
 * (4 KiB … 2 MiB) by a {@link BuddyAllocator}. Connection receive buffers, PUT payloads and GET responses all live here,
 * so every file read/write is on O_DIRECT-aligned memory and the region's size bounds the worker's memory no matter
 * how many connections it carries. Worker thread only.
 *
 * <p>The region is registered with the ring as fixed buffers of 2 MiB each, buffer {@code i} covering
 * {@code [i × 2 MiB, (i + 1) × 2 MiB)}; a buddy never crosses such a boundary. Registering pins memory, so a piece is
 * registered only when a file read or write first uses it ({@link #fixedIndex}): memory that only ever held receive
 * buffers is never pinned, memory never used stays unbacked, and an idle server keeps little of its arenas resident.
 * Where the kernel has no sparse tables (before 5.19) every piece is registered at once; where it refuses to pin
 * (RLIMIT_MEMLOCK) file I/O on what is not registered goes as plain READ/WRITE.
 */
final class IoArena implements AutoCloseable
{
    static final int MAX_BUFFER = 2 << 20;
    static final int NONE = -1;
    /** What one fixed buffer covers; buddies are aligned to their size, so no buffer spans two pieces. */
    static final int PIECE = MAX_BUFFER;
    /**
     * Bytes past the allocator's range, at {@link #side()}: the worker's own buffers, which no allocation can take
     * (a piece of its own, registered at this length when first used).
     */
    static final int SIDE = 128 << 10;
    private static final System.Logger LOG = System.getLogger("ringblocks");
    private static final long RETRY_NANOS = 1_000_000_000L;

    private final long base;
    private final long size;
    private final BuddyAllocator allocator;
    private final UnsafeBuffer buffer;
    private final ByteBuffer view;
    private final MemorySegment segment;
    private final boolean[] registered;
    private Ring ring;
    private int registeredPieces;
    private long registeredBytes;
    /** No registration is tried before this time after one was refused (e.g. RLIMIT_MEMLOCK, shared by workers). */
    private long registrationRetryAt;
    private boolean registrationRefused;
    /** Nothing more is registered, ever: a kernel without sparse tables refused the whole arena, or a test. */
    private boolean neverRegister;
    private long frees;
    /**
     * Tests only: arenas made while this is above 0 refuse every other file-read or file-write prep (the first, the
     * third, ...) until they have refused that many, as a ring that takes no more SQEs would, so what a fault in the
     * middle of a request leaves behind stays tested.
     */
    static volatile int failFileIo;
    private int fileIoFailures = failFileIo;
    /** Tests only: arenas made while this is set end their worker (an Error) at their first file-I/O prep. */
    static volatile boolean dieOnFileIo;
    private final boolean die = dieOnFileIo;
    private long fileIoPreps;
    /** A plain READ/WRITE was submitted: the kernel may still be copying into the region after the ring closed. */
    private boolean plainIo;
    private long failures;
    private boolean closed;

    IoArena(final long size)
    {
        if (size < MAX_BUFFER || size % MAX_BUFFER != 0)
        {
            throw new IllegalArgumentException("I/O arena size must be a positive multiple of 2 MiB: " + size);
        }
        this.size = size;
        allocator = new BuddyAllocator(MAX_BUFFER, size);
        allocator.grow((int)(size / MAX_BUFFER));
        registered = new boolean[(int)(size / PIECE) + 1]; // and the side piece
        // Last: nothing after it can fail and leave the mapping behind. Not Arena.allocate: it zeroes, which backs
        // every page at once. The side piece's address space is a whole piece, of which SIDE bytes are ever used.
        base = LibC.mapAnonymous(mappedSize(), "I/O arena");
        buffer = new UnsafeBuffer(base, (int)(size + SIDE));
        segment = MemorySegment.ofAddress(base).reinterpret(size + SIDE);
        view = segment.asByteBuffer();
    }

    /** Makes the region fixed-buffer memory of {@code ring}: a sparse table where the kernel has them. */
    void register(final Ring ring)
    {
        this.ring = ring;
        if (ring.registerSparseBuffers(registered.length) == 0)
        {
            return;
        }
        try
        {
            ring.registerBuffers(MemorySegment.ofAddress(base).reinterpret(mappedSize()), registered.length, PIECE);
        }
        catch (final RingException e)
        {
            // All or nothing on such a kernel: nothing is registered, and every file I/O goes plain.
            neverRegister = true;
            LOG.log(System.Logger.Level.WARNING, "cannot register the I/O arena with the ring (" + e.getMessage() +
                "): file reads and writes go without fixed buffers");
            return;
        }
        Arrays.fill(registered, true);
        registeredPieces = registered.length;
        registeredBytes = mappedSize();
    }

    /**
     * The fixed buffer to name in a READ_FIXED/WRITE_FIXED of the buffer at {@code offset}, registering its piece the
     * first time.
     *
     * @return the buffer index, or -1 when the piece cannot be registered: do a plain READ/WRITE instead.
     */
    int fixedIndex(final long offset)
    {
        final int piece = (int)(offset / PIECE);
        if (registered[piece])
        {
            return piece;
        }
        if (ring == null || neverRegister || registrationRefused && System.nanoTime() - registrationRetryAt < 0)
        {
            return -1;
        }
        final long length = (long)piece * PIECE == size ? SIDE : PIECE;
        final int rc = ring.updateBuffer(piece, base + (long)piece * PIECE, length);
        if (rc < 0)
        {
            if (!registrationRefused)
            {
                LOG.log(System.Logger.Level.WARNING, "cannot register I/O arena memory with the ring (" +
                    Errno.describe(rc) + "): file reads and writes outside the " + registeredPieces +
                    " pieces registered so far go without fixed buffers; retried every second");
            }
            registrationRefused = true;
            registrationRetryAt = System.nanoTime() + RETRY_NANOS;
            return -1;
        }
        registered[piece] = true;
        registeredPieces++;
        registeredBytes += length;
        return piece;
    }

    /**
     * Prepares a read of {@code length} bytes at file {@code fileOffset} into {@code [at, at + length)}, part of the
     * buffer at arena offset {@code buffer}: a READ_FIXED, or a plain READ where its piece could not be registered.
     */
    void prepRead(final int fd, final long buffer, final long at, final int length, final long fileOffset,
        final long userData)
    {
        refuseIfInjected();
        final int fixed = fixedIndex(buffer);
        if (fixed >= 0)
        {
            ring.prepReadFixed(fd, address(at), length, fileOffset, fixed, userData);
        }
        else
        {
            plainIo = true;
            ring.prepRead(fd, address(at), length, fileOffset, userData);
        }
    }

    /** The write counterpart of {@link #prepRead}: WRITE_FIXED, or WRITE where the piece is not registered. */
    void prepWrite(final int fd, final long buffer, final long at, final int length, final long fileOffset,
        final long userData)
    {
        refuseIfInjected();
        final int fixed = fixedIndex(buffer);
        if (fixed >= 0)
        {
            ring.prepWriteFixed(fd, address(at), length, fileOffset, fixed, userData);
        }
        else
        {
            plainIo = true;
            ring.prepWrite(fd, address(at), length, fileOffset, userData);
        }
    }

    private void refuseIfInjected()
    {
        if (die)
        {
            throw new Error("injected fault: worker death");
        }
        if (fileIoFailures > 0 && (fileIoPreps++ & 1) == 0)
        {
            fileIoFailures--;
            throw new IllegalStateException("injected fault: file I/O prep refused");
        }
    }

    /** For tests: behaves from now on as if the kernel refused to pin more memory (RLIMIT_MEMLOCK). */
    void refuseRegistration()
    {
        neverRegister = true;
    }

    /** @return bytes of the region registered (pinned) so far. */
    long registeredBytes()
    {
        return registeredBytes;
    }

    /** @return the size class holding {@code bytes}. */
    static int classFor(final int bytes)
    {
        return BuddyAllocator.sizeClassFor(bytes, MAX_BUFFER);
    }

    /**
     * Allocates only if at least {@code reserve} bytes stay free afterwards: request buffers leave headroom so that
     * new connections can still get their receive buffers while the arena is busy with block I/O.
     *
     * @return an offset into the region, or {@link #NONE}.
     */
    long allocate(final int sizeClass, final long reserve)
    {
        return counted(allocateIfFree(sizeClass, reserve));
    }

    /**
     * {@link #allocate(int, long)} for a first choice that has a fallback: a miss is not a shortage, so it does not
     * count towards {@link #failures()} (which shortens the deadlines of slow clients).
     */
    long allocateIfFree(final int sizeClass, final long reserve)
    {
        if (allocator.freeBytes() - BuddyAllocator.blockSize(sizeClass) < reserve)
        {
            return NONE;
        }
        final long offset = allocator.allocate(sizeClass);
        return offset < 0 ? NONE : offset;
    }

    /** @return an offset into the region, or {@link #NONE} when nothing that large is free. */
    long allocate(final int sizeClass)
    {
        return counted(allocateIfFree(sizeClass, 0));
    }

    private long counted(final long offset)
    {
        if (offset == NONE)
        {
            failures++;
        }
        return offset;
    }

    void free(final long offset, final int sizeClass)
    {
        allocator.free(offset, sizeClass);
        frees++;
    }

    /** @return buffers freed so far: a request waiting for memory is worth retrying only after this moved. */
    long frees()
    {
        return frees;
    }

    /** @return the native address of {@code offset}, for SQEs. */
    long address(final long offset)
    {
        return base + offset;
    }

    /** @return the whole region as one Agrona buffer, indexed by arena offset. */
    UnsafeBuffer buffer()
    {
        return buffer;
    }

    /** @return true when {@code [a, a + length)} and {@code [b, b + length)} of the region hold the same bytes. */
    boolean sameBytes(final long a, final long b, final int length)
    {
        return MemorySegment.mismatch(segment, a, a + length, segment, b, b + length) == -1;
    }

    /** @return a ByteBuffer view of the region positioned on {@code [offset, offset + length)}. */
    ByteBuffer view(final long offset, final int length)
    {
        view.clear();
        view.position((int)offset);
        view.limit((int)offset + length);
        return view;
    }

    /** @return the arena offset of the side buffers: {@link #SIDE} bytes that are never allocated. */
    long side()
    {
        return size;
    }

    private long mappedSize()
    {
        return size + PIECE;
    }

    long usedBytes()
    {
        return allocator.usedBytes();
    }

    long capacity()
    {
        return allocator.capacity();
    }

    long failures()
    {
        return failures;
    }

    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            // A closed ring is torn down asynchronously: a fixed-buffer I/O still running holds its pages pinned,
            // but a plain one would copy into whatever is mapped there next.
            if (plainIo)
            {
                LOG.log(System.Logger.Level.WARNING, "the I/O arena (" + size + " bytes) stays mapped: plain " +
                    "reads or writes into it may still be running in the closed ring");
                return;
            }
            LibC.munmap(base, mappedSize());
        }
    }
}
