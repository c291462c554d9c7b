package io.ringblocks.storage;

import java.nio.ByteOrder;

/**
 * Layouts of the messages between workers and the committer, all little-endian.
 * <pre>
 * worker → committer, ManyToOneRingBuffer, msgTypeId OCCUPY (64 bytes):
 *  0        4                12                        44              52        56        60        64
 *  +--------+----------------+------------------------+---------------+---------+---------+---------+
 *  | worker |     token      |      SHA-256 hash      |  file offset  | length  |  class  | crc32c  |
 *  |  i32   |      i64       |        32 bytes        |      i64      |   i32   |   i32   |   i32   |
 *  +--------+----------------+------------------------+---------------+---------+---------+---------+
 * worker → committer, msgTypeId WRITE_OCCUPY (76 bytes): OCCUPY of a block the committer writes (sync mode,
 * small blocks; see {@code BlockWriter}), followed by where its bytes are until the acknowledgement:
 *  64                72          76
 *  +-----------------+-----------+
 *  | buffer address  | io length |
 *  |       i64       |    i32    |
 *  +-----------------+-----------+
 * worker → committer, msgTypeId FREE (44 bytes): worker, token, hash as above.
 * worker or scrubber → committer, msgTypeId MARK_CORRUPT (52 bytes): worker, token ({@link #NO_ACK} from the
 * scrubber), hash, file offset as above.
 *
 * committer → worker, OneToOneRingBuffer, msgTypeId ACK (12 bytes):
 *  0                8         12
 *  +----------------+---------+
 *  |     token      | result  |
 *  |      i64       |   i32   |
 *  +----------------+---------+
 * </pre>
 * The token is the worker's own user_data-style handle (slot + generation) for the waiting request.
 */
public final class Deltas
{
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    public static final int OCCUPY = 1;
    public static final int FREE = 2;
    public static final int ACK = 3;
    public static final int MARK_CORRUPT = 4;
    public static final int WRITE_OCCUPY = 5;

    public static final int WORKER_OFFSET = 0;
    public static final int TOKEN_OFFSET = 4;
    public static final int HASH_OFFSET = 12;
    public static final int BLOCK_OFFSET_OFFSET = 44;
    public static final int LENGTH_OFFSET = 52;
    public static final int CLASS_OFFSET = 56;
    public static final int CRC_OFFSET = 60;
    public static final int OCCUPY_LENGTH = 64;
    public static final int BUFFER_ADDRESS_OFFSET = 64;
    public static final int IO_LENGTH_OFFSET = 72;
    public static final int WRITE_OCCUPY_LENGTH = 76;
    public static final int FREE_LENGTH = 44;
    public static final int MARK_CORRUPT_LENGTH = 52;
    /** Token of a delta nobody waits for (MARK_CORRUPT): the committer sends no acknowledgement. */
    public static final long NO_ACK = -1;

    public static final int ACK_TOKEN_OFFSET = 0;
    public static final int ACK_RESULT_OFFSET = 8;
    public static final int ACK_LENGTH = 12;

    /**
     * OCCUPY: the block is now indexed and durable (per the sync mode). An entry flagged
     * {@link IndexValue#CORRUPT} is replaced (the PUT heals it) and its old block goes to limbo like a deleted one.
     */
    public static final int STORED = 0;
    /** OCCUPY: the same content was already indexed; the worker's copy has been freed. */
    public static final int DUPLICATE = 1;
    /** FREE: the block was removed from the index; its space is reused once no read can see it. */
    public static final int DELETED = 2;
    /** FREE: no such block. */
    public static final int NOT_FOUND = 3;
    /**
     * MARK_CORRUPT: the entry still pointed at that offset and is now flagged {@link IndexValue#CORRUPT} (it
     * answers {@link #DUPLICATE} when it was flagged already, {@link #NOT_FOUND} when the entry is gone or moved).
     */
    public static final int MARKED = 5;
    /** The batch could not be committed (see the error handler); nothing of this delta took effect. */
    public static final int FAILED = 4;

    private Deltas()
    {
    }
}
