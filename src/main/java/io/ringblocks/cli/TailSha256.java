package io.ringblocks.cli;

/**
 * SHA-256 of a benchmark PUT without hashing the whole block per request. A PUT's content is a fixed block with a
 * per-request counter in its LAST bytes, so everything before the last 64-byte boundary that precedes the counter
 * hashes the same every time: its intermediate state (the midstate) is computed once per block, and a PUT only
 * compresses the one or two 64-byte chunks that hold the counter and the padding — about a microsecond whatever
 * the block size. The Redis client needs this: it must name each key by the digest ringblocks would return, and
 * hashing a 512 KiB block per request would cost the client more CPU than the server it measures.
 * <pre>
 *  block:  [ prefix: whole 64-byte chunks, hashed once | rest of the block | unique (≤ 8) ]
 *                                                       \_______ tail: hashed per PUT ____/ + padding
 * </pre>
 * One instance per thread: it keeps its scratch state.
 */
final class TailSha256
{
    static final int DIGEST_LENGTH = 32;
    static final int STATE_WORDS = 8;
    private static final int CHUNK = 64;
    private static final int LENGTH_FIELD = 8;

    private static final int[] INITIAL = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };

    private static final int[] K = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };

    private final int[] w = new int[64];
    private final int[] state = new int[STATE_WORDS];
    private final byte[] tail = new byte[2 * CHUNK];

    /** @return how many counter bytes a block of {@code length} bytes ends with: 8, or all of a shorter block. */
    static int uniqueLength(final int length)
    {
        return Math.min(8, length);
    }

    /** @return the length of the part hashed once: whole chunks that end at or before the counter. */
    static int prefixLength(final int length)
    {
        return (length - uniqueLength(length)) & -CHUNK;
    }

    /** @return a new midstate: the SHA-256 state after the prefix of {@code block}. Not for the hot path. */
    int[] midstate(final byte[] block)
    {
        final int[] mid = INITIAL.clone();
        final int prefix = prefixLength(block.length);
        for (int at = 0; at < prefix; at += CHUNK)
        {
            compress(mid, block, at);
        }
        return mid;
    }

    /**
     * Writes the SHA-256 of {@code block} with its last {@link #uniqueLength} bytes replaced by {@code unique}.
     *
     * @param midstate from {@link #midstate(byte[])} of this block.
     * @param out      receives the 32-byte digest from {@code outOffset}.
     */
    void digest(final int[] midstate, final byte[] block, final byte[] unique, final byte[] out, final int outOffset)
    {
        final int length = block.length;
        final int u = uniqueLength(length);
        final int prefix = prefixLength(length);
        final int rest = length - u - prefix;
        final int tailLength = rest + u;
        System.arraycopy(block, prefix, tail, 0, rest);
        System.arraycopy(unique, 0, tail, rest, u);
        final int padded = tailLength + 1 + LENGTH_FIELD <= CHUNK ? CHUNK : 2 * CHUNK;
        tail[tailLength] = (byte)0x80;
        for (int i = tailLength + 1; i < padded - LENGTH_FIELD; i++)
        {
            tail[i] = 0;
        }
        final long bits = (long)length << 3;
        for (int i = 0; i < LENGTH_FIELD; i++)
        {
            tail[padded - 1 - i] = (byte)(bits >>> (8 * i));
        }
        System.arraycopy(midstate, 0, state, 0, STATE_WORDS);
        for (int at = 0; at < padded; at += CHUNK)
        {
            compress(state, tail, at);
        }
        for (int i = 0; i < STATE_WORDS; i++)
        {
            final int v = state[i];
            out[outOffset + 4 * i] = (byte)(v >>> 24);
            out[outOffset + 4 * i + 1] = (byte)(v >>> 16);
            out[outOffset + 4 * i + 2] = (byte)(v >>> 8);
            out[outOffset + 4 * i + 3] = (byte)v;
        }
    }

    private void compress(final int[] h, final byte[] data, final int at)
    {
        for (int i = 0; i < 16; i++)
        {
            final int p = at + 4 * i;
            w[i] = (data[p] & 0xFF) << 24 | (data[p + 1] & 0xFF) << 16 | (data[p + 2] & 0xFF) << 8 | data[p + 3] & 0xFF;
        }
        for (int i = 16; i < 64; i++)
        {
            final int s0 = Integer.rotateRight(w[i - 15], 7) ^ Integer.rotateRight(w[i - 15], 18) ^ (w[i - 15] >>> 3);
            final int s1 = Integer.rotateRight(w[i - 2], 17) ^ Integer.rotateRight(w[i - 2], 19) ^ (w[i - 2] >>> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        int a = h[0];
        int b = h[1];
        int c = h[2];
        int d = h[3];
        int e = h[4];
        int f = h[5];
        int g = h[6];
        int hh = h[7];
        for (int i = 0; i < 64; i++)
        {
            final int t1 = hh + (Integer.rotateRight(e, 6) ^ Integer.rotateRight(e, 11) ^ Integer.rotateRight(e, 25)) +
                (e & f ^ ~e & g) + K[i] + w[i];
            final int t2 = (Integer.rotateRight(a, 2) ^ Integer.rotateRight(a, 13) ^ Integer.rotateRight(a, 22)) +
                (a & b ^ a & c ^ b & c);
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
    }
}
