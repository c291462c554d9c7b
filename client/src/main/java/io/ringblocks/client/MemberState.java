package io.ringblocks.client;

import java.time.Instant;

/**
 * What a {@link ClusterClient} knows about one member's health.
 *
 * @param address   the member's {@code host:port}.
 * @param up        false while the member is skipped after a failure, or not connected yet.
 * @param connected whether a connection to it was ever established (false: never reached so far).
 * @param downUntil when a down member is probed again; {@link Instant#EPOCH} when up.
 * @param failures  transport failures (lost connection, timeout, refused connect) seen so far.
 * @param lastError the last such failure, or the empty string.
 */
public record MemberState(String address, boolean up, boolean connected, Instant downUntil, long failures,
    String lastError)
{
}
