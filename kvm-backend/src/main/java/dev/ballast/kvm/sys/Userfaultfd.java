package dev.ballast.kvm.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.List;

/**
 * A {@code userfaultfd} through {@code java.lang.foreign}: the missing pages of a registered range
 * block whoever touches them (a host thread, or KVM on behalf of a vCPU) until this process places
 * them with {@link #copy} or {@link #zeroPage}. Layouts and numbers from
 * {@code <linux/userfaultfd.h>} ({@code UffdLayoutsTest} checks them against gcc).
 *
 * <p>Opened through {@code /dev/userfaultfd} ({@code USERFAULTFD_IOC_NEW}, Linux 6.1+), which
 * needs only access to that node, or else the {@code userfaultfd} system call. Neither asks for
 * {@code UFFD_USER_MODE_ONLY}: KVM touches guest memory from the kernel, and a user-mode-only
 * descriptor turns those faults into {@code EFAULT}. The descriptor is non-blocking; one thread
 * reads its messages ({@link #awaitFaults}), any thread may place pages.
 */
public final class Userfaultfd implements AutoCloseable {
    public static final String DEVICE = "/dev/userfaultfd";
    /** {@code __NR_userfaultfd} on x86-64. */
    public static final long SYS_USERFAULTFD = 323;

    public static final long UFFD_API = 0xAA;
    public static final long UFFD_USER_MODE_ONLY = 1;
    public static final long UFFD_FEATURE_THREAD_ID = 1L << 8;
    public static final long UFFDIO_REGISTER_MODE_MISSING = 1L;
    public static final long UFFDIO_COPY_MODE_DONTWAKE = 1L;
    public static final long UFFDIO_ZEROPAGE_MODE_DONTWAKE = 1L;
    public static final int UFFD_EVENT_PAGEFAULT = 0x12;
    public static final long UFFD_PAGEFAULT_FLAG_WRITE = 1L;
    /** Bits of the {@code ioctls} answers: {@code 1 << _UFFDIO_*}. */
    public static final int _UFFDIO_REGISTER = 0x00;

    public static final int _UFFDIO_UNREGISTER = 0x01;
    public static final int _UFFDIO_WAKE = 0x02;
    public static final int _UFFDIO_COPY = 0x03;
    public static final int _UFFDIO_ZEROPAGE = 0x04;
    public static final int _UFFDIO_API = 0x3F;

    /** {@code _IO(0xAA, 0x00)} on {@code /dev/userfaultfd}: returns a new userfaultfd. */
    public static final KvmIoctls.Request USERFAULTFD_IOC_NEW = new KvmIoctls.Request("USERFAULTFD_IOC_NEW", 0xAA00L);
    /** {@code _IOWR(0xAA, 0x3F, struct uffdio_api)} */
    public static final KvmIoctls.Request UFFDIO_API = new KvmIoctls.Request("UFFDIO_API", 0xC018AA3FL);
    /** {@code _IOWR(0xAA, 0x00, struct uffdio_register)} */
    public static final KvmIoctls.Request UFFDIO_REGISTER = new KvmIoctls.Request("UFFDIO_REGISTER", 0xC020AA00L);
    /** {@code _IOR(0xAA, 0x01, struct uffdio_range)} */
    public static final KvmIoctls.Request UFFDIO_UNREGISTER = new KvmIoctls.Request("UFFDIO_UNREGISTER", 0x8010AA01L);
    /** {@code _IOR(0xAA, 0x02, struct uffdio_range)} */
    public static final KvmIoctls.Request UFFDIO_WAKE = new KvmIoctls.Request("UFFDIO_WAKE", 0x8010AA02L);
    /** {@code _IOWR(0xAA, 0x03, struct uffdio_copy)} */
    public static final KvmIoctls.Request UFFDIO_COPY = new KvmIoctls.Request("UFFDIO_COPY", 0xC028AA03L);
    /** {@code _IOWR(0xAA, 0x04, struct uffdio_zeropage)} */
    public static final KvmIoctls.Request UFFDIO_ZEROPAGE = new KvmIoctls.Request("UFFDIO_ZEROPAGE", 0xC020AA04L);

    public static final List<KvmIoctls.Request> REQUESTS = List.of(
            USERFAULTFD_IOC_NEW,
            UFFDIO_API,
            UFFDIO_REGISTER,
            UFFDIO_UNREGISTER,
            UFFDIO_WAKE,
            UFFDIO_COPY,
            UFFDIO_ZEROPAGE);

