/*
 * The device floor under a durable PUT: what one 4 KiB block costs this disk before any server code runs.
 * Usage: durable_floor DIR [ROUNDS]   (make floor DIR=...). Writes scratch files in DIR (2 x 64 MiB), removes them.
 *
 * Each shape is what one batch of the committer could do: the block and the log record written together (today),
 * one after the other, or as one write (the block inside the log record: a deferred write), then one flush; both
 * written with RWF_DSYNC instead of a flush; everything in one submit (a drained fsync, or the block linked to a
 * RWF_DSYNC record); and what Redis's `appendfsync always` pays for the same 4 KiB.
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SPAN (64L << 20)

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static int open_zeroed(const char *dir, const char *name, void *zeros, char *path)
{
    snprintf(path, 4096, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
    if (fd < 0) { perror(path); exit(1); }
    for (long off = 0; off < SPAN; off += 1 << 20)
    {
        if (pwrite(fd, zeros, 1 << 20, off) != 1 << 20) { perror("pwrite"); exit(1); }
    }
    fsync(fd);
    return fd;
}

static void must(long r, const char *what)
{
    if (r < 0) { perror(what); exit(1); }
}

/* Submits what is prepared and waits for n completions, each of which must have succeeded. */
static void submit_and_reap(struct io_uring *ring, int n, const char *what)
{
    struct io_uring_cqe *cqe;
    must(io_uring_submit_and_wait(ring, n), "io_uring_submit_and_wait");
    for (int k = 0; k < n; k++)
    {
        must(io_uring_wait_cqe(ring, &cqe), "io_uring_wait_cqe");
        must(cqe->res, what);
        io_uring_cqe_seen(ring, cqe);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: durable_floor DIR [ROUNDS]\n"); return 2; }
    int rounds = argc > 2 ? atoi(argv[2]) : 2000;
    void *buf;
    if (posix_memalign(&buf, 4096, 1 << 20)) { return 1; }
    memset(buf, 0, 1 << 20);
    char pa[4096], pb[4096];
    int data = open_zeroed(argv[1], "floor-data", buf, pa), wal = open_zeroed(argv[1], "floor-wal", buf, pb);
    memset(buf, 7, 1 << 20);
    // Redis's log: buffered, appended, so each flush also commits the file's new size.
    char pc[4096];
    snprintf(pc, sizeof pc, "%s/floor-aof", argv[1]);
    int aof = open(pc, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    must(aof, pc);
    struct io_uring ring;
    must(io_uring_queue_init(8, &ring, 0), "io_uring_queue_init");
    const char *names[] = {
        "4 KiB block + 4 KiB record together, fdatasync",
        "4 KiB block, then 4 KiB record, fdatasync",
        "one 8 KiB write (record holding the block), fdatasync",
        "one 4 KiB write, fdatasync",
        "one 8 KiB write, RWF_DSYNC",
        "4 KiB buffered append, fdatasync (Redis appendfsync always)",
        "4 KiB block + 4 KiB record together, each RWF_DSYNC",
        "block + record, then a drained fsync: one submit, one wait",
        "block, linked to the record with RWF_DSYNC: one submit"};
    long *t = malloc(sizeof(long) * rounds);
    for (int shape = 0; shape < 9; shape++)
    {
        for (int i = 0; i < rounds; i++)
        {
            long off = ((long)i * 8192) % SPAN, start = now_ns();
            struct iovec v = {buf, 8192};
            switch (shape)
            {
            case 0:
            {
                io_uring_prep_write(io_uring_get_sqe(&ring), data, buf, 4096, off);
                io_uring_prep_write(io_uring_get_sqe(&ring), wal, buf, 4096, off);
                submit_and_reap(&ring, 2, "write");
                must(fdatasync(data), "fdatasync");
                break;
            }
            case 1:
                must(pwrite(data, buf, 4096, off), "pwrite");
                must(pwrite(wal, buf, 4096, off), "pwrite");
                must(fdatasync(data), "fdatasync");
                break;
            case 2:
                must(pwrite(wal, buf, 8192, off), "pwrite");
                must(fdatasync(wal), "fdatasync");
                break;
            case 3:
                must(pwrite(wal, buf, 4096, off), "pwrite");
                must(fdatasync(wal), "fdatasync");
                break;
            case 4:
                must(pwritev2(wal, &v, 1, off, RWF_DSYNC), "pwritev2");
                break;
            case 6:
            {
                // Each write carries its own durability (FUA, or a flush where the device has none): no fdatasync.
                struct io_uring_sqe *a = io_uring_get_sqe(&ring), *b;
                io_uring_prep_write(a, data, buf, 4096, off);
                a->rw_flags = RWF_DSYNC;
                b = io_uring_get_sqe(&ring);
                io_uring_prep_write(b, wal, buf, 4096, off);
                b->rw_flags = RWF_DSYNC;
                submit_and_reap(&ring, 2, "write");
                break;
            }
            case 7:
            {
                // One enter and one wake-up for the whole batch: the fsync waits for both writes (IOSQE_IO_DRAIN).
                io_uring_prep_write(io_uring_get_sqe(&ring), data, buf, 4096, off);
                io_uring_prep_write(io_uring_get_sqe(&ring), wal, buf, 4096, off);
                struct io_uring_sqe *f = io_uring_get_sqe(&ring);
                io_uring_prep_fsync(f, wal, IORING_FSYNC_DATASYNC);
                f->flags |= IOSQE_IO_DRAIN;
                submit_and_reap(&ring, 3, "write/fsync");
                break;
            }
            case 8:
            {
                // The record's own flush covers the block, which completed before the record was issued.
                struct io_uring_sqe *a = io_uring_get_sqe(&ring), *b;
                io_uring_prep_write(a, data, buf, 4096, off);
                a->flags |= IOSQE_IO_LINK;
                b = io_uring_get_sqe(&ring);
                io_uring_prep_write(b, wal, buf, 4096, off);
                b->rw_flags = RWF_DSYNC;
                submit_and_reap(&ring, 2, "write");
                break;
            }
            default:
                must(write(aof, buf, 4096), "write");
                must(fdatasync(aof), "fdatasync");
            }
            t[i] = now_ns() - start;
        }
        qsort(t, rounds, sizeof(long), by_value);
        printf("%-55s p50 %4ld  p90 %4ld  p99 %5ld us\n", names[shape], t[rounds / 2] / 1000,
            t[rounds * 9 / 10] / 1000, t[rounds * 99 / 100] / 1000);
    }
    unlink(pa);
    unlink(pb);
    unlink(pc);
    return 0;
}
