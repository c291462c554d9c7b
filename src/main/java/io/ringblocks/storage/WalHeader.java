package io.ringblocks.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * The first page of {@code wal.log}, and the slow chores on the whole file: creating it full of zeros, and giving
 * back the length of a file found cut short. Records start at {@link WriteAheadLog#PAGE}.
 * <pre>
 * little-endian:
 *  0          8         12        16             24                  40       44       52        56 .. 4096
 *  +----------+---------+---------+--------------+-------------------+--------+--------+---------+-------+
 *  | magic    | version | page    | file size    | store id          | CRC32C | run    | CRC32C  | zero  |
 *  |"RBWALOG1"|  u32=1  | u32=4096| u64          | 16 bytes          | of 0..40| u64    | of 0..52|       |
 *  +----------+---------+---------+--------------+-------------------+--------+--------+---------+-------+
 * </pre>
 * Written when the file is created; from then on only the run stamp changes: each open of the store writes its
 * open sequence there ({@link #stamp}) before it raises the index's, so the log tells which run last used it (both
 * zero: a log from before the stamp, or one no run has stamped yet). Every field sits in the first
 * 512-byte sector, which a device writes whole.
 */
final class WalHeader
{
    static final int VERSION = 1;
    static final int STORE_ID_LENGTH = 16;
    static final int MIN_PAGES = 16;
    private static final long MAGIC = 0x31474F4C41574252L; // "RBWALOG1" read little-endian
    private static final int VERSION_OFFSET = 8;
    private static final int PAGE_OFFSET = 12;
    private static final int SIZE_OFFSET = 16;
    private static final int STORE_ID_OFFSET = 24;
    private static final int CRC_OFFSET = 40;
    private static final int LENGTH = 44;
    private static final int RUN_OFFSET = 44;
    private static final int RUN_CRC_OFFSET = 52;
    private static final int ZERO_CHUNK = 1 << 20;
    private static final System.Logger LOG = System.getLogger("ringblocks");

    private WalHeader()
    {
    }

    /** @throws IllegalArgumentException unless {@code size} is a multiple of the page and at least 16 pages. */
    static void checkSize(final long size)
    {
        if (size % WriteAheadLog.PAGE != 0 || size < (long)MIN_PAGES * WriteAheadLog.PAGE)
        {
            throw new IllegalArgumentException("the write-ahead log size must be a multiple of " + WriteAheadLog.PAGE +
                " and at least " + MIN_PAGES + " pages: " + size);
        }
    }

    static ByteBuffer encode(final long size, final byte[] storeId)
    {
        final ByteBuffer bytes = ByteBuffer.allocate(WriteAheadLog.PAGE).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(0, MAGIC);
        bytes.putInt(VERSION_OFFSET, VERSION);
        bytes.putInt(PAGE_OFFSET, WriteAheadLog.PAGE);
        bytes.putLong(SIZE_OFFSET, size);
        bytes.put(STORE_ID_OFFSET, storeId);
        bytes.putInt(CRC_OFFSET, crc(bytes));
        return bytes;
    }

    private static int crc(final ByteBuffer bytes)
    {
        return crc(bytes, CRC_OFFSET);
    }

    private static int crc(final ByteBuffer bytes, final int length)
    {
        final CRC32C crc = new CRC32C();
        crc.update(bytes.array(), 0, length);
        return (int)crc.getValue();
    }

    /** What a header records: the log's size, and the open sequence of the run that last opened it (0: none). */
    record Found(long size, long run)
    {
    }

    /**
     * Creates {@code file} as {@code size} bytes of zeros behind a header, every byte written so that later
     * overwrites change no file metadata (an fdatasync after them is a cache flush, not a journal commit). Built
     * under a temporary name and renamed: a crash part way leaves no half-made log behind under the real name.
     */
    static void create(final Path file, final long size, final byte[] storeId)
    {
        final Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try
        {
            Files.deleteIfExists(temporary);
            try (FileChannel channel = FileChannel.open(
                temporary, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW))
            {
                writeZeros(channel, 0, size);
                writeFully(channel, encode(size, storeId), 0);
                channel.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(file.getParent());
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot create write-ahead log " + file + ": " + IoErrors.describe(e), e);
        }
    }

    /**
     * Reads and checks the header of {@code file}.
     *
     * @return the log's size and run stamp as the header records them.
     * @throws IllegalStateException with one line naming the file when the header is not a ringblocks WAL header
     *                               of this version or names another store.
     */
    static Found read(final Path file, final byte[] storeId)
    {
        final ByteBuffer bytes = readPage(file);
        final String problem = bytes.position() < LENGTH ? "it is shorter than its header" : check(bytes, storeId);
        if (problem != null)
        {
            throw new IllegalStateException("write-ahead log " + file + " is refused (" + problem +
                "); run tools/rbcheck --data " + file.getParent());
        }
        return new Found(bytes.getLong(SIZE_OFFSET), bytes.getLong(RUN_OFFSET));
    }

    private static ByteBuffer readPage(final Path file)
    {
        final ByteBuffer bytes = ByteBuffer.allocate(WriteAheadLog.PAGE).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            while (bytes.hasRemaining() && channel.read(bytes, bytes.position()) > 0)
            {
                // until the page is read or the file ends
            }
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot read the header of write-ahead log " + file + ": " + IoErrors.describe(e), e);
        }
        return bytes;
    }

    /**
     * Records in the header of {@code file} (checked already by {@link #read}) that run {@code run} of the store
     * opened it, flushed before returning.
     */
    static void stamp(final Path file, final long run)
    {
        final ByteBuffer bytes = readPage(file);
        bytes.putLong(RUN_OFFSET, run);
        bytes.putInt(RUN_CRC_OFFSET, crc(bytes, RUN_CRC_OFFSET));
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            writeFully(channel, bytes.clear(), 0);
            channel.force(false);
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot write the header of write-ahead log " + file + ": " +
                IoErrors.describe(e), e);
        }
    }

    private static String check(final ByteBuffer bytes, final byte[] storeId)
    {
        if (bytes.getLong(0) != MAGIC)
        {
            return "not a ringblocks write-ahead log: bad magic";
        }
        if (crc(bytes) != bytes.getInt(CRC_OFFSET))
        {
            return "header checksum mismatch";
        }
        if (bytes.getInt(VERSION_OFFSET) != VERSION || bytes.getInt(PAGE_OFFSET) != WriteAheadLog.PAGE)
        {
            return "version " + bytes.getInt(VERSION_OFFSET) + ", page " + bytes.getInt(PAGE_OFFSET) +
                "; expected version " + VERSION + ", page " + WriteAheadLog.PAGE;
        }
        final long size = bytes.getLong(SIZE_OFFSET);
        if (size % WriteAheadLog.PAGE != 0 || size < (long)MIN_PAGES * WriteAheadLog.PAGE)
        {
            return "file size " + size + " in the header";
        }
        final byte[] id = new byte[STORE_ID_LENGTH];
        bytes.get(STORE_ID_OFFSET, id);
        if (!Arrays.equals(id, storeId))
        {
            return "it belongs to store " + HexFormat.of().formatHex(id) + ", not to this store " +
                HexFormat.of().formatHex(storeId);
        }
        final boolean unstamped = bytes.getLong(RUN_OFFSET) == 0 && bytes.getInt(RUN_CRC_OFFSET) == 0;
        if (!unstamped && crc(bytes, RUN_CRC_OFFSET) != bytes.getInt(RUN_CRC_OFFSET))
        {
            return "run stamp checksum mismatch";
        }
        return null;
    }

    /**
     * Gives a log found shorter than its header says its size back, as zeros, and flushes it. What was cut off is
     * lost either way; replay stops at the first record that lost bytes, and appends can use the whole file again.
     */
    static void restoreSize(final Path file, final long size)
    {
        try
        {
            if (Files.size(file) >= size)
            {
                return; // the usual case: no need to open it for writing (a read-only log is refused later, by name)
            }
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot read the size of write-ahead log " + file + ": " +
                IoErrors.describe(e), e);
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            final long length = channel.size();
            if (length >= size)
            {
                return;
            }
            LOG.log(System.Logger.Level.WARNING, "write-ahead log " + file + " is " + length + " bytes, shorter than " +
                "the " + size + " its header records: records past the cut are lost; restoring its size with zeros");
            writeZeros(channel, length, size);
            channel.force(true);
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot restore the size of write-ahead log " + file + ": " + IoErrors.describe(e), e);
        }
    }

    private static void writeZeros(final FileChannel channel, final long from, final long to) throws IOException
    {
        final ByteBuffer zeros = ByteBuffer.allocate(ZERO_CHUNK);
        for (long at = from; at < to; )
        {
            zeros.clear().limit((int)Math.min(ZERO_CHUNK, to - at));
            at += writeFully(channel, zeros, at);
        }
    }

    private static int writeFully(final FileChannel channel, final ByteBuffer bytes, final long at) throws IOException
    {
        final int length = bytes.remaining();
        while (bytes.hasRemaining())
        {
            channel.write(bytes, at + length - bytes.remaining());
        }
        return length;
    }

    private static void syncDirectory(final Path dir) throws IOException
    {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ))
        {
            channel.force(true);
        }
    }
}
