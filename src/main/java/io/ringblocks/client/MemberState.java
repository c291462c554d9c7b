package io.ringblocks.client;

import java.time.Instant;

/**
 * What a {@link ClusterClient} knows about one member's health.
 *
 * @param address   the member's {@code host:port}.
 * @param up        false while the member is skipped after a failure (until {@code downUntil}).
 * @param downUntil when a down member is tried again; {@link Instant#EPOCH} when up.
 * @param failures  transport failures (lost connection, timeout, refused connect) seen so far.
 * @param lastError the last such failure, or the empty string.
 */
public record MemberState(String address, boolean up, Instant downUntil, long failures, String lastError)
{
}
