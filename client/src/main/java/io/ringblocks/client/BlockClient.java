package io.ringblocks.client;

/**
 * A blocking client over one TCP connection. Thread-safe: it is a thin layer over an {@link AsyncBlockClient},
 * so concurrent callers share the connection by pipelining rather than by taking turns; for more throughput than
 * one connection gives, use {@link BlockClientPool}.
 * <pre>{@code
 * try (BlockClient client = BlockClient.connect("127.0.0.1", 7070))
 * {
 *     Hash hash = client.put("hello".getBytes(StandardCharsets.UTF_8));
 *     byte[] back = client.get(hash); // verified against hash
 * }
 * }</pre>
 */
public final class BlockClient extends BlockingOperations
{
    private final AsyncBlockClient async;

    private BlockClient(final AsyncBlockClient async)
    {
        this.async = async;
    }

    /**
     * Connects to a server with default options.
     *
     * @param host server host name or address.
     * @param port server TCP port.
     * @return a connected client.
     * @throws ConnectionLostException if the server cannot be reached within the connect timeout.
     */
    public static BlockClient connect(final String host, final int port)
    {
        return connect(ClientOptions.of(host, port));
    }

    /**
     * Connects to a server.
     *
     * @param options client options.
     * @return a connected client.
     * @throws ConnectionLostException if the server cannot be reached within the connect timeout.
     */
    public static BlockClient connect(final ClientOptions options)
    {
        return new BlockClient(AsyncBlockClient.connect(options));
    }

    /**
     * @return the asynchronous client underneath, sharing this client's connection, for callers that want to
     * pipeline some requests.
     */
    public AsyncBlockClient async()
    {
        return async;
    }

    /**
     * Lists stored blocks a page at a time, see {@link AsyncBlockClient#list}.
     *
     * @param after the previous page's {@link ListPage#next()}, or null for the first page.
     * @param limit entries per page, 1..{@link ListPage#MAX_LIMIT}.
     */
    public ListPage list(final Hash after, final int limit)
    {
        Blocking.checkThread();
        return Blocking.await(async.list(after, limit));
    }

    @Override
    AsyncBlockOperations asyncOperations()
    {
        return async;
    }

    @Override
    public void close()
    {
        async.close();
    }
}
