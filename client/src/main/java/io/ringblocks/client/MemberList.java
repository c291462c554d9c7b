package io.ringblocks.client;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The members of a cluster, in the order given (the order does not affect placement: {@link Placement} depends
 * only on each member's address and weight). Immutable; no two members share an address.
 */
public final class MemberList
{
    private final List<Member> members;

    /** @throws IllegalArgumentException when {@code members} is empty or names an address twice. */
    public MemberList(final List<Member> members)
    {
        Objects.requireNonNull(members, "members");
        if (members.isEmpty())
        {
            throw new IllegalArgumentException("a cluster needs at least one member");
        }
        final Set<String> seen = new HashSet<>();
        for (final Member m : members)
        {
            Objects.requireNonNull(m, "member");
            if (!seen.add(m.address()))
            {
                throw new IllegalArgumentException("member " + m.address() + " listed twice");
            }
        }
        this.members = List.copyOf(members);
    }

    /**
     * Parses a comma-separated list of {@code host:port[=weight]}, e.g. {@code "10.0.0.1:10100,10.0.0.2:10100=2"}.
     *
     * @throws IllegalArgumentException naming the bad entry.
     */
    public static MemberList parse(final String text)
    {
        Objects.requireNonNull(text, "text");
        final List<Member> list = new ArrayList<>();
        for (final String part : text.split(","))
        {
            if (!part.isBlank())
            {
                list.add(Member.parse(part));
            }
        }
        return new MemberList(list);
    }

    public List<Member> members()
    {
        return members;
    }

    public int size()
    {
        return members.size();
    }

    public Member get(final int index)
    {
        return members.get(index);
    }

    /** @return the index of the member at {@code address} ({@code host:port}), or -1. */
    public int indexOf(final String address)
    {
        for (int i = 0; i < members.size(); i++)
        {
            if (members.get(i).address().equals(address))
            {
                return i;
            }
        }
        return -1;
    }

    /** @return the sum of the members' weights. */
    public double totalWeight()
    {
        double sum = 0;
        for (final Member m : members)
        {
            sum += m.weight();
        }
        return sum;
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof MemberList l && l.members.equals(members);
    }

    @Override
    public int hashCode()
    {
        return members.hashCode();
    }

    /** @return the list as {@link #parse(String)} reads it. */
    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder();
        for (final Member m : members)
        {
            if (sb.length() > 0)
            {
                sb.append(',');
            }
            sb.append(m);
        }
        return sb.toString();
    }
}
