package io.ringblocks.storage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Opens a data directory's index and checks it against the data file's header before anything is written: both
 * must name the same store, and after a clean shutdown both must count the same blocks. A data file with a header
 * is never written unless the index carries its id, so a lost, emptied or foreign index stops the start instead
 * of turning every stored block into free space. Every refusal is one line that names the files and points at
 * {@code tools/rbcheck}.
 * <p>
 * A new store writes its id into the index first and the data file's header second: a crash between the two
 * leaves an index with an id and no blocks beside a missing or empty data file, which the next open completes.
 * Both files also carry an open sequence (see {@link #sequenceProblem}), so that an index or a data file restored
 * from an earlier copy of the same store is refused too.
 *
 * @param index  the opened index (the caller closes it).
 * @param header the data file's header as found or created; the caller rewrites it (clean = 0) before use.
 */
public record StoreFiles(BlockIndex index, DataHeader header)
{
    public static final String DATA_FILE = "blocks.dat";
    public static final String INDEX_DIR = "index";

    /**
     * @throws IllegalStateException with one line when the files do not belong together, are damaged, or hold
     *                               blocks larger than {@code config.maxBlockSize()}.
     */
    public static StoreFiles open(final StoreConfig config, final int maxReaders)
    {
        final Path dir = config.dir();
        final Path data = dir.resolve(DATA_FILE);
        final Path mdb = dir.resolve(INDEX_DIR).resolve("data.mdb");
        DataHeader header = null;
        IllegalStateException headerProblem = null;
        try
        {
            header = DataHeader.read(data);
        }
        catch (final IllegalStateException e)
        {
            headerProblem = e; // reported after the index's schema check, whose line says more for an old store
        }
        IndexFileCheck.check(mdb);
        if (header != null)
        {
            if (!DataHeader.hasContent(mdb))
            {
                throw mismatch(dir, "the index is missing or empty beside a data file of store " + header.idHex());
            }
        }
        // Synced in both modes: only checkpoints write LMDB, and relaxed mode relaxes the log's flushes instead.
        final BlockIndex index = new BlockIndex(dir.resolve(INDEX_DIR).toFile(), config.indexMapSize(), maxReaders,
            true);
        try
        {
            if (headerProblem != null)
            {
                throw headerProblem;
            }
            return new StoreFiles(index, reconcile(dir, index, header, config.maxBlockSize()));
        }
        catch (final RuntimeException e)
        {
            index.close();
            throw e;
        }
    }

    private static DataHeader reconcile(final Path dir, final BlockIndex index, final DataHeader header, final int chunk)
    {
        final Path data = dir.resolve(DATA_FILE);
        final byte[] id = index.metaBytes(BlockIndex.STORE_ID);
        final long count = index.count();
        if (header == null)
        {
            if (id != null && count > 0)
            {
                throw mismatch(dir, "the data file is missing or empty, but the index describes " + count +
                    " blocks of store " + HexFormat.of().formatHex(id));
            }
            if (id == null && count > 0)
            {
                throw mismatch(dir, "the data file is missing or empty, and the index has " + count +
                    " blocks but no store id");
            }
            final DataHeader created = id == null ? DataHeader.fresh(chunk) :
                new DataHeader(id, chunk, 0, false, index.metaLong(BlockIndex.OPEN_SEQUENCE, 0));
            if (id == null)
            {
                index.putMetaBytes(BlockIndex.STORE_ID, created.storeId());
            }
            created.write(data, !Files.exists(data));
            return created;
        }
        if (!header.sameStore(id))
        {
            throw mismatch(dir, id == null ? "the index has no store id; the data file belongs to store " +
                header.idHex() : "the index belongs to store " + HexFormat.of().formatHex(id) +
                ", the data file to store " + header.idHex());
        }
        final String behind = sequenceProblem(index.metaLong(BlockIndex.OPEN_SEQUENCE, 0), header.openSequence(),
            index.metaLong(BlockIndex.HEADER_PENDING, 1) != 0);
        if (behind != null)
        {
            throw mismatch(dir, behind);
        }
        if (header.clean())
        {
            final boolean indexClean = index.metaLong(BlockIndex.CLEAN_SHUTDOWN, 0) == 1;
            if (!indexClean || count != header.blockCount())
            {
                throw mismatch(dir, "the data file's header says the store was closed cleanly with " +
                    header.blockCount() + " blocks, but the index holds " + count +
                    (indexClean ? "" : " and was not closed cleanly"));
            }
        }
        return header;
    }

    /**
     * Each open raises the sequence in the index first and in the header second, so the two are equal, or the
     * index is one ahead after a crash between the two writes (the next open completes it), which the index's
     * {@link BlockIndex#HEADER_PENDING} says. Anything else means one of the files was restored from an earlier copy:
     * an older index may point at space reused since, an older data file lacks blocks the index describes.
     *
     * @param headerPending whether the index says its last open had not written the header yet.
     * @return why the index's and the header's open sequences do not belong together, or null when they do.
     */
    static String sequenceProblem(final long indexSequence, final long headerSequence, final boolean headerPending)
    {
        if (indexSequence == headerSequence || indexSequence == headerSequence + 1 && headerPending)
        {
            return null;
        }
        return "the index is " + (indexSequence < headerSequence ? "older" : "newer") + " than the data file (open " +
            "sequence " + indexSequence + " vs " + headerSequence + "): restored from an earlier copy?";
    }

    /**
     * Each open stamps the log with its open sequence before it raises the index's, so after an unclean shutdown
     * the log carries the index's run, or the next one (a crash between the two writes). Any other run means the log
     * was restored from another point in time: the changes acknowledged after the index's checkpoint are not in it.
     * After a clean shutdown nothing in the log is needed, and a log never stamped (older versions) tells nothing.
     *
     * @return why the log does not belong with the index, or null when it does.
     */
    static String logRunProblem(final long logRun, final long indexRun, final boolean indexClean)
    {
        if (indexClean || logRun == 0 || indexRun == 0 || logRun == indexRun || logRun == indexRun + 1)
        {
            return null;
        }
        return "it was last used by run " + logRun + " of this store and the index by run " + indexRun + ", which " +
            "did not shut down cleanly: the log is " + (logRun < indexRun ? "older" : "newer") + " than the index, " +
            "and the changes acknowledged after the index's checkpoint are not in it";
    }

    /**
     * A stored block of class {@code blockSize} needs a chunk at least that large: what the store holds, not the
     * chunk size it last ran with, decides, so a store that never took a large block can restart with smaller ones.
     */
    static IllegalStateException blockTooLarge(final Path dir, final int blockSize)
    {
        return new IllegalStateException("data dir " + dir + " holds blocks of up to " + size(blockSize) +
            "; start with --max-block-size " + size(blockSize) + " or larger");
    }

    static IllegalStateException mismatch(final Path dir, final String why)
    {
        return new IllegalStateException("index " + dir.resolve(INDEX_DIR) + " does not describe data file " +
            dir.resolve(DATA_FILE) + " (" + why + "); refusing to start so that no stored block is overwritten: " +
            "run tools/rbcheck --data " + dir);
    }

    /** @return {@code bytes} (a power of two of at least 4 KiB) the way the command line writes sizes: 4k, 1m, 1g. */
    static String size(final long bytes)
    {
        if (bytes >= 1L << 30 && bytes % (1L << 30) == 0)
        {
            return (bytes >> 30) + "g";
        }
        if (bytes >= 1L << 20 && bytes % (1L << 20) == 0)
        {
            return (bytes >> 20) + "m";
        }
        return bytes % 1024 == 0 ? (bytes >> 10) + "k" : Long.toString(bytes);
    }
}
