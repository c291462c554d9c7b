package io.ringblocks.server;

/** What the two directions of connection I/O ({@link Receiver}, {@link Sender}) ask of the worker that owns them. */
interface ConnectionEvents
{
    /** Releases a request whose response was sent or dropped. */
    void finishRequest(int r);

    /** Stops reading from {@code c}; {@code broken}: the socket is unusable, queued responses are dropped. */
    void beginClose(int c, boolean broken);

    /** Closes {@code c} if nothing holds it open any more. */
    void tryFinishClose(int c);
}