    private static MemoryLayout u64(String name) {
        return JAVA_LONG.withName(name);
    }

    /** {@code struct uffdio_api} */
    public static final StructLayout UFFDIO_API_LAYOUT = MemoryLayout.structLayout(
                    u64("api"), u64("features"), u64("ioctls"))
            .withName("uffdio_api");
    /** {@code struct uffdio_range} */
    public static final StructLayout UFFDIO_RANGE_LAYOUT =
            MemoryLayout.structLayout(u64("start"), u64("len")).withName("uffdio_range");
    /** {@code struct uffdio_register} */
    public static final StructLayout UFFDIO_REGISTER_LAYOUT = MemoryLayout.structLayout(
                    UFFDIO_RANGE_LAYOUT.withName("range"), u64("mode"), u64("ioctls"))
            .withName("uffdio_register");
    /** {@code struct uffdio_copy} */
    public static final StructLayout UFFDIO_COPY_LAYOUT = MemoryLayout.structLayout(
                    u64("dst"), u64("src"), u64("len"), u64("mode"), u64("copy"))
            .withName("uffdio_copy");
    /** {@code struct uffdio_zeropage} */
    public static final StructLayout UFFDIO_ZEROPAGE_LAYOUT = MemoryLayout.structLayout(
                    UFFDIO_RANGE_LAYOUT.withName("range"), u64("mode"), u64("zeropage"))
            .withName("uffdio_zeropage");
    /** {@code struct uffd_msg} (packed), with only the page-fault member of its {@code arg} union. */
    public static final StructLayout UFFD_MSG_LAYOUT = MemoryLayout.structLayout(
                    JAVA_BYTE.withName("event"),
                    JAVA_BYTE.withName("reserved1"),
                    JAVA_SHORT.withName("reserved2"),
                    JAVA_INT.withName("reserved3"),
                    MemoryLayout.structLayout(MemoryLayout.structLayout(
                                            u64("flags"),
                                            u64("address"),
                                            MemoryLayout.structLayout(JAVA_INT.withName("ptid"))
                                                    .withName("feat"),
                                            MemoryLayout.paddingLayout(4))
                                    .withName("pagefault"))
                            .withName("arg"))
            .withName("uffd_msg");

    public static final List<StructLayout> ALL = List.of(
            UFFDIO_API_LAYOUT,
            UFFDIO_RANGE_LAYOUT,
            UFFDIO_REGISTER_LAYOUT,
            UFFDIO_COPY_LAYOUT,
            UFFDIO_ZEROPAGE_LAYOUT,
            UFFD_MSG_LAYOUT);

    private static final long MSG_SIZE = UFFD_MSG_LAYOUT.byteSize();
    private static final long MSG_FLAGS = 8;
    private static final long MSG_ADDRESS = 16;
    private static final long MSG_PTID = 24;
    /** Messages read at once. */
    public static final int BATCH = 64;

