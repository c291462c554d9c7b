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
 * Then it walks every tree the live meta page reaches — the free-page tree, the main tree and the named databases its
 * leaves hold — and checks each page the way LMDB will trust it: its number, its kind, the bounds of its node
 * table, that every node, key, value and overflow run lies inside the page or the file, that every child is a page
 * of the file, and that no page is reached twice. LMDB keeps no page checksums, and a garbage page it reads is a
 * SIGBUS or SIGSEGV for the whole JVM; this refuses it with one line instead. Pages no tree reaches are not read.
 * <p>
 * Tree page layout ({@code MDB_page}, then {@code MDB_node}s, 64-bit little-endian):
 * <pre>
 *  page+0   mp_pgno  u64   the page's own number
 *  page+10  mp_flags u16   P_BRANCH 0x01 | P_LEAF 0x02 | P_OVERFLOW 0x04
 *  page+12  mp_lower u16   end of the node offset table (16 + 2 * keys); on an overflow page, u32 page count
 *  page+14  mp_upper u16   start of the node area
 *  page+16  mp_ptrs  u16[] node offsets from the page start
 *  node+0   lo u16, hi u16 (leaf: value size lo | hi << 16; branch: child page lo | hi << 16 | flags << 32)
 *  node+4   flags u16 (leaf: F_BIGDATA 0x01 value on overflow pages, F_SUBDATA 0x02 a named database's MDB_db)
 *  node+6   ksize u16, node+8 key, then the value (or, F_BIGDATA, its u64 overflow page)
 * </pre>
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
        return inspect(file, new java.util.BitSet());
    }

    /** @return the pages the live meta page's trees reach (tests: damage anywhere in them must be refused). */
    static java.util.BitSet treePages(final Path file)
    {
        final java.util.BitSet pages = new java.util.BitSet();
        final String problem = inspect(file, pages);
        if (problem != null)
        {
            throw new IllegalStateException(problem);
        }
        return pages;
    }

    private static String inspect(final Path file, final java.util.BitSet pages)
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
            final long freeRoot = live.getLong(META_OFFSET + 64);
            if (freeRoot != -1 && (freeRoot < 2 || freeRoot > lastPage))
            {
                return "free-page tree root page " + freeRoot + " outside pages 2.." + lastPage;
            }
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined())
            {
                // Only the pages the meta names, all inside the file (checked above): no read of the mapping can fault.
                final TreeWalk walk = new TreeWalk(channel.map(FileChannel.MapMode.READ_ONLY, 0,
                    (lastPage + 1) * pageSize, arena), pageSize, lastPage, pages);
                final String freeProblem = freeRoot == -1 ? null : walk.tree(freeRoot, "free-page tree");
                return freeProblem != null ? freeProblem : root == -1 ? null : walk.tree(root, "main tree");
            }
        }
        catch (final java.nio.file.NoSuchFileException e)
        {
            return null;
        }
        catch (final IOException e)
        {
            return "cannot read it: " + IoErrors.describe(e);
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

    /**
     * Walks trees of pages, each reached once at most (a cycle or a page shared by two trees is damage), reading them
     * through a read-only mapping of the pages the meta names (checked to be in the file, so no read can fault).
     */
    private static final class TreeWalk
    {
        private static final int HEADER = 16;
        private static final int NODE = 8;
        private static final int P_BRANCH = 0x01;
        private static final int P_LEAF = 0x02;
        private static final int P_OVERFLOW = 0x04;
        private static final int KINDS = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40; // branch, leaf, overflow, meta, leaf2, subp
        private static final int F_BIGDATA = 0x01;
        private static final int F_SUBDATA = 0x02;
        private static final int F_DUPDATA = 0x04;
        private static final int MDB_DB = 48;
        private static final int MAX_DEPTH = 64;
        private static final java.lang.foreign.ValueLayout.OfShort U16 =
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final java.lang.foreign.ValueLayout.OfInt U32 =
            java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final java.lang.foreign.ValueLayout.OfLong U64 =
            java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        private final java.lang.foreign.MemorySegment file;
        private final int pageSize;
        private final long lastPage;
        private final java.util.BitSet seen;

        TreeWalk(final java.lang.foreign.MemorySegment file, final int pageSize, final long lastPage,
            final java.util.BitSet seen)
        {
            this.file = file;
            this.pageSize = pageSize;
            this.lastPage = lastPage;
            this.seen = seen;
        }

        private int u16(final long at)
        {
            return file.get(U16, at) & 0xFFFF;
        }

        /** @return what is wrong with the tree under page {@code root}, or null. */
        String tree(final long root, final String name)
        {
            return page(root, name, 0);
        }

        private String page(final long number, final String name, final int depth)
        {
            if (depth > MAX_DEPTH)
            {
                return name + " deeper than " + MAX_DEPTH + " levels";
            }
            final String claimed = claim(number, 1, name, number);
            if (claimed != null)
            {
                return claimed;
            }
            final long base = number * pageSize;
            if (file.get(U64, base) != number)
            {
                return name + ", page " + number + " says it is page " + file.get(U64, base);
            }
            final int kind = u16(base + 10) & KINDS;
            if (kind != P_BRANCH && kind != P_LEAF)
            {
                return name + ", page " + number + " is not a tree page (flags 0x" +
                    Integer.toHexString(u16(base + 10)) + ")";
            }
            final int lower = u16(base + 12);
            final int upper = u16(base + 14);
            if (lower <= HEADER || (lower - HEADER) % 2 != 0 || lower > upper || upper > pageSize)
            {
                return name + ", page " + number + " has a bad node table (lower " + lower + ", upper " + upper + ")";
            }
            final int keys = (lower - HEADER) / 2;
            for (int i = 0; i < keys; i++)
            {
                final int at = u16(base + HEADER + 2L * i);
                if (at < upper || at > pageSize - NODE)
                {
                    return name + ", page " + number + " has a node outside the page at " + at;
                }
                final String problem = kind == P_BRANCH ? branchNode(base, at, name, number, depth) :
                    leafNode(base, at, name, number, depth);
                if (problem != null)
                {
                    return problem;
                }
            }
            return null;
        }

        private String branchNode(final long base, final int at, final String name, final long number,
            final int depth)
        {
            if (at + NODE + u16(base + at + 6) > pageSize)
            {
                return name + ", page " + number + " has a key outside the page at " + at;
            }
            final long child = u16(base + at) | (long)u16(base + at + 2) << 16 | (long)u16(base + at + 4) << 32;
            return page(child, name, depth + 1);
        }

        private String leafNode(final long base, final int at, final String name, final long number,
            final int depth)
        {
            final long size = u16(base + at) | (long)u16(base + at + 2) << 16;
            final int flags = u16(base + at + 4);
            final int keySize = u16(base + at + 6);
            final int value = at + NODE + keySize;
            if ((flags & F_DUPDATA) != 0)
            {
                return name + ", page " + number + " holds a duplicate-sorted value, which no database here has";
            }
            if ((flags & F_BIGDATA) != 0)
            {
                if (value + Long.BYTES > pageSize)
                {
                    return name + ", page " + number + " has a node outside the page at " + at;
                }
                return overflow(file.get(U64, base + value), size, name, number);
            }
            if (value + size > pageSize)
            {
                return name + ", page " + number + " has a value of " + size + " bytes outside the page at " + at;
            }
            if ((flags & F_SUBDATA) != 0)
            {
                if (size != MDB_DB)
                {
                    return name + ", page " + number + " has a named database record of " + size + " bytes";
                }
                final long root = file.get(U64, base + value + 40);
                final byte[] key = new byte[keySize];
                java.lang.foreign.MemorySegment.copy(file, java.lang.foreign.ValueLayout.JAVA_BYTE, base + at + NODE,
                    key, 0, keySize);
                final String sub = name + " / " + new String(key, java.nio.charset.StandardCharsets.UTF_8);
                return root == -1 ? null : page(root, sub, depth + 1);
            }
            return null;
        }

        private String overflow(final long first, final long size, final String name, final long from)
        {
            final String where = name + ", page " + from + ", overflow page " + first;
            if (first < 2 || first > lastPage)
            {
                return where + " outside pages 2.." + lastPage;
            }
            final long base = first * pageSize;
            final long pages = file.get(U32, base + 12) & 0xFFFFFFFFL;
            if (file.get(U64, base) != first || (u16(base + 10) & KINDS) != P_OVERFLOW || pages < 1 ||
                first + pages - 1 > lastPage || size > pages * pageSize - HEADER)
            {
                return where + " is not an overflow run of " + size + " bytes";
            }
            return claim(first, pages, where, first);
        }

        /** @return damage when pages {@code [first, first + count)} are outside the file or were reached before. */
        private String claim(final long first, final long count, final String name, final long number)
        {
            if (first < 2 || first + count - 1 > lastPage)
            {
                return name + ", page " + number + " outside pages 2.." + lastPage;
            }
            for (long n = first; n < first + count; n++)
            {
                if (seen.get((int)n))
                {
                    return name + ", page " + number + " is reached twice (a cycle, or two trees sharing it)";
                }
                seen.set((int)n);
            }
            return null;
        }
    }
}
