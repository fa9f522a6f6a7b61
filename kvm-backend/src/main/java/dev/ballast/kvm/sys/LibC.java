package dev.ballast.kvm.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The C library calls the VMM needs, through {@code java.lang.foreign}. Every call that sets
 * errno captures it ({@code captureCallState("errno")}) into a segment owned by the calling
 * thread, so vCPU threads can make calls concurrently; a failure becomes a
 * {@link NativeException} that names the call.
 */
public final class LibC {
    public static final int O_RDWR = 0x2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_NONBLOCK = 0x800;

    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MADV_DONTNEED = 4;
    public static final int MSG_DONTWAIT = 0x40;
    public static final short POLLIN = 0x1;
    public static final int F_DUPFD_CLOEXEC = 1030;
    /** Linux 5.14+: fault the range in, writable, as a write would (EINVAL on older kernels). */
    public static final int MADV_POPULATE_WRITE = 23;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /** One errno segment per thread: vCPU threads call concurrently. Freed with its thread. */
    private static final ThreadLocal<MemorySegment> CAPTURE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    // int open(const char *path, int flags, ...)
    private static final MethodHandle OPEN = downcall(
            "open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
            CAPTURE_ERRNO,
            Linker.Option.firstVariadicArg(2));
    // int close(int fd)
    private static final MethodHandle CLOSE =
            downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    // int ioctl(int fd, unsigned long request, ...) with a pointer argument
    private static final MethodHandle IOCTL_PTR = downcall(
            "ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            CAPTURE_ERRNO,
            Linker.Option.firstVariadicArg(2));
    // int ioctl(int fd, unsigned long request, ...) with an integer argument
    private static final MethodHandle IOCTL_LONG = downcall(
            "ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
            CAPTURE_ERRNO,
            Linker.Option.firstVariadicArg(2));
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
    private static final MethodHandle MMAP = downcall(
            "mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG),
            CAPTURE_ERRNO);
    // int munmap(void *addr, size_t length)
    private static final MethodHandle MUNMAP =
            downcall("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
    // int madvise(void *addr, size_t length, int advice)
    private static final MethodHandle MADVISE =
            downcall("madvise", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
    // int mincore(void *addr, size_t length, unsigned char *vec)
    private static final MethodHandle MINCORE =
            downcall("mincore", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS), CAPTURE_ERRNO);
    // pthread_t pthread_self(void)
    private static final MethodHandle PTHREAD_SELF = downcall("pthread_self", FunctionDescriptor.of(JAVA_LONG));
    // int pthread_kill(pthread_t thread, int sig): returns an error number, does not set errno
    private static final MethodHandle PTHREAD_KILL =
            downcall("pthread_kill", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
    // int setsockopt(int fd, int level, int name, const void *value, socklen_t length)
    private static final MethodHandle SETSOCKOPT = downcall(
            "setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT),
            CAPTURE_ERRNO);
    // ssize_t recv(int fd, void *buf, size_t length, int flags)
    private static final MethodHandle RECV =
            downcall("recv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
    // int poll(struct pollfd *fds, nfds_t n, int timeout)
    private static final MethodHandle POLL =
            downcall("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
    // int fcntl(int fd, int cmd, ...) with an integer argument
    private static final MethodHandle FCNTL = downcall(
            "fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            CAPTURE_ERRNO,
            Linker.Option.firstVariadicArg(2));
    // pid_t gettid(void)
    private static final MethodHandle GETTID = downcall("gettid", FunctionDescriptor.of(JAVA_INT));
    // ssize_t read(int fd, void *buf, size_t count)
    private static final MethodHandle READ =
            downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
    // long syscall(long number, ...) with one integer argument
    private static final MethodHandle SYSCALL1 = downcall(
            "syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG),
            CAPTURE_ERRNO,
            Linker.Option.firstVariadicArg(1));
    // void *memcpy(void *dst, const void *src, size_t n)
    private static final MethodHandle MEMCPY =
            downcall("memcpy", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));

    /** Eight bytes per thread for the small structures passed by pointer (an int option, a pollfd). */
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(8, 8));

    private static final MemorySegment MAP_FAILED = MemorySegment.ofAddress(-1L);

    private LibC() {}

    @SuppressWarnings("restricted") // native access is the point of this class; tests and launcher enable it
    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol =
                LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("C library function not found: " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    private static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** {@code open(path, flags)}; returns the fd. */
    public static int open(String path, int flags) {
        MemorySegment capture = CAPTURE.get();
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = (int) OPEN.invokeExact(capture, arena.allocateFrom(path), flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (fd < 0) {
            throw new NativeException("open(" + path + ")", errno(capture));
        }
        return fd;
    }

    /** {@code setsockopt(fd, level, name, &value, sizeof(int))}. */
    public static void setsockoptInt(int fd, int level, int name, int value) {
        MemorySegment capture = CAPTURE.get();
        MemorySegment scratch = SCRATCH.get();
        scratch.set(JAVA_INT, 0, value);
        int r;
        try {
            r = (int) SETSOCKOPT.invokeExact(capture, fd, level, name, scratch, 4);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) {
            throw new NativeException(
                    "setsockopt(" + fd + ", " + level + ", " + name + ", " + value + ")", errno(capture));
        }
    }

    /**
     * {@code recv(fd, into, into.byteSize(), MSG_DONTWAIT)}: the bytes read, 0 at the end of the
     * stream, or minus the errno ({@code -EAGAIN}: nothing to read now).
     */
    public static long recvNow(int fd, MemorySegment into) {
        MemorySegment capture = CAPTURE.get();
        long r;
        try {
            r = (long) RECV.invokeExact(capture, fd, into, into.byteSize(), MSG_DONTWAIT);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return r >= 0 ? r : -errno(capture);
    }

    /**
     * {@code poll} on one descriptor for {@code events}: the events that occurred, 0 when the
     * timeout passed or a signal interrupted the wait.
     */
    public static int poll(int fd, short events, int timeoutMs) {
        MemorySegment capture = CAPTURE.get();
        MemorySegment pfd = SCRATCH.get();
        pfd.set(JAVA_INT, 0, fd);
        pfd.set(JAVA_SHORT, 4, events);
        pfd.set(JAVA_SHORT, 6, (short) 0);
        int r;
        try {
            r = (int) POLL.invokeExact(capture, pfd, 1L, timeoutMs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) {
            int e = errno(capture);
            if (e == Errno.EINTR) return 0;
            throw new NativeException("poll(" + fd + ")", e);
        }
        return r == 0 ? 0 : pfd.get(JAVA_SHORT, 6);
    }

    /** {@code read(fd, into, into.byteSize())}: the bytes read, or minus the errno ({@code -EAGAIN}: nothing now). */
    public static long read(int fd, MemorySegment into) {
        MemorySegment capture = CAPTURE.get();
        long r;
        try {
            r = (long) READ.invokeExact(capture, fd, into, into.byteSize());
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return r >= 0 ? r : -errno(capture);
    }

    /** {@code syscall(number, arg)}: its result, or minus the errno. */
    public static long syscall(long number, long arg) {
        MemorySegment capture = CAPTURE.get();
        long r;
        try {
            r = (long) SYSCALL1.invokeExact(capture, number, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return r >= 0 ? r : -errno(capture);
    }

    /**
     * {@code memcpy(dst, src, dst.byteSize())} in C: the calling thread is in native code while it
     * copies, so a page fault that blocks it (a {@code userfaultfd} range) does not hold up the
     * JVM's safepoints the way a fault in Java code would. Both segments must be native.
     */
    public static void copyNative(MemorySegment dst, MemorySegment src) {
        if (src.byteSize() < dst.byteSize()) {
            throw new IllegalArgumentException("source shorter than destination");
        }
        try {
            MemorySegment unused = (MemorySegment) MEMCPY.invokeExact(dst, src, dst.byteSize());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code dup(fd)}; returns the new descriptor (close-on-exec). */
    public static int dupCloseOnExec(int fd) {
        MemorySegment capture = CAPTURE.get();
        int r;
        try {
            r = (int) FCNTL.invokeExact(capture, fd, F_DUPFD_CLOEXEC, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) {
            throw new NativeException("fcntl(" + fd + ", F_DUPFD_CLOEXEC)", errno(capture));
        }
        return r;
    }

    /** {@code close(fd)}. */
    public static void close(int fd) {
        MemorySegment capture = CAPTURE.get();
        int rc;
        try {
            rc = (int) CLOSE.invokeExact(capture, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException("close(" + fd + ")", errno(capture));
        }
    }

    /** {@code ioctl(fd, request, arg)} with a pointer; returns its non-negative result. */
    public static int ioctl(int fd, KvmIoctls.Request request, MemorySegment arg) {
        int rc = ioctlOrErrno(fd, request, arg);
        if (rc < 0) {
            throw new NativeException(request.name(), -rc);
        }
        return rc;
    }

    /** {@code ioctl(fd, request, arg)} with an integer; returns its non-negative result. */
    public static int ioctl(int fd, KvmIoctls.Request request, long arg) {
        int rc = ioctlOrErrno(fd, request, arg);
        if (rc < 0) {
            throw new NativeException(request.name(), -rc);
        }
        return rc;
    }

    /** {@code ioctl(fd, request, arg)}; returns its result, or {@code -errno} when it failed. */
    public static int ioctlOrErrno(int fd, KvmIoctls.Request request, MemorySegment arg) {
        MemorySegment capture = CAPTURE.get();
        int rc;
        try {
            rc = (int) IOCTL_PTR.invokeExact(capture, fd, request.number(), arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return rc < 0 ? -errno(capture) : rc;
    }

    /** {@code ioctl(fd, request, arg)}; returns its result, or {@code -errno} when it failed. */
    public static int ioctlOrErrno(int fd, KvmIoctls.Request request, long arg) {
        MemorySegment capture = CAPTURE.get();
        int rc;
        try {
            rc = (int) IOCTL_LONG.invokeExact(capture, fd, request.number(), arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return rc < 0 ? -errno(capture) : rc;
    }

    /**
     * {@code mmap}; the mapping is owned by {@code arena}: it is unmapped when the arena closes.
     *
     * @param what names the mapping in an error message
     */
    @SuppressWarnings("restricted")
    public static MemorySegment mmap(String what, long length, int prot, int flags, int fd, long offset, Arena arena) {
        MemorySegment capture = CAPTURE.get();
        MemorySegment addr;
        try {
            addr = (MemorySegment) MMAP.invokeExact(capture, MemorySegment.NULL, length, prot, flags, fd, offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (addr.equals(MAP_FAILED)) {
            throw new NativeException("mmap(" + what + ", " + length + " bytes)", errno(capture));
        }
        return addr.reinterpret(length, arena, segment -> munmap(segment));
    }

    /** Anonymous private memory, owned by {@code arena}; pages are allocated by the kernel on first touch. */
    public static MemorySegment mmapAnonymous(String what, long length, Arena arena) {
        return mmap(what, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, arena);
    }

    private static void munmap(MemorySegment segment) {
        MemorySegment capture = CAPTURE.get();
        int rc;
        try {
            rc = (int) MUNMAP.invokeExact(capture, segment, segment.byteSize());
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException("munmap", errno(capture));
        }
    }

    /** {@code madvise(segment, advice)}; the segment must start on a page boundary. */
    public static void madvise(MemorySegment segment, int advice) {
        MemorySegment capture = CAPTURE.get();
        int rc;
        try {
            rc = (int) MADVISE.invokeExact(capture, segment, segment.byteSize(), advice);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException("madvise(" + advice + ")", errno(capture));
        }
    }

    /**
     * {@code mincore(address, length, vec)}: one byte per page of [address, address+length) into {@code vec}, bit 0
     * set when the page is resident. The address is a plain number, so a sampler on another thread never holds
     * the mapping's arena open: a range unmapped meanwhile fails with {@code ENOMEM}.
     */
    public static void mincore(long address, long length, MemorySegment vec) {
        MemorySegment capture = CAPTURE.get();
        int rc;
        try {
            rc = (int) MINCORE.invokeExact(capture, address, length, vec);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException("mincore", errno(capture));
        }
    }

    /** The calling thread's {@code pthread_t}. */
    public static long pthreadSelf() {
        try {
            return (long) PTHREAD_SELF.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The calling thread's kernel thread id. */
    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code pthread_kill(thread, signal)}. */
    public static void pthreadKill(long thread, int signal) {
        int rc;
        try {
            rc = (int) PTHREAD_KILL.invokeExact(thread, signal);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc != 0) {
            throw new NativeException("pthread_kill(" + signal + ")", rc);
        }
    }
}
