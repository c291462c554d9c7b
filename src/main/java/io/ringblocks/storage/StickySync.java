package io.ringblocks.storage;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

/**
 * fdatasync of one file, serialized and sticky. Linux reports a writeback error to one fdatasync of an open file
 * only (and writeback may have dropped the failed pages): when two threads' calls overlap, the one that did not see
 * the error would return 0 for data that never reached the device, and a retry after a failure would succeed
 * without the data. So calls take turns, and once one failed every later one fails the same way, until a restart
 * recovers from what is really on the device.
 */
final class StickySync
{
    /** The first failure's -errno, returned by every later call; 0 while none failed. */
    private int error;

    /** @return 0 or -errno (this call's, or the first failure's). */
    synchronized int sync(final int fd)
    {
        if (error < 0)
        {
            return error;
        }
        int rc;
        do
        {
            rc = LibC.fdatasync(fd);
        }
        while (rc == -Errno.EINTR);
        if (rc < 0)
        {
            error = rc;
        }
        return rc;
    }
}
