/**
 * Java client for the ringblocks content-addressed block store: plain JDK, no dependencies, speaking protocol
 * version 1 over TCP.
 * <p>
 * Three entry points share one set of semantics: {@link io.ringblocks.client.BlockClient} (blocking, one
 * connection), {@link io.ringblocks.client.AsyncBlockClient} (futures, requests pipelined over one connection and
 * matched by id) and {@link io.ringblocks.client.BlockClientPool} (several connections for many threads, both
 * styles). All are thread-safe and configured by {@link io.ringblocks.client.ClientOptions}. Blocks are addressed
 * by {@link io.ringblocks.client.Hash}, the SHA-256 of their content; full GETs are verified against it by default.
 * Failures are unchecked subclasses of {@link io.ringblocks.client.RingblocksException}.
 * <p>
 * {@link io.ringblocks.client.ClusterClient} offers the same operations over a cluster of servers: blocks placed
 * by weighted rendezvous hashing ({@link io.ringblocks.client.Placement}) over a
 * {@link io.ringblocks.client.MemberList}, replicated on several owners, with fallback and read repair
 * (docs/cluster.md).
 * <pre>{@code
 * ClientOptions options = ClientOptions.builder().host("127.0.0.1").port(10100).build();
 * try (BlockClientPool pool = BlockClientPool.connect(options))
 * {
 *     Hash hash = pool.put("hello".getBytes(StandardCharsets.UTF_8));
 *     byte[] same = pool.get(hash);                       // throws IntegrityException if corrupted
 *     OptionalInt length = pool.head(hash);               // OptionalInt[5]
 *     CompletableFuture<byte[]> ell = pool.async().getRange(hash, 1, 3);
 *     try
 *     {
 *         pool.get(Hash.fromHex("00".repeat(32)));
 *     }
 *     catch (NotFoundException ex)
 *     {
 *         // no such block
 *     }
 *     boolean removed = pool.delete(hash);                // true; false the second time
 * }
 * }</pre>
 */
package io.ringblocks.client;
