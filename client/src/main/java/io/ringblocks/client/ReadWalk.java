package io.ringblocks.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.Predicate;

/**
 * One read (GET, HEAD, ranged GET) walking a block's candidates in order — the current owners, then owners under
 * the previous member list — until one has the block. A miss (NOT_FOUND, CORRUPT, a block that failed the client's
 * hash check, an empty HEAD) or a failure moves on to the next candidate, on the cluster's executor so that a
 * reconnect never blocks a connection's reader thread. Some candidates are current owners: the walk reports which of
 * them missed, for read repair, and answers "not found" only when every one of
 * them was asked and missed; otherwise a walk that found nothing fails with a {@link ClusterException}.
 *
 * @param <T> the read's result.
 */
final class ReadWalk<T>
{
    /** What the walk reports when it found the block. */
    interface Found<T>
    {
        /** @param missed the current owners that answered without the block (repair candidates). */
        void found(T value, List<ClusterNode> missed);
    }

    private final String what;
    private final List<ClusterNode> candidates;
    private final boolean[] current;
    private final int currentOwners;
    private final BiFunction<AsyncBlockOperations, Integer, CompletableFuture<T>> request;
    private final Predicate<T> isMiss;
    private final Executor executor;
    private final CompletableFuture<T> result = new CompletableFuture<>();
    private final Map<String, RingblocksException> failures = new LinkedHashMap<>();
    private final List<ClusterNode> missed = new ArrayList<>();
    private final Found<T> onFound;
    private RingblocksException firstMiss;
    private int currentMisses;

    /**
     * @param current which candidates are current owners (the others are previous owners).
     * @param request issues the read to one member (the Integer is the candidate's index).
     * @param isMiss  a successful answer that still means "not here" (an empty HEAD), or null.
     * @param onFound called once with the value and the owners that missed, before the future completes.
     */
    ReadWalk(final String what, final List<ClusterNode> candidates, final boolean[] current,
        final BiFunction<AsyncBlockOperations, Integer, CompletableFuture<T>> request,
        final Predicate<T> isMiss, final Found<T> onFound, final Executor executor)
    {
        this.what = what;
        this.candidates = candidates;
        this.current = current;
        int owners = 0;
        for (final boolean c : current)
        {
            owners += c ? 1 : 0;
        }
        this.currentOwners = owners;
        this.request = request;
        this.isMiss = isMiss;
        this.onFound = onFound;
        this.executor = executor;
    }

    CompletableFuture<T> start()
    {
        attempt(0);
        return result;
    }

    private void attempt(final int i)
    {
        if (i == candidates.size())
        {
            finish();
            return;
        }
        final ClusterNode node = candidates.get(i);
        if (!node.connected())
        {
            // Never reached: nothing to record (the background probe connects it), just move on.
            failures.put(node.address(), new ConnectionLostException("member " + node.address() +
                " is not connected: " + node.state().lastError(), null));
            attempt(i + 1);
            return;
        }
        final CompletableFuture<T> answer;
        final long sent = System.nanoTime();
        try
        {
            answer = request.apply(node.async(), i);
        }
        catch (final IllegalArgumentException | NullPointerException | IllegalStateException e)
        {
            result.completeExceptionally(e); // the caller's mistake, or a closed client: the same on every member
            return;
        }
        answer.whenComplete((value, failure) ->
        {
            try
            {
                onAnswer(i, node, sent, value, failure);
            }
            catch (final RuntimeException | Error e)
            {
                result.completeExceptionally(e); // e.g. the executor refused after close: never leave it hanging
            }
        });
    }

    private void onAnswer(final int i, final ClusterNode node, final long sent, final T value,
        final Throwable failure)
    {
        final Throwable f = failure == null ? null : QuorumWrite.asRingblocks(failure);
        node.record(sent, f);
        if (f instanceof BadRangeException || f instanceof BadRequestException)
        {
            result.completeExceptionally(f); // a definite answer about the request, not about this member
            return;
        }
        final boolean miss = f == null ? isMiss != null && isMiss.test(value) :
            f instanceof NotFoundException || f instanceof CorruptBlockException || f instanceof IntegrityException;
        if (f == null && !miss)
        {
            result.complete(value);
            if (onFound != null)
            {
                onFound.found(value, missed);
            }
            return;
        }
        if (miss)
        {
            if (current[i])
            {
                // A PUT repairs a missing or CORRUPT-flagged copy; one that failed the client's hash check is not
                // flagged by its server, which would answer the PUT from deduplication.
                if (!(f instanceof IntegrityException))
                {
                    missed.add(node);
                }
                currentMisses++;
            }
            if (firstMiss == null && f instanceof NotFoundException nf)
            {
                firstMiss = nf;
            }
            if (f != null && !(f instanceof NotFoundException))
            {
                failures.put(node.address(), (RingblocksException)f);
            }
        }
        else
        {
            failures.put(node.address(), (RingblocksException)f);
        }
        executor.execute(() -> attempt(i + 1));
    }

    private void finish()
    {
        if (currentMisses == currentOwners && failures.isEmpty())
        {
            if (isMiss != null)
            {
                result.complete(null); // the caller maps "nobody has it" for HEAD
                return;
            }
            result.completeExceptionally(firstMiss != null ? firstMiss :
                new NotFoundException(what + ": no owner has the block"));
            return;
        }
        if (currentMisses == currentOwners && isMiss == null && failures.values().stream()
            .allMatch(e -> e instanceof CorruptBlockException || e instanceof IntegrityException))
        {
            // Every owner answered, and every copy is bad: the owners' own answer, not a cluster failure.
            result.completeExceptionally(failures.values().iterator().next());
            return;
        }
        result.completeExceptionally(new ClusterException(what + " found no copy (" + currentMisses + " of " +
            currentOwners + " owners answered without it)", failures));
    }
}
