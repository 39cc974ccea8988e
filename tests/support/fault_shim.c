/* LD_PRELOAD fault injection for the tests: writes to files whose path contains
 * $KILN_FAULT_MATCH fail with $KILN_FAULT_ERRNO (ENOSPC or EIO) once $KILN_FAULT_AFTER bytes
 * (default 0) went through; with EIO, fsync of such files fails too. With
 * $KILN_FAULT_RENAME=1 only renames onto such a path fail instead (the last step of an
 * atomic write), every write succeeding. Stands for a full or failing disk without needing
 * root or a small tmpfs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FDS 4096
static char g_marked[MAX_FDS];
static size_t g_written[MAX_FDS];

static int fault_errno(void) {
  const char* e = getenv("KILN_FAULT_ERRNO");
  return e && strcmp(e, "EIO") == 0 ? EIO : ENOSPC;
}

static int matches(const char* path) {
  const char* match = getenv("KILN_FAULT_MATCH");
  return match && *match && path && strstr(path, match) != NULL;
}

static int renames_fail(void) {
  const char* r = getenv("KILN_FAULT_RENAME");
  return r && strcmp(r, "1") == 0;
}

static void mark(int fd, const char* path) {
  if (fd < 0 || fd >= MAX_FDS) return;
  g_marked[fd] = !renames_fail() && matches(path);
  g_written[fd] = 0;
}

#define OPEN_WRAPPER(name, ...)                                             \
  int name(__VA_ARGS__, int flags, ...) {                                   \
    static int (*real)() = NULL;                                            \
    if (!real) real = (int (*)())dlsym(RTLD_NEXT, #name);                   \
    mode_t mode = 0;                                                        \
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {                                  \
      va_list ap;                                                           \
      va_start(ap, flags);                                                  \
      mode = va_arg(ap, mode_t);                                            \
      va_end(ap);                                                           \
    }                                                                       \
    int fd = OPEN_CALL;                                                     \
    mark(fd, path);                                                         \
    return fd;                                                              \
  }

#define OPEN_CALL real(path, flags, mode)
OPEN_WRAPPER(open, const char* path)
OPEN_WRAPPER(open64, const char* path)
#undef OPEN_CALL
#define OPEN_CALL real(dirfd, path, flags, mode)
OPEN_WRAPPER(openat, int dirfd, const char* path)
OPEN_WRAPPER(openat64, int dirfd, const char* path)
#undef OPEN_CALL

ssize_t write(int fd, const void* buf, size_t n) {
  static ssize_t (*real)(int, const void*, size_t) = NULL;
  if (!real) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  if (fd >= 0 && fd < MAX_FDS && g_marked[fd]) {
    const char* after = getenv("KILN_FAULT_AFTER");
    size_t limit = after ? (size_t)strtoull(after, NULL, 10) : 0;
    if (g_written[fd] >= limit) {
      errno = fault_errno();
      return -1;
    }
    if (n > limit - g_written[fd]) n = limit - g_written[fd];
    ssize_t r = real(fd, buf, n);
    if (r > 0) g_written[fd] += (size_t)r;
    return r;
  }
  return real(fd, buf, n);
}

int fsync(int fd) {
  static int (*real)(int) = NULL;
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (fd >= 0 && fd < MAX_FDS && g_marked[fd] && fault_errno() == EIO) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

#define RENAME_WRAPPER(name, params, args, to)                            \
  int name params {                                                       \
    static int (*real)() = NULL;                                          \
    if (!real) real = (int (*)())dlsym(RTLD_NEXT, #name);                 \
    if (renames_fail() && matches(to)) {                                  \
      errno = fault_errno();                                              \
      return -1;                                                          \
    }                                                                     \
    return real args;                                                     \
  }

RENAME_WRAPPER(rename, (const char* from, const char* to), (from, to), to)
RENAME_WRAPPER(renameat, (int fromfd, const char* from, int tofd, const char* to), (fromfd, from, tofd, to), to)
RENAME_WRAPPER(renameat2, (int fromfd, const char* from, int tofd, const char* to, unsigned flags),
               (fromfd, from, tofd, to, flags), to)
