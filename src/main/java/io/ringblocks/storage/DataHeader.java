package io.ringblocks.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;

import io.ringblocks.alloc.BuddyAllocator;

/**
 * The first 4096 bytes of {@code blocks.dat}: which store the file belongs to and what it held at the last clean
 * close. Blocks start right after it ({@link #LENGTH}), so every block offset stays 4 KiB aligned for O_DIRECT.
 * The same store id is kept in the index's {@code meta} database: a data file is only ever written by a store
 * whose index carries its id, so a lost or foreign index can never make its space look free.
 * <pre>
 * little-endian:
 *  0          8         12        16                  32        36        40             48       52         60       64 .. 4096
 *  +----------+---------+---------+-------------------+---------+---------+--------------+--------+----------+--------+-------+
 *  | magic    | version | header  | store id          | chunk   | zero    | block count  | clean  | open     | CRC32C | zero  |
 *  |"RBLOCKS1"|  u32=1  | length  | 16 random bytes   | size u32|         | u64          | u32 0/1| sequence | of 0.. |       |
 *  |          |         | u32=4096|                   |         |         |              |        | u64      | 60     |       |
 *  +----------+---------+---------+-------------------+---------+---------+--------------+--------+----------+--------+-------+
 * </pre>
 * Every field and its checksum sit in the first 512-byte sector, which a device writes whole: a header rewritten
 * in place when power fails is either the old one or the new one, never a torn mix that fails its checksum.
 * chunk size: the allocator's chunk, which is the largest block the store may hold ({@code --max-block-size});
 * block count and clean: as of the last clean close (clean = 1), or of the last open (clean = 0 while running).
 * open sequence: how many times the store was opened, also kept in the index ({@link BlockIndex#OPEN_SEQUENCE}) and
 * raised there first: an index or a data file restored from an earlier copy is behind the other (see
 * {@link StoreFiles}).
 */
public record DataHeader(byte[] storeId, int chunkSize, long blockCount, boolean clean, long openSequence)
{
    /** Bytes the header takes at the start of the data file; blocks start here. */
    public static final int LENGTH = 4096;
    public static final int VERSION = 1;
    public static final int STORE_ID_LENGTH = 16;
    private static final long MAGIC = 0x31534B434F4C4252L; // "RBLOCKS1" read little-endian
    private static final int CRC_OFFSET = 60;

    public DataHeader
    {
        if (storeId.length != STORE_ID_LENGTH)
        {
            throw new IllegalArgumentException("store id must be " + STORE_ID_LENGTH + " bytes: " + storeId.length);
        }
        storeId = storeId.clone();
    }

    /** @return a header for a new store with a random id. */
    public static DataHeader fresh(final int chunkSize)
    {
        final byte[] id = new byte[STORE_ID_LENGTH];
        new java.security.SecureRandom().nextBytes(id);
        return new DataHeader(id, chunkSize, 0, false, 0);
    }

    public DataHeader with(final int chunk, final long blocks, final boolean isClean)
    {
        return new DataHeader(storeId, chunk, blocks, isClean, openSequence);
    }

    public DataHeader withSequence(final long sequence)
    {
        return new DataHeader(storeId, chunkSize, blockCount, clean, sequence);
    }

    public String idHex()
    {
        return HexFormat.of().formatHex(storeId);
    }

    public boolean sameStore(final byte[] otherId)
    {
        return otherId != null && Arrays.equals(storeId, otherId);
    }

