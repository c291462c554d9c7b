package io.ringblocks.storage;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link StoreConfig} and {@link JournalConfig}: defaults, derived defaults, every limit, round trips. */
class StoreConfigTest
{
    private static final Path DIR = Path.of("/tmp/store-config-test");

    /** Concludes a default builder changed by {@code change}, expecting exactly {@code message}. */
    private static void assertRejected(final String message, final UnaryOperator<StoreConfig.Builder> change)
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> change.apply(StoreConfig.builder(DIR)).conclude(), message);
        assertEquals(message, e.getMessage());
    }

    private static void assertJournalRejected(final String message, final UnaryOperator<JournalConfig.Builder> change)
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> change.apply(JournalConfig.builder()).conclude(), message);
        assertEquals(message, e.getMessage());
    }

    @Test
    void shouldConcludeTheDefaults()
    {
        final StoreConfig config = StoreConfig.builder(DIR).conclude();
        assertEquals(DIR, config.dir());
        assertEquals(1L << 30, config.maxSize());
        assertEquals(true, config.durable());
        assertEquals(true, config.directIo());
        assertEquals(true, config.readCache());
        assertEquals(1 << 20, config.maxBlockSize());
        assertEquals(64L << 20, config.growStep());
        assertEquals(64L << 30, config.indexMapSize());
        assertEquals(4096, config.maxBatch());
        assertEquals(20_000L, config.debounceNanos());
        assertEquals(1 << 20, config.deltaRingCapacity());
        assertEquals(1 << 20, config.ackRingCapacity());
        assertEquals(StoreConfig.DEFAULT_LIMBO_CAPACITY, config.limboCapacity());
        assertEquals(StoreConfig.DEFAULT_ACK_BACKLOG_CAPACITY, config.ackBacklogCapacity());
        assertEquals(0, config.scrubRate());
        assertEquals(JournalConfig.DEFAULTS, config.journal());
        assertEquals(64L << 20, JournalConfig.DEFAULTS.logSize());
        assertEquals(1 << 16, JournalConfig.DEFAULTS.overlaySlots());
        assertEquals(1_000_000_000L, JournalConfig.DEFAULTS.syncIntervalNanos());
        assertEquals(1_000_000_000L, JournalConfig.DEFAULTS.checkpointIntervalNanos());
    }

    @Test
    void shouldDeriveTheGrowStepAndTheBatchFromTheFieldsTheyDependOn()
    {
        // The growth step never exceeds the capacity (rounded down to whole blocks), nor drops below one block.
        assertEquals(8L << 20, StoreConfig.builder(DIR).maxSize((8L << 20) + 5).conclude().growStep());
        assertEquals(64 << 10, StoreConfig.builder(DIR).maxSize(100 << 10).maxBlockSize(64 << 10).conclude()
            .growStep());
        // A batch is at most 3/8 of an overlay table.
        final JournalConfig small = JournalConfig.builder().overlaySlots(JournalConfig.MIN_OVERLAY_SLOTS).conclude();
        assertEquals(384, StoreConfig.builder(DIR).journal(small).conclude().maxBatch());
        // Set explicitly, neither is derived.
        final StoreConfig set = StoreConfig.builder(DIR).maxSize(8L << 20).growStep(2L << 20).maxBatch(10)
            .journal(small).conclude();
        assertEquals(2L << 20, set.growStep());
        assertEquals(10, set.maxBatch());
    }

    @Test
    void shouldEnforceEveryStoreLimitNamingTheFieldTheRangeAndTheValue()
    {
        assertRejected("dir is required: null", b -> StoreConfig.builder(null));
        assertRejected("journal is required: null", b -> b.journal(null));
        assertRejected("maxBlockSize must be a power of two in 4096..1048576: 2097152", b -> b.maxBlockSize(2 << 20));
        assertRejected("maxBlockSize must be a power of two in 4096..1048576: 2048", b -> b.maxBlockSize(2048));
        assertRejected("maxBlockSize must be a power of two in 4096..1048576: 12288", b -> b.maxBlockSize(12288));
        assertRejected("maxSize must be in 1048576..4398046511104: 4096", b -> b.maxSize(4096));
        assertRejected("maxSize must be in 1048576..4398046511104: 4398046511105", b -> b.maxSize((4L << 40) + 1));
        assertRejected("maxSize must be in 4096..2199023255552: 2199023259648",
            b -> b.maxBlockSize(4096).maxSize((2L << 40) + 4096));
        assertRejected("growStep must be a multiple of 1048576 in 1048576..4398046511104: 1572864",
            b -> b.growStep(3L << 19));
        assertRejected("growStep must be a multiple of 1048576 in 1048576..4398046511104: 0", b -> b.growStep(0));
        assertRejected("indexMapSize must be a multiple of 4096 in 1048576..1099511627776: 1000000000",
            b -> b.indexMapSize(1_000_000_000L));
        assertRejected("indexMapSize must be a multiple of 4096 in 1048576..1099511627776: 4096",
            b -> b.indexMapSize(4096));
        assertRejected("maxBatch must be in 1..4096: 0", b -> b.maxBatch(0));
        assertRejected("maxBatch must be in 1..4096: 4097", b -> b.maxBatch(4097));
        assertRejected("maxBatch must be in 1..384: 385", b -> b.maxBatch(385)
            .journal(JournalConfig.builder().overlaySlots(JournalConfig.MIN_OVERLAY_SLOTS).conclude()));
        assertRejected("debounceNanos must be in 0..1000000000: -1", b -> b.debounceNanos(-1));
        assertRejected("deltaRingCapacity must be a power of two in 1024..1073741824: 512",
            b -> b.deltaRingCapacity(512));
        assertRejected("ackRingCapacity must be a power of two in 1024..1073741824: 3072",
            b -> b.ackRingCapacity(3072));
        assertRejected("limboCapacity must be in 4096..16777216: 4095", b -> b.limboCapacity(4095));
        assertRejected("limboCapacity must be in 4096..16777216: 16777217", b -> b.limboCapacity((1 << 24) + 1));
        assertRejected("ackBacklogCapacity must be in 1..16777216: 0", b -> b.ackBacklogCapacity(0));
        assertRejected("scrubRate must be in 0..9223372036854775807: -1", b -> b.scrubRate(-1));
    }

    @Test
    void shouldEnforceEveryJournalLimitNamingTheFieldTheRangeAndTheValue()
    {
        assertJournalRejected("logSize must be a multiple of 4096 in 1048576..1099511627776: 1048577",
            b -> b.logSize((1L << 20) + 1));
        assertJournalRejected("logSize must be a multiple of 4096 in 1048576..1099511627776: 1044480",
            b -> b.logSize((1L << 20) - 4096));
        assertJournalRejected("overlaySlots must be a power of two in 1024..16777216: 1000",
            b -> b.overlaySlots(1000));
        assertJournalRejected("overlaySlots must be a power of two in 1024..16777216: 33554432",
            b -> b.overlaySlots(1 << 25));
        assertJournalRejected("syncIntervalNanos must be in 1000000..86400000000000: 999999",
            b -> b.syncIntervalNanos(999_999));
        assertJournalRejected("checkpointIntervalNanos must be in 1000000..86400000000000: 86400000000001",
            b -> b.checkpointIntervalNanos(86_400_000_000_001L));
    }

    @Test
    void shouldAcceptTheLimitsThemselves()
    {
        final StoreConfig lowest = StoreConfig.builder(DIR).maxBlockSize(StoreConfig.MIN_MAX_BLOCK_SIZE).maxSize(4096)
            .growStep(4096).indexMapSize(StoreConfig.MIN_INDEX_MAP_SIZE).maxBatch(1).debounceNanos(0)
            .deltaRingCapacity(StoreConfig.MIN_RING_CAPACITY).ackRingCapacity(StoreConfig.MIN_RING_CAPACITY)
            .limboCapacity(1).ackBacklogCapacity(1).scrubRate(0)
            .journal(JournalConfig.builder().logSize(JournalConfig.MIN_LOG_SIZE)
                .overlaySlots(JournalConfig.MIN_OVERLAY_SLOTS).syncIntervalNanos(JournalConfig.MIN_INTERVAL_NANOS)
                .checkpointIntervalNanos(JournalConfig.MIN_INTERVAL_NANOS).conclude())
            .conclude();
        assertEquals(1, lowest.limboCapacity());
        final StoreConfig highest = StoreConfig.builder(DIR).maxBlockSize(StoreConfig.MAX_MAX_BLOCK_SIZE)
            .maxSize(StoreConfig.MAX_MAX_SIZE).growStep(StoreConfig.MAX_MAX_SIZE)
            .indexMapSize(StoreConfig.MAX_INDEX_MAP_SIZE).maxBatch(StoreConfig.MAX_MAX_BATCH)
            .debounceNanos(StoreConfig.MAX_DEBOUNCE_NANOS).deltaRingCapacity(StoreConfig.MAX_RING_CAPACITY)
            .ackRingCapacity(StoreConfig.MAX_RING_CAPACITY).limboCapacity(StoreConfig.MAX_QUEUE_CAPACITY)
            .ackBacklogCapacity(StoreConfig.MAX_QUEUE_CAPACITY).scrubRate(Long.MAX_VALUE)
            .journal(JournalConfig.builder().logSize(JournalConfig.MAX_LOG_SIZE)
                .overlaySlots(JournalConfig.MAX_OVERLAY_SLOTS).syncIntervalNanos(JournalConfig.MAX_INTERVAL_NANOS)
                .checkpointIntervalNanos(JournalConfig.MAX_INTERVAL_NANOS).conclude())
            .conclude();
        assertEquals(StoreConfig.MAX_MAX_SIZE, highest.maxSize());
    }

    @Test
    void shouldAllowNoLargerBlockThanTheProtocol()
    {
        assertEquals(Protocol.DEFAULT_MAX_BLOCK_SIZE, StoreConfig.MAX_MAX_BLOCK_SIZE);
        assertEquals(Protocol.DEFAULT_MAX_BLOCK_SIZE, StoreConfig.DEFAULT_MAX_BLOCK_SIZE);
    }

    @Test
    void shouldRoundTripThroughToBuilder()
    {
        final JournalConfig journal = JournalConfig.builder().logSize(2L << 20).overlaySlots(1 << 14)
            .syncIntervalNanos(5_000_000L).checkpointIntervalNanos(7_000_000L).conclude();
        final StoreConfig config = StoreConfig.builder(DIR).maxSize(3L << 30).durable(false).directIo(false)
            .readCache(false).maxBlockSize(64 << 10).growStep(1L << 20).indexMapSize(1L << 30).maxBatch(100)
            .debounceNanos(1234).deltaRingCapacity(1 << 12).ackRingCapacity(1 << 13).limboCapacity(200)
            .ackBacklogCapacity(300).scrubRate(10L << 20).journal(journal).conclude();
        assertEquals(journal, journal.toBuilder().conclude());
        assertEquals(journal.hashCode(), journal.toBuilder().conclude().hashCode());
        assertEquals(config, config.toBuilder().conclude());
        assertEquals(config.hashCode(), config.toBuilder().conclude().hashCode());
        assertEquals(config.toString(), config.toBuilder().conclude().toString());
        assertNotEquals(config, config.toBuilder().scrubRate(0).conclude());
        assertNotEquals(journal, journal.toBuilder().overlaySlots(1 << 15).conclude());
        // The derived fields are copied, not derived again: a larger capacity keeps the growth step.
        assertEquals(1L << 20, config.toBuilder().maxSize(8L << 30).conclude().growStep());
    }
}
