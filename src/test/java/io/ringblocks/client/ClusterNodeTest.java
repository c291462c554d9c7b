package io.ringblocks.client;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How a member's up/down follows request outcomes: by when each request was sent, not when its answer came. */
class ClusterNodeTest
{
    private static final long SECOND = 1_000_000_000L;

    private final ClusterNode node = new ClusterNode(new Member("127.0.0.1", 1, 1.0), ClientOptions.of("127.0.0.1", 1),
        SECOND);

    @Test
    void shouldIgnoreAnAnswerToARequestSentBeforeTheMemberLastWentUpOrDown() throws Exception
    {
        final long early = System.nanoTime(); // a request sent now, answered much later
        Thread.sleep(2);
        node.record(System.nanoTime(), new ConnectionLostException("lost", null));
        assertTrue(node.down());
        node.record(early, null);
        assertTrue(node.down(), "a success of a request sent before it went down says nothing about now");
        Thread.sleep(2);
        node.record(System.nanoTime(), null);
        assertFalse(node.down(), "a success of a request sent since brings it back");
        node.record(early, new RequestTimeoutException("late"));
        assertFalse(node.down(), "a late timeout of a request sent before it came back does not take it down");
        assertEquals(2, node.state().failures(), "counted all the same");
        Thread.sleep(2);
        node.record(System.nanoTime(), new RequestTimeoutException("now"));
        assertTrue(node.down());
    }

    @Test
    void shouldNotBlameTheMemberForTheClientsOwnInFlightLimit()
    {
        node.record(System.nanoTime(), new RequestTimeoutException("all slots taken", false));
        assertFalse(node.down(), "never sent: says nothing about the member");
        node.record(System.nanoTime(), new NotFoundException("no such block"));
        assertFalse(node.down(), "an answer, however negative, is a member that works");
    }

    @Test
    void shouldMarkAMemberDownWhenARequestsTimeWentOnFailedReconnects()
    {
        node.record(System.nanoTime(), new RequestTimeoutException("not sent: reconnecting took the timeout", false,
            new java.net.ConnectException("Connection refused")));
        assertTrue(node.down(), "the member could not be reached: the down interval spares the next requests");
    }
}
