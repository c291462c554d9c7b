package io.ringblocks.client;

/**
 * Base of every failure the client reports. Unchecked, because almost every call can fail the same few ways
 * (connection lost, timeout) and a checked exception on each would only be wrapped or rethrown by callers.
 * Sealed, so that a {@code switch} over the subtypes is exhaustive and callers can rely on this list:
 * server answers ({@link NotFoundException}, {@link HashMismatchException}, {@link BlockTooLargeException},
 * {@link NoSpaceException}, {@link BadRequestException}, {@link BadRangeException}, {@link ServerBusyException},
 * {@link CorruptBlockException},
 * {@link ServerErrorException}), client-side checks ({@link IntegrityException}, {@link ProtocolException},
 * {@link BufferTooSmallException}) and transport failures ({@link ConnectionLostException},
 * {@link RequestTimeoutException}), and a cluster's {@link ClusterException}. A plain {@code RingblocksException} is only thrown when a blocking call is
 * interrupted.
 */
public sealed class RingblocksException extends RuntimeException
    permits NotFoundException, HashMismatchException, BlockTooLargeException, NoSpaceException,
    BadRequestException, BadRangeException, ServerBusyException, CorruptBlockException, ServerErrorException,
    IntegrityException,
    ProtocolException, BufferTooSmallException, ConnectionLostException, RequestTimeoutException, ClusterException
{
    /** The server's status code, or {@link StatusCode#NONE}. */
    private final int status;

    RingblocksException(final String message, final int status, final Throwable cause)
    {
        super(message, cause);
        this.status = status;
    }

    RingblocksException(final String message, final Throwable cause)
    {
        this(message, StatusCode.NONE, cause);
    }

    /**
     * @return the server's status code ({@link StatusCode}) when this failure is the server's answer,
     * {@link StatusCode#NONE} when it arose on the client side.
     */
    public int status()
    {
        return status;
    }

    /**
     * @return the name of {@link #status()}, such as {@code NO_SPACE}, for logs.
     */
    public String statusName()
    {
        return StatusCode.name(status);
    }
}
