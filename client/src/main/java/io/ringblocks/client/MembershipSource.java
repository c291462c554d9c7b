package io.ringblocks.client;

import java.util.Objects;
import java.util.Optional;

/**
 * Where a {@link ClusterClient} learns the member list from. A fixed list ({@link #of}) is what the tools and most
 * deployments use; a coordination service (etcd, ZooKeeper) can implement this interface later, and the client
 * reads it afresh for every operation.
 */
public interface MembershipSource
{
    /** @return the members that own blocks now. */
    MemberList current();

    /**
     * @return the list before the last membership change while blocks are being rebalanced (GETs fall back to its
     * owners, DELETEs reach them too), or empty.
     */
    Optional<MemberList> previous();

    /** A fixed membership, with no migration in progress. */
    static MembershipSource of(final MemberList current)
    {
        return of(current, null);
    }

    /**
     * A fixed membership during a migration from {@code previous} (null: none) to {@code current}.
     */
    static MembershipSource of(final MemberList current, final MemberList previous)
    {
        Objects.requireNonNull(current, "current");
        final Optional<MemberList> before = Optional.ofNullable(previous);
        return new MembershipSource()
        {
            @Override
            public MemberList current()
            {
                return current;
            }

            @Override
            public Optional<MemberList> previous()
            {
                return before;
            }
        };
    }
}
