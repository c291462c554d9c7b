package io.ringblocks.client;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Weighted rendezvous placement: what moves when members come and go, and how closely weights are honoured.
 */
class PlacementTest
{
    private static Hash hash(final long n)
    {
        return Hash.of(ByteBuffer.allocate(8).putLong(n).array());
    }

    private static MemberList members(final List<Integer> weights)
    {
        final List<Member> list = new ArrayList<>();
        for (int i = 0; i < weights.size(); i++)
        {
            list.add(new Member("10.0." + i / 250 + "." + (i % 250 + 1), 10100 + i, weights.get(i)));
        }
        return new MemberList(list);
    }

    private static String[] owners(final Placement p, final Hash h, final int replicas)
    {
        final int[] idx = p.owners(h, replicas);
        final String[] addresses = new String[idx.length];
        for (int i = 0; i < idx.length; i++)
        {
            addresses[i] = p.members().get(idx[i]).address();
        }
        return addresses;
    }

    @Property(tries = 40)
    void shouldMoveOnlyTheRemovedMembersBlocks(
        @ForAll @Size(min = 2, max = 12) final List<@IntRange(min = 1, max = 8) Integer> weights,
        @ForAll @IntRange(min = 0, max = 11) final int removedAt,
        @ForAll @IntRange(min = 1, max = 4) final int replicas)
    {
        final MemberList before = members(weights);
        final int removed = removedAt % before.size();
        final List<Member> rest = new ArrayList<>(before.members());
        final String gone = rest.remove(removed).address();
        final Placement p0 = new Placement(before);
        final Placement p1 = new Placement(new MemberList(rest));
        for (int n = 0; n < 2_000; n++)
        {
            final Hash h = hash(n);
            final String[] was = owners(p0, h, replicas + 1);
            final String[] now = owners(p1, h, replicas);
            // Without the member, the order of the others is unchanged: each block's owners are its old ones with
            // the removed member taken out (the next member in its order steps in).
            final List<String> expected = new ArrayList<>(Arrays.asList(was));
            expected.remove(gone);
            assertEquals(expected.subList(0, now.length), Arrays.asList(now), "hash " + n);
        }
    }

    @Test
    void shouldMoveAboutTheNewMembersShareWhenAddingIt()
    {
        final MemberList before = members(List.of(1, 1, 1, 1));
        final List<Member> more = new ArrayList<>(before.members());
        more.add(new Member("10.9.9.9", 10100, 2));
        final Placement p0 = new Placement(before);
        final Placement p1 = new Placement(new MemberList(more));
        final int hashes = 100_000;
        int moved = 0;
        for (int n = 0; n < hashes; n++)
        {
            final Hash h = hash(n);
            final String was = owners(p0, h, 1)[0];
            final String now = owners(p1, h, 1)[0];
            if (!was.equals(now))
            {
                moved++;
                assertEquals("10.9.9.9:10100", now, "a block moves only to the new member");
            }
        }
        final double share = moved / (double)hashes;
        assertEquals(2.0 / 6.0, share, 0.01, "moved share");
    }

    @Test
    void shouldHonourWeightsWithinOnePercent()
    {
        final List<Integer> weights = List.of(1, 2, 3, 4, 10);
        final Placement p = new Placement(members(weights));
        final int hashes = 100_000;
        final int[] primaries = new int[weights.size()];
        for (int n = 0; n < hashes; n++)
        {
            primaries[p.primary(hash(n))]++;
        }
        // Binomial standard deviation at most sqrt(0.25 / 1e5) = 0.0016: one percent is over six of them.
        for (int i = 0; i < weights.size(); i++)
        {
            assertEquals(weights.get(i) / 20.0, primaries[i] / (double)hashes, 0.01, "share of member " + i);
        }
    }

    @Test
    void shouldPlaceTheSameWhateverTheListOrder()
    {
        final MemberList list = members(List.of(1, 2, 3, 1, 5, 1));
        final List<Member> shuffled = new ArrayList<>(list.members());
        Collections.shuffle(shuffled, new Random(7));
        final Placement a = new Placement(list);
        final Placement b = new Placement(new MemberList(shuffled));
        for (int n = 0; n < 5_000; n++)
        {
            assertArrayEquals(owners(a, hash(n), 3), owners(b, hash(n), 3));
        }
    }

    @Test
    void shouldReturnEveryMemberOnceWhenReplicasExceedTheList()
    {
        final Placement p = new Placement(members(List.of(1, 1, 1)));
        final int[] owners = p.owners(hash(1), 5);
        assertEquals(3, owners.length);
        assertEquals(3, Arrays.stream(owners).distinct().count());
        assertThrows(IllegalArgumentException.class, () -> p.owners(hash(1), 0));
    }

    @Test
    void shouldParseMembersAndRefuseBadOnes()
    {
        final MemberList list = MemberList.parse("a.example:10100, 10.0.0.2:10101=2.5,h:1=3");
        assertEquals(3, list.size());
        assertEquals("a.example:10100", list.get(0).address());
        assertEquals(2.5, list.get(1).weight());
        assertEquals("a.example:10100,10.0.0.2:10101=2.5,h:1=3", list.toString());
        assertEquals(list, MemberList.parse(list.toString()));
        for (final String bad : new String[]{"", "host", "host:", ":80", "h:0", "h:65536", "h:80=0", "h:80=-1",
            "h:80=x", "h:80=NaN", "h:80,h:80"})
        {
            assertThrows(IllegalArgumentException.class, () -> MemberList.parse(bad), bad);
        }
        assertTrue(MemberList.parse("h:1,h:2").indexOf("h:2") == 1);
    }
}
