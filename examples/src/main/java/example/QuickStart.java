package example;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalInt;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.Hash;

/** Stores a block, reads it back, asks for its length, finds it listed as present, deletes it. */
public final class QuickStart
{
    public static void main(final String[] args)
    {
        final String host = args.length > 0 ? args[0] : "127.0.0.1";
        final int port = args.length > 1 ? Integer.parseInt(args[1]) : 10100;
        try (BlockClient client = BlockClient.connect(host, port))
        {
            final byte[] block = "hello from the ringblocks example".getBytes(StandardCharsets.UTF_8);
            final Hash hash = client.put(block);
            System.out.println("put " + hash);
            System.out.println("get " + new String(client.get(hash), StandardCharsets.UTF_8));
            final OptionalInt length = client.head(hash);
            System.out.println("head " + length.orElse(-1));
            final List<Hash> missing = client.findMissing(List.of(hash));
            System.out.println("missing " + missing.size());
            System.out.println("delete " + client.delete(hash));
        }
    }
}
