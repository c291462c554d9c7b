package io.ringblocks.protocol;

import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * Decides, from the header and the body length alone, whether a request is well formed, so that the server
 * answers every malformed request before touching storage, hashing a payload or allocating. Checks run in a
 * fixed order and the first failure wins, which makes every error answer deterministic:
 * <ol>
 * <li>version is not 1: {@link Status#UNSUPPORTED_VERSION} (the server then closes the connection);</li>
 * <li>opcode is not PING..FIND_MISSING (0x01..0x08): {@link Status#UNKNOWN_OPCODE};</li>
 * <li>a flag bit the opcode does not define is set: {@link Status#BAD_REQUEST};</li>
 * <li>the body length is wrong for the opcode: {@link Status#BAD_REQUEST}, except a PUT payload above the
 * maximum block size, which is {@link Status#BLOCK_TOO_LARGE}.</li>
 * </ol>
 * Pure static functions: no state, no allocation.
 */
public final class RequestValidator
{
    private RequestValidator()
    {
    }

    /**
     * @param header       a wrapped header whose length passed {@link FrameDecoder#check}.
     * @param bodyLength   the request's body length, {@code length - 12}.
     * @param maxBlockSize the server's largest block payload.
     * @return {@link Status#OK} or the status to answer without doing the request.
     */
    public static int validate(final RequestHeader header, final int bodyLength, final int maxBlockSize)
    {
        return validate(header.version(), header.opcode(), header.flags(), bodyLength, maxBlockSize);
    }

    /**
     * @param version      header version byte.
     * @param opcode       header opcode byte.
     * @param flags        header flags.
     * @param bodyLength   the request's body length; negative is BAD_REQUEST.
     * @param maxBlockSize the server's largest block payload.
     * @return {@link Status#OK} or the status to answer without doing the request.
     */
    public static int validate(
        final int version, final int opcode, final int flags, final int bodyLength, final int maxBlockSize)
    {
        if (version != Protocol.VERSION)
        {
            return Status.UNSUPPORTED_VERSION;
        }
        if (!Opcode.isValid(opcode))
        {
            return Status.UNKNOWN_OPCODE;
        }
        if (!Flags.isValid(opcode, flags) || bodyLength < 0)
        {
            return Status.BAD_REQUEST;
        }
        return switch (opcode)
        {
            case Opcode.PING, Opcode.STATS -> exactly(bodyLength, 0);
            case Opcode.PUT -> validatePut(flags, bodyLength, maxBlockSize);
            case Opcode.GET ->
                exactly(bodyLength, Flags.isSet(flags, Flags.RANGE) ? RangeBody.LENGTH : Protocol.HASH_LENGTH);
            case Opcode.LIST -> exactly(bodyLength, ListBody.REQUEST_LENGTH);
            case Opcode.FIND_MISSING -> bodyLength >= Protocol.HASH_LENGTH && bodyLength % Protocol.HASH_LENGTH == 0 &&
                bodyLength <= Protocol.MAX_FIND_MISSING * Protocol.HASH_LENGTH ? Status.OK : Status.BAD_REQUEST;
            default -> exactly(bodyLength, Protocol.HASH_LENGTH); // HEAD, DELETE
        };
    }

    /**
     * @return the payload length of a PUT whose body is {@code bodyLength} bytes: the body less the VERIFY_HASH
     * digest if that flag is set. Meaningful only for a PUT that validated OK.
     */
    public static int putPayloadLength(final int flags, final int bodyLength)
    {
        return Flags.isSet(flags, Flags.VERIFY_HASH) ? bodyLength - Protocol.HASH_LENGTH : bodyLength;
    }

    private static int exactly(final int bodyLength, final int required)
    {
        return bodyLength == required ? Status.OK : Status.BAD_REQUEST;
    }

    private static int validatePut(final int flags, final int bodyLength, final int maxBlockSize)
    {
        final int payloadLength = putPayloadLength(flags, bodyLength);
        if (payloadLength <= 0)
        {
            return Status.BAD_REQUEST;
        }
        return payloadLength > maxBlockSize ? Status.BLOCK_TOO_LARGE : Status.OK;
    }
}
