package io.ringblocks.server;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PartialBodiesTest
{
    @Test
    void shouldRefuseBodiesOverTheBudgetAndHandBackWaitersInOrderOnceSomethingIsReleased()
    {
        final PartialBodies bodies = new PartialBodies(8, 2 << 20);
        assertTrue(bodies.tryTake(0, 1 << 20));
        assertTrue(bodies.tryTake(1, 1 << 20));
        assertFalse(bodies.tryTake(2, 4096), "the budget is spent");
        bodies.await(2);
        assertFalse(bodies.tryTake(3, 1 << 20));
        bodies.await(3);
        bodies.await(2); // already waiting: stays where it is
        assertEquals(2, bodies.waiters());
        assertEquals(-1, bodies.takeWaiters(), "nothing was released yet");
        bodies.release(0);
        bodies.release(0); // idempotent
        assertEquals(1 << 20, bodies.held());
        final int first = bodies.takeWaiters();
        assertEquals(2, first);
        final int second = bodies.nextOf(first);
        assertEquals(3, second);
        assertEquals(1, bodies.waiters(), "the one not yet walked past still counts");
        assertEquals(-1, bodies.nextOf(second), "each is unlinked before it is retried");
        assertEquals(0, bodies.waiters());
        assertTrue(bodies.tryTake(first, 4096));
        assertFalse(bodies.tryTake(second, 1 << 20));
        bodies.await(second); // waits again, alone in a new list
        bodies.release(1);
        assertEquals(3, bodies.takeWaiters());
        assertEquals(4096, bodies.held());
    }

    @Test
    void shouldForgetAClosedWaiterWhereverItIsInTheList()
    {
        final PartialBodies bodies = new PartialBodies(8, 1 << 20);
        assertTrue(bodies.tryTake(0, 1 << 20));
        for (int c = 1; c <= 5; c++)
        {
            bodies.await(c);
        }
        bodies.forget(3); // middle
        bodies.forget(1); // head
        bodies.forget(5); // tail
        bodies.forget(6); // never waited
        assertFalse(bodies.isWaiting(3));
        assertEquals(2, bodies.waiters());
        bodies.await(6); // appended after the new tail
        bodies.release(0);
        int c = bodies.takeWaiters();
        final StringBuilder order = new StringBuilder();
        while (c >= 0)
        {
            order.append(c);
            c = bodies.nextOf(c);
        }
        assertEquals("246", order.toString());
        assertEquals(0, bodies.waiters());
        bodies.await(3); // a new connection in a forgotten slot waits like any other
        assertTrue(bodies.isWaiting(3));
    }

    @Test
    void shouldLetNoNewcomerPassTheWaitersAndTheNextWaiterGoOnceTheFirstLeaves()
    {
        final PartialBodies bodies = new PartialBodies(8, 2 << 20);
        assertTrue(bodies.tryTake(0, 2 << 20));
        assertFalse(bodies.tryTake(1, 1 << 20));
        bodies.await(1); // a 1 MiB body waits
        bodies.release(0);
        assertFalse(bodies.tryTake(2, 4096), "budget is free, but a newcomer queues behind the waiter");
        bodies.await(2);
        int c = bodies.takeWaiters();
        assertEquals(1, c);
        c = bodies.nextOf(c);
        bodies.admitting(1); // the first waiter is retried: it, and only it, may take
        assertTrue(bodies.tryTake(1, 1 << 20));
        bodies.admitting(-1);
        assertEquals(2, c);
        bodies.nextOf(c);
        bodies.admitting(2);
        assertTrue(bodies.tryTake(2, 4096));
        bodies.admitting(-1);

        // The first waiter leaving (closed) lets the next one try, though nothing was released.
        assertFalse(bodies.tryTake(4, 1 << 20), "1 MiB + 4 KiB are held");
        bodies.await(4);
        bodies.await(5);
        assertEquals(-1, bodies.takeWaiters());
        bodies.forget(4);
        assertEquals(5, bodies.takeWaiters());
    }
}
