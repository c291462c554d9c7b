package io.ringblocks.cli;

import java.security.MessageDigest;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The midstate shortcut must give exactly SHA-256 of the block as sent: the key ringblocks would return. */
class TailSha256Test
{
    @Test
    void shouldMatchMessageDigestForEveryLengthAroundTheChunkAndPaddingBoundaries() throws Exception
    {
        final SplittableRandom random = new SplittableRandom(7);
        final TailSha256 tail = new TailSha256();
        final MessageDigest sha = MessageDigest.getInstance("SHA-256");
        final int[] large = {4096, 4097, 65536, 524288};
        for (int length = 0; length < 300 + large.length; length++)
        {
            final int size = length < 300 ? length : large[length - 300];
            final byte[] block = new byte[size];
            random.nextBytes(block);
            final int[] midstate = tail.midstate(block);
            for (int round = 0; round < 3; round++)
            {
                final byte[] unique = new byte[8];
                random.nextBytes(unique);
                final int u = TailSha256.uniqueLength(size);
                final byte[] sent = block.clone();
                System.arraycopy(unique, 0, sent, size - u, u);
                final byte[] got = new byte[40];
                tail.digest(midstate, block, unique, got, 4);
                final byte[] expected = new byte[40];
                System.arraycopy(sha.digest(sent), 0, expected, 4, 32);
                assertArrayEquals(expected, got, "length " + size);
            }
        }
    }
}
