package io.ringblocks.storage;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/**
 * One wording for file errors in messages: the cause an operator can act on, with its errno name where the JDK's
 * exception implies one. {@code e.getMessage()} of an {@link AccessDeniedException} is only the path, which turned a
 * permission problem into "damaged".
 */
final class IoErrors
{
    private IoErrors()
    {
    }

    /** @return why {@code e} happened, e.g. "permission denied (EACCES)" or "Read-only file system". */
    static String describe(final IOException e)
    {
        if (e instanceof AccessDeniedException)
        {
            return "permission denied (EACCES)";
        }
        if (e instanceof NoSuchFileException)
        {
            return "no such file (ENOENT)";
        }
        if (e instanceof FileSystemException f && f.getReason() != null)
        {
            return f.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }
}
