package io.ringblocks.client;

/**
 * The server's response broke the wire protocol: a response frame shorter than its header, a version other
 * than 1, a body of the wrong size for the operation, an echoed opcode that differs from the request's, or a body
 * longer than the protocol allows for the operation (a GET's at most 1 MiB, a PING's none). When the frame
 * boundaries can no longer be trusted the connection is closed and the outstanding requests fail with
 * {@link ConnectionLostException} caused by this.
 */
public final class ProtocolException extends RingblocksException
{
    ProtocolException(final String message)
    {
        super(message, null);
    }
}
