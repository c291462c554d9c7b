package io.ringblocks.protocol;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;

import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * The first step of reading a frame: find and judge its length prefix before anything else is read or any
 * buffer is sized from it, so that a hostile or corrupt length can neither make the server allocate nor make it
 * wait for bytes that will never be valid. Both directions use the same framing.
 */
public final class FrameDecoder
{
    /** {@link #frameLength} result when the length prefix has not fully arrived yet. */
    public static final int INCOMPLETE = -1;

    private FrameDecoder()
    {
    }

    /**
     * @param buffer    holding received bytes.
     * @param offset    where the frame (its length field) starts.
     * @param available received bytes from {@code offset} on.
     * @return {@link #INCOMPLETE} (-1) if fewer than 4 bytes are available, else the u32 length field: the bytes
     * that follow it. Values of 2^31 and above saturate to {@link Integer#MAX_VALUE} so that the result is never
     * negative; {@link #check} rejects them as FRAME_TOO_LARGE all the same.
     */
    public static int frameLength(final DirectBuffer buffer, final int offset, final int available)
    {
        if (available < Protocol.LENGTH_FIELD_LENGTH)
        {
            return INCOMPLETE;
        }
        final int length = buffer.getInt(offset, ByteOrder.LITTLE_ENDIAN);
        return length < 0 ? Integer.MAX_VALUE : length;
    }

    /**
     * @param lengthField   the u32 length field, taken as unsigned (a raw negative int is a value of 2^31 or more).
     * @param maxBodyLength the largest body accepted, {@link Protocol#maxBodyLength(int)}.
     * @return {@link Status#OK}; {@link Status#FRAME_TOO_LARGE} if the length exceeds {@code 12 + maxBodyLength};
     * {@link Status#BAD_REQUEST} if it is below 12 (the header cannot even be complete). Both errors close the
     * connection: the byte stream can no longer be split into frames with confidence.
     */
    public static int check(final int lengthField, final int maxBodyLength)
    {
        final long length = lengthField & 0xFFFF_FFFFL;
        if (length < Protocol.MIN_LENGTH)
        {
            return Status.BAD_REQUEST;
        }
        if (length > Protocol.MIN_LENGTH + (long)maxBodyLength)
        {
            return Status.FRAME_TOO_LARGE;
        }
        return Status.OK;
    }

    /**
     * @param lengthField a length field that passed {@link #check}.
     * @param available   received bytes from the frame's start.
     * @return true if the whole frame, {@code 4 + lengthField} bytes, has arrived.
     */
    public static boolean isComplete(final int lengthField, final int available)
    {
        return available >= Protocol.LENGTH_FIELD_LENGTH + (lengthField & 0xFFFF_FFFFL);
    }
}
