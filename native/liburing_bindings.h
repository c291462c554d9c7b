/*
 * The header jextract reads to generate io.ringblocks.ffi (see `make bindings`).
 * liburing 2.3 (Debian 12) exports the ring setup/teardown, submit/enter and
 * registration calls; its SQE/CQE fast-path helpers are static inline and are
 * ported to Java in io.ringblocks.uring (SubmissionQueue, CompletionQueue, Sqe).
 */
#include <liburing.h>
