package io.ringblocks.uring;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class UserDataTest
{
    @Property
    void shouldRoundTripSlotOpAndGeneration(
        @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) final int slot,
        @ForAll @IntRange(min = 0, max = 255) final int op,
        @ForAll final int generation)
    {
        final long ud = UserData.pack(slot, op, generation);
        assertEquals(slot, UserData.slot(ud));
        assertEquals(op, UserData.op(ud));
        assertEquals(generation & UserData.GENERATION_MASK, UserData.generation(ud));
    }

    @Test
    void shouldRejectOpOutOfRange()
    {
        assertThrows(IllegalArgumentException.class, () -> UserData.pack(1, 256, 0));
        assertThrows(IllegalArgumentException.class, () -> UserData.pack(-1, 1, 0));
    }

    @Test
    void shouldWrapGeneration()
    {
        assertEquals(0, UserData.nextGeneration(UserData.GENERATION_MASK));
    }
}