    /**
     * Reads the header of {@code file}.
     *
     * @return null when the file does not exist or is empty (a store that never got as far as its header).
     * @throws IllegalStateException with one line naming the file when it is shorter than a header or the header
     *                               is not a valid ringblocks header of this version.
     */
    public static DataHeader read(final Path file)
    {
        final ByteBuffer bytes = ByteBuffer.allocate(LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            if (channel.size() == 0)
            {
                return null;
            }
            while (bytes.hasRemaining() && channel.read(bytes, bytes.position()) > 0)
            {
                // until the header is complete or the file ends
            }
        }
        catch (final NoSuchFileException e)
        {
            return null;
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot read the header of data file " + file + ": " + IoErrors.describe(e), e);
        }
        final String problem = bytes.hasRemaining() ? "it is shorter than the " + LENGTH + "-byte header" : check(bytes);
        if (problem != null)
        {
            throw new IllegalStateException("data file " + file + " has no valid ringblocks header (" + problem +
                "): it was written by an older version or is damaged; run tools/rbcheck --data " + file.getParent());
        }
        final byte[] id = new byte[STORE_ID_LENGTH];
        bytes.get(16, id);
        return new DataHeader(id, bytes.getInt(32), bytes.getLong(40), bytes.getInt(48) == 1, bytes.getLong(52));
    }

    /** @return what is wrong with the header in {@code bytes}, or null. */
    private static String check(final ByteBuffer bytes)
    {
        if (bytes.getLong(0) != MAGIC)
        {
            return "bad magic";
        }
        if (crc(bytes) != bytes.getInt(CRC_OFFSET))
        {
            return "header checksum mismatch";
        }
        if (bytes.getInt(8) != VERSION || bytes.getInt(12) != LENGTH)
        {
            return "header version " + bytes.getInt(8) + ", length " + bytes.getInt(12) + "; expected version " +
                VERSION + ", length " + LENGTH;
        }
        final int chunk = bytes.getInt(32);
        if (chunk < BuddyAllocator.MIN_BLOCK_SIZE || Integer.bitCount(chunk) != 1)
        {
            return "chunk size " + chunk;
        }
        return null;
    }

    private static int crc(final ByteBuffer bytes)
    {
        final CRC32C crc = new CRC32C();
        crc.update(bytes.array(), 0, CRC_OFFSET);
        return (int)crc.getValue();
    }

    ByteBuffer encode()
    {
        final ByteBuffer bytes = ByteBuffer.allocate(LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(0, MAGIC);
        bytes.putInt(8, VERSION);
        bytes.putInt(12, LENGTH);
        bytes.put(16, storeId);
        bytes.putInt(32, chunkSize);
        bytes.putLong(40, blockCount);
        bytes.putInt(48, clean ? 1 : 0);
        bytes.putLong(52, openSequence);
        bytes.putInt(CRC_OFFSET, crc(bytes));
        return bytes;
    }

    /**
     * Writes the header over the first {@link #LENGTH} bytes of {@code file} and flushes it (creating the file when
     * {@code create}, then syncing the directory so the new file's entry is durable too). Written through a buffered
     * descriptor of its own: the page it touches is never read or written by O_DIRECT block I/O.
     */
    public void write(final Path file, final boolean create)
    {
        try (FileChannel channel = create ?
            FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW) :
            FileChannel.open(file, StandardOpenOption.WRITE))
        {
            final ByteBuffer bytes = encode();
            while (bytes.hasRemaining())
            {
                channel.write(bytes, bytes.position());
            }
            channel.force(create);
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot write the header of data file " + file + ": " + IoErrors.describe(e), e);
        }
        if (create)
        {
            syncDirectory(file.getParent());
        }
    }

    private static void syncDirectory(final Path dir)
    {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ))
        {
            channel.force(true);
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot sync directory " + dir + ": " + e, e);
        }
    }

    /** @return true when {@code file} exists with more than zero bytes. */
    static boolean hasContent(final Path file)
    {
        try
        {
            return Files.size(file) > 0;
        }
        catch (final IOException e)
        {
            return false;
        }
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof DataHeader h && Arrays.equals(storeId, h.storeId) && chunkSize == h.chunkSize &&
            blockCount == h.blockCount && clean == h.clean && openSequence == h.openSequence;
    }

    @Override
    public int hashCode()
    {
        return Arrays.hashCode(storeId) * 31 + Long.hashCode(blockCount);
    }

    @Override
    public String toString()
    {
        return "DataHeader[id=" + idHex() + ", chunk=" + chunkSize + ", blocks=" + blockCount + ", clean=" + clean + ", open sequence=" +
            openSequence + "]";
    }
}
