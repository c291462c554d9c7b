package io.ringblocks.client;

/**
 * A GET into a caller-supplied buffer found the block larger than the buffer's remaining space. The size of a
 * block is unknown until its response arrives, so this is detected after the response was read (and discarded);
 * the buffer is left untouched and the connection stays usable. Retry with a buffer of at least
 * {@link #required()} bytes, or call HEAD first.
 */
public final class BufferTooSmallException extends RingblocksException
{
    /** The block's length. */
    private final int required;
    /** The buffer's remaining space. */
    private final int available;

    BufferTooSmallException(final String message, final int required, final int available)
    {
        super(message, null);
        this.required = required;
        this.available = available;
    }

    /**
     * @return the block's length: the remaining space the buffer would have needed.
     */
    public int required()
    {
        return required;
    }

    /**
     * @return the remaining space the buffer had.
     */
    public int available()
    {
        return available;
    }
}
