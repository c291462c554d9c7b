package io.ringblocks.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Checks an LMDB data file ({@code index/data.mdb}) before LMDB maps it. LMDB trusts its meta pages: a file cut
 * shorter than the last page they name is mapped anyway, and the first touch of a missing page is a SIGBUS that
 * kills the JVM (hs_err file, exit 134). This reads both meta pages the way {@code mdb_env_read_header} does
 * and refuses, with one line naming the file, what LMDB would crash on or reject.
 * <p>
 * Meta page layout (liblmdb mdb.c, 64-bit little-endian: {@code MDB_page} header of 16 bytes, then
 * {@code MDB_meta}); page 0 at offset 0, page 1 at offset {@code psize}:
 * <pre>
 *  page+10  mp_flags   u16   P_META (0x08) set
 *  page+16  mm_magic   u32   0xBEEFC0DE
 *  page+20  mm_version u32   1 (MDB_DATA_VERSION)
 *  page+24  mm_address, +32 mm_mapsize
 *  page+40  mm_dbs[FREE_DBI] (48 bytes; its md_pad, at +40, is the page size)
 *  page+88  mm_dbs[MAIN_DBI] (48 bytes; md_root at +128: ~0 when empty)
 *  page+136 mm_last_pg u64   last page in use
 *  page+144 mm_txnid   u64   the newer of the two metas is the live one
 * </pre>
 * Damage past the meta pages that keeps the file long enough (a garbage leaf page) is not caught here; the block
 * checksums and {@code tools/rbcheck} are for that.
 */
public final class IndexFileCheck
{
    private static final int META_OFFSET = 16;
    private static final int MAGIC = 0xBEEFC0DE;
    private static final int DATA_VERSION = 1;
    private static final int P_META = 0x08;
    private static final int MIN_PAGE = 512;
    private static final int MAX_PAGE = 1 << 16;

    private IndexFileCheck()
    {
    }

    /**
     * @throws IllegalStateException with one line naming {@code file} and what to do when it is not a sound LMDB
     *                               file; an absent or empty file passes (LMDB creates it).
     */
    public static void check(final Path file)
    {
        final String problem = problem(file);
        if (problem != null)
        {
            throw new IllegalStateException("index file " + file + " is damaged (" + problem + "); run tools/rbcheck" +
                " --data " + file.getParent().getParent() + " to see what the data file still holds");
        }
    }

    /** @return what is wrong with {@code file}, or null when LMDB may open it. */
    public static String problem(final Path file)
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            final long size = channel.size();
            if (size == 0)
            {
                return null;
            }
            final ByteBuffer page0 = read(channel, 0);
            if (page0 == null)
            {
                return "shorter than a meta page: " + size + " bytes";
            }
            final String bad0 = metaProblem(page0, 0);
            if (bad0 != null)
            {
                return bad0;
            }
            final int pageSize = page0.getInt(META_OFFSET + 24);
            if (pageSize < MIN_PAGE || pageSize > MAX_PAGE || Integer.bitCount(pageSize) != 1)
            {
                return "meta page 0 gives page size " + pageSize;
            }
            final ByteBuffer page1 = read(channel, pageSize);
            if (page1 == null)
            {
                return "shorter than two meta pages: " + size + " bytes";
            }
            final String bad1 = metaProblem(page1, 1);
            if (bad1 != null)
            {
                return bad1;
            }
            final ByteBuffer live = page1.getLong(META_OFFSET + 128) > page0.getLong(META_OFFSET + 128) ? page1 : page0;
            final long lastPage = live.getLong(META_OFFSET + 120);
            final long root = live.getLong(META_OFFSET + 112);
            if (lastPage < 1 || lastPage > Long.MAX_VALUE / pageSize - 1)
            {
                return "last page " + lastPage;
            }
            if (root != -1 && (root < 2 || root > lastPage))
            {
                return "main tree root page " + root + " outside pages 2.." + lastPage;
            }
            if (size < (lastPage + 1) * pageSize)
            {
                return "truncated: " + size + " bytes, but its meta page names page " + lastPage + " of " +
                    pageSize + " bytes, so at least " + (lastPage + 1) * pageSize;
            }
            return null;
        }
        catch (final java.nio.file.NoSuchFileException e)
        {
            return null;
        }
        catch (final IOException e)
        {
            return "cannot read it: " + e.getMessage();
        }
    }

    /** @return the first 160 bytes of the page at {@code offset}: header and meta; null past the end. */
    private static ByteBuffer read(final FileChannel channel, final long offset) throws IOException
    {
        final ByteBuffer bytes = ByteBuffer.allocate(160).order(ByteOrder.LITTLE_ENDIAN);
        while (bytes.hasRemaining())
        {
            if (channel.read(bytes, offset + bytes.position()) <= 0)
            {
                return null;
            }
        }
        return bytes;
    }

    private static String metaProblem(final ByteBuffer page, final int number)
    {
        if ((page.getShort(10) & P_META) == 0)
        {
            return "page " + number + " is not a meta page";
        }
        if (page.getInt(META_OFFSET) != MAGIC)
        {
            return "meta page " + number + " has a bad magic number";
        }
        if (page.getInt(META_OFFSET + 4) != DATA_VERSION)
        {
            return "meta page " + number + " has version " + page.getInt(META_OFFSET + 4) + ", not " + DATA_VERSION;
        }
        return null;
    }
}