    /** Per thread: the argument of a copy, zero page or wake (40 bytes); no allocation per page. */
    private static final ThreadLocal<MemorySegment> ARG =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(UFFDIO_COPY_LAYOUT));

    private final int fd;
    private final String openedBy;
    private final long features;
    private final long ioctls;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment messages;
    private int messageCount;
    private volatile boolean closed;

    private Userfaultfd(int fd, String openedBy, long requestedFeatures) {
        this.fd = fd;
        this.openedBy = openedBy;
        try {
            MemorySegment api = arena.allocate(UFFDIO_API_LAYOUT);
            api.set(JAVA_LONG, 0, UFFD_API);
            api.set(JAVA_LONG, 8, requestedFeatures);
            LibC.ioctl(fd, UFFDIO_API, api);
            this.features = api.get(JAVA_LONG, 8);
            this.ioctls = api.get(JAVA_LONG, 16);
            this.messages = arena.allocate(MSG_SIZE * BATCH, 8);
        } catch (RuntimeException e) {
            arena.close();
            LibC.close(fd);
            throw e;
        }
    }

    /**
     * A new non-blocking userfaultfd with the API handshake done ({@code UFFD_FEATURE_THREAD_ID}
     * asked for: each fault names the thread that took it). {@code /dev/userfaultfd} first; where
     * it is missing or refused, the system call.
     */
    public static Userfaultfd open() {
        int flags = LibC.O_CLOEXEC | LibC.O_NONBLOCK;
        NativeException viaDevice;
        try {
            int dev = LibC.open(DEVICE, LibC.O_RDWR | LibC.O_CLOEXEC);
            try {
                int fd = LibC.ioctl(dev, USERFAULTFD_IOC_NEW, flags);
                return new Userfaultfd(fd, DEVICE, UFFD_FEATURE_THREAD_ID);
            } finally {
                LibC.close(dev);
            }
        } catch (NativeException e) {
            viaDevice = e;
        }
        long fd = LibC.syscall(SYS_USERFAULTFD, flags);
        if (fd < 0) {
            throw new NativeException(
                    "userfaultfd(O_CLOEXEC|O_NONBLOCK)",
                    (int) -fd,
                    "and " + viaDevice.getMessage() + " (as root, or with vm.unprivileged_userfaultfd=1)");
        }
        return new Userfaultfd((int) fd, "userfaultfd(2)", UFFD_FEATURE_THREAD_ID);
    }

    /** How it was opened: {@code /dev/userfaultfd} or {@code userfaultfd(2)}. */
    public String openedBy() {
        return openedBy;
    }

    /** The features the kernel answered to {@code UFFDIO_API}. */
    public long features() {
        return features;
    }

    /** The ioctls the kernel answered to {@code UFFDIO_API} (bit {@code _UFFDIO_*}). */
    public long ioctls() {
        return ioctls;
    }

    public int fd() {
        return fd;
    }

    /**
     * Registers a page-aligned range in {@code UFFDIO_REGISTER_MODE_MISSING}: from now on a touch of
     * a page of it that has none faults to this descriptor. Returns the ioctls the kernel offers on
     * the range; refuses a range where {@code UFFDIO_COPY} or {@code UFFDIO_ZEROPAGE} is not among them.
     */
    public long registerMissing(MemorySegment range) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(UFFDIO_REGISTER_LAYOUT);
            reg.set(JAVA_LONG, 0, range.address());
            reg.set(JAVA_LONG, 8, range.byteSize());
            reg.set(JAVA_LONG, 16, UFFDIO_REGISTER_MODE_MISSING);
            LibC.ioctl(fd, UFFDIO_REGISTER, reg);
            long offered = reg.get(JAVA_LONG, 24);
            long needed = (1L << _UFFDIO_COPY) | (1L << _UFFDIO_ZEROPAGE) | (1L << _UFFDIO_WAKE);
            if ((offered & needed) != needed) {
                unregister(range);
                throw new IllegalStateException("userfaultfd offers ioctls 0x" + Long.toHexString(offered)
                        + " on this range, without UFFDIO_COPY, UFFDIO_ZEROPAGE or UFFDIO_WAKE");
            }
            return offered;
        }
    }

    /** Unregisters a range: its missing pages fault normally again (zero-filled for anonymous memory). */
    public void unregister(MemorySegment range) {
        MemorySegment arg = ARG.get();
        arg.set(JAVA_LONG, 0, range.address());
        arg.set(JAVA_LONG, 8, range.byteSize());
        LibC.ioctl(fd, UFFDIO_UNREGISTER, arg);
    }

    /**
     * Waits up to {@code timeoutMs} (0: not at all; -1: forever) for messages and reads what is
     * there (at most {@link #BATCH}); returns how many, 0 when none came. Read them with
     * {@link #event}, {@link #faultAddress}, {@link #faultFlags}, {@link #faultThread} until the
     * next call. One reading thread.
     */
    public int awaitFaults(int timeoutMs) {
        messageCount = 0;
        if (closed) {
            return 0;
        }
        long n = LibC.read(fd, messages);
        if (n == -Errno.EAGAIN) {
            if (LibC.poll(fd, LibC.POLLIN, timeoutMs) == 0 || closed) {
                return 0;
            }
            n = LibC.read(fd, messages);
        }
        if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
            return 0;
        }
        if (n < 0) {
            throw new NativeException("read(userfaultfd)", (int) -n);
        }
        if (n % MSG_SIZE != 0) {
            throw new IllegalStateException("read(userfaultfd) returned " + n + " bytes, not whole uffd_msg records");
        }
        messageCount = (int) (n / MSG_SIZE);
        return messageCount;
    }

    /** Message {@code i}'s event ({@link #UFFD_EVENT_PAGEFAULT} is the only one registered for). */
    public int event(int i) {
        return messages.get(JAVA_BYTE, check(i) * MSG_SIZE) & 0xFF;
    }

    /** The faulting address of message {@code i} (page-aligned: no {@code UFFD_FEATURE_EXACT_ADDRESS}). */
    public long faultAddress(int i) {
        return messages.get(JAVA_LONG, check(i) * MSG_SIZE + MSG_ADDRESS);
    }

    /** {@code UFFD_PAGEFAULT_FLAG_*} of message {@code i}. */
    public long faultFlags(int i) {
        return messages.get(JAVA_LONG, check(i) * MSG_SIZE + MSG_FLAGS);
    }

    /** The kernel thread id that faulted ({@code UFFD_FEATURE_THREAD_ID}), 0 without the feature. */
    public int faultThread(int i) {
        return messages.get(JAVA_INT, check(i) * MSG_SIZE + MSG_PTID);
    }

    private long check(int i) {
        if (i < 0 || i >= messageCount) {
            throw new IndexOutOfBoundsException("message " + i + " of " + messageCount);
        }
        return i;
    }

    /**
     * {@code UFFDIO_COPY}: places {@code src} (a multiple of the page size, native memory) at
     * {@code dst} and, unless {@code wake} is false, wakes who waits for it. The kernel places page
     * by page and refuses a page that is already there ({@code EEXIST}: a page is placed at most
     * once); this returns the bytes placed from {@code dst} on, up to the first such page (so 0
     * when the first page was there, {@code src.byteSize()} when none was). Retries {@code EAGAIN}
     * (the address space was changing); any other error throws.
     */
    public long copy(long dst, MemorySegment src, boolean wake) {
        MemorySegment arg = ARG.get();
        long len = src.byteSize();
        long done = 0;
        while (done < len) {
            arg.set(JAVA_LONG, 0, dst + done);
            arg.set(JAVA_LONG, 8, src.address() + done);
            arg.set(JAVA_LONG, 16, len - done);
            arg.set(JAVA_LONG, 24, wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE);
            arg.set(JAVA_LONG, 32, 0);
            int rc = LibC.ioctlOrErrno(fd, UFFDIO_COPY, arg);
            if (rc == 0) {
                return len;
            }
            long copied = arg.get(JAVA_LONG, 32);
            if (copied > 0) {
                done += copied; // partial: go on with the rest
                continue;
            }
            int errno = -rc;
            if (errno == Errno.EAGAIN) {
                continue;
            }
            if (errno == Errno.EEXIST) {
                return done;
            }
            throw new NativeException("UFFDIO_COPY", errno, "at 0x" + Long.toHexString(dst + done));
        }
        return done;
    }

    /**
     * {@code UFFDIO_ZEROPAGE}: maps the zero page at {@code [dst, dst+len)} and, unless
     * {@code wake} is false, wakes who waits. False, placing nothing, on {@code EEXIST}.
     */
    public boolean zeroPage(long dst, long len, boolean wake) {
        MemorySegment arg = ARG.get();
        for (; ; ) {
            arg.set(JAVA_LONG, 0, dst);
            arg.set(JAVA_LONG, 8, len);
            arg.set(JAVA_LONG, 16, wake ? 0 : UFFDIO_ZEROPAGE_MODE_DONTWAKE);
            arg.set(JAVA_LONG, 24, 0);
            int rc = LibC.ioctlOrErrno(fd, UFFDIO_ZEROPAGE, arg);
            if (rc == 0) {
                return true;
            }
            int errno = -rc;
            if (errno == Errno.EAGAIN) {
                continue;
            }
            if (errno == Errno.EEXIST) {
                return false;
            }
            throw new NativeException("UFFDIO_ZEROPAGE", errno, "at 0x" + Long.toHexString(dst));
        }
    }

    /** {@code UFFDIO_WAKE}: wakes the threads waiting on {@code [start, start+len)}. */
    public void wake(long start, long len) {
        MemorySegment arg = ARG.get();
        arg.set(JAVA_LONG, 0, start);
        arg.set(JAVA_LONG, 8, len);
        LibC.ioctl(fd, UFFDIO_WAKE, arg);
    }

    /**
     * Closes the descriptor: registered ranges become ordinary memory again and every thread still
     * waiting on one wakes (its page then faults in as zero, as the kernel does on close).
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LibC.close(fd);
        arena.close();
    }
}
