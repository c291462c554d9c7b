package io.ringblocks.server;

import java.util.ArrayList;
import java.util.List;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The intrusive index list behaves as a first-in first-out set, also when indexes come back during a pass. */
class IndexListTest
{
    @Property(tries = 200)
    void shouldKeepFirstArrivalOrderWithoutDuplicates(@ForAll @Size(max = 200) final List<@IntRange(max = 31) Integer> adds)
    {
        final IndexList list = new IndexList(32);
        final List<Integer> expected = new ArrayList<>();
        for (final int i : adds)
        {
            final boolean added = list.add(i);
            assertEquals(!expected.contains(i), added);
            if (added)
            {
                expected.add(i);
            }
            assertTrue(list.contains(i));
        }
        assertEquals(expected.isEmpty(), list.isEmpty());
        final List<Integer> seen = new ArrayList<>();
        int i = list.takeAll();
        assertTrue(list.isEmpty(), "a pass detaches the whole list");
        while (i >= 0)
        {
            final int next = list.leave(i);
            assertFalse(list.contains(i));
            seen.add(i);
            if (i % 2 == 0)
            {
                assertTrue(list.add(i), "an index may come back during the pass");
            }
            i = next;
        }
        assertEquals(expected, seen);
        final List<Integer> again = new ArrayList<>();
        for (int j = list.takeAll(); j >= 0; )
        {
            again.add(j);
            j = list.leave(j);
        }
        assertEquals(expected.stream().filter(x -> x % 2 == 0).toList(), again, "re-added ones wait for the next pass");
    }

    @Property(tries = 200)
    void shouldPutBackWhatAnInterruptedPassHadNotVisited(
        @ForAll @Size(min = 1, max = 32) final List<@IntRange(max = 31) Integer> adds,
        @ForAll @IntRange(max = 31) final int stopAfter)
    {
        final IndexList list = new IndexList(32);
        final List<Integer> order = new ArrayList<>();
        for (final int i : adds)
        {
            if (list.add(i))
            {
                order.add(i);
            }
        }
        final int visited = Math.min(stopAfter, order.size());
        int i = list.takeAll();
        for (int k = 0; k < visited; k++)
        {
            i = list.leave(i);
        }
        list.requeue(i);
        final List<Integer> rest = new ArrayList<>();
        for (int j = list.takeAll(); j >= 0; )
        {
            rest.add(j);
            j = list.leave(j);
        }
        assertEquals(order.subList(visited, order.size()), rest);
        for (final int j : order)
        {
            assertTrue(list.add(j), "nothing stays marked as listed: " + j);
        }
    }
}
