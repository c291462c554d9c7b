package io.ringblocks.server;

import java.net.ServerSocket;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.ErrnoException;
import io.ringblocks.sys.LibC;
import io.ringblocks.sys.Sockets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two servers of one user starting on one port at the same moment could both pass the exclusive probe bind and then
 * share the port through SO_REUSEPORT, splitting clients between two stores. A host-wide claim on the port excludes
 * that: the second is refused.
 */
class PortClaimTest
{
    private static final byte[] LOOPBACK = {127, 0, 0, 1};

    @TempDir
    Path dir;

    @Test
    void shouldHoldTheHostWideClaimOnItsPortWhileItRuns() throws Exception
    {
        final int port;
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir)))
        {
            port = server.port();
            assertEquals(-Errno.EADDRINUSE, Sockets.claimPort(LOOPBACK, port), "claimed while it runs");
        }
        final int claim = Sockets.claimPort(LOOPBACK, port);
        assertTrue(claim >= 0, "given up at close: " + claim);
        LibC.close(claim);
    }

    @Test
    void shouldRefuseToStartOnAPortAnotherServerHasClaimed() throws Exception
    {
        final int port = freePort();
        // As if another server had passed its probe bind a moment ago and not yet bound its listeners.
        final int claim = Sockets.claimPort(LOOPBACK, port);
        assertTrue(claim >= 0);
        final ServerConfig config = ServerHarness.config(dir).toBuilder().port(port).conclude();
        try
        {
            final ErrnoException e = assertThrows(ErrnoException.class, () -> RingblocksServer.start(config).close());
            assertTrue(e.getMessage().contains("claimed by another ringblocks server on this host") &&
                e.getMessage().contains("EADDRINUSE"), e.getMessage());
        }
        finally
        {
            LibC.close(claim);
        }
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            assertEquals(port, server.port());
            // The claim is per address: the same port on another loopback address is another server's to take.
            final int other = Sockets.claimPort(new byte[]{127, 0, 0, 2}, port);
            assertTrue(other >= 0, "claimed on 127.0.0.2: " + other);
            LibC.close(other);
        }
    }

    @Test
    void shouldRefuseToStartOnAnAddressWhileAWildcardServerOfThatPortStarts() throws Exception
    {
        final int port = freePort();
        // A server on 0.0.0.0 of that port between its claim and its listeners: it overlaps every address.
        final int wildcard = Sockets.claimPort(new byte[4], port);
        assertTrue(wildcard >= 0);
        final ServerConfig config = ServerHarness.config(dir).toBuilder().port(port).conclude();
        try
        {
            final ErrnoException e = assertThrows(ErrnoException.class, () -> RingblocksServer.start(config).close());
            assertTrue(e.getMessage().contains("claimed by another ringblocks server"), e.getMessage());
        }
        finally
        {
            LibC.close(wildcard);
        }
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            // Once bound, it gives the wildcard claim up (a wildcard server now finds the port busy by itself).
            final int again = Sockets.claimPort(new byte[4], port);
            assertTrue(again >= 0, "wildcard claim held after the bind: " + again);
            LibC.close(again);
            assertEquals(-Errno.EADDRINUSE, Sockets.claimPort(LOOPBACK, port), "its own address stays claimed");
        }
    }

    private static int freePort() throws java.io.IOException
    {
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
        {
            return free.getLocalPort();
        }
    }
}
