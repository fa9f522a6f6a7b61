/* Prints the sizes, offsets, ioctl numbers and constants of <linux/userfaultfd.h> that Userfaultfd mirrors. */
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/syscall.h>

#define S(t)    printf("sizeof %s %zu\n", #t, sizeof(struct t))
#define O(t, f) printf("offsetof %s.%s %zu\n", #t, #f, offsetof(struct t, f))
#define I(n)    printf("ioctl %s %lu\n", #n, (unsigned long)(n))
#define C(n)    printf("const %s %llu\n", #n, (unsigned long long)(n))

int main(void) {
    S(uffdio_api); O(uffdio_api, api); O(uffdio_api, features); O(uffdio_api, ioctls);
    S(uffdio_range); O(uffdio_range, start); O(uffdio_range, len);
    S(uffdio_register); O(uffdio_register, range); O(uffdio_register, range.start); O(uffdio_register, range.len);
    O(uffdio_register, mode); O(uffdio_register, ioctls);
    S(uffdio_copy); O(uffdio_copy, dst); O(uffdio_copy, src); O(uffdio_copy, len); O(uffdio_copy, mode);
    O(uffdio_copy, copy);
    S(uffdio_zeropage); O(uffdio_zeropage, range); O(uffdio_zeropage, range.start); O(uffdio_zeropage, range.len);
    O(uffdio_zeropage, mode); O(uffdio_zeropage, zeropage);
    S(uffd_msg); O(uffd_msg, event); O(uffd_msg, reserved1); O(uffd_msg, reserved2); O(uffd_msg, reserved3);
    O(uffd_msg, arg.pagefault.flags); O(uffd_msg, arg.pagefault.address); O(uffd_msg, arg.pagefault.feat.ptid);

    I(USERFAULTFD_IOC_NEW); I(UFFDIO_API); I(UFFDIO_REGISTER); I(UFFDIO_UNREGISTER); I(UFFDIO_WAKE);
    I(UFFDIO_COPY); I(UFFDIO_ZEROPAGE);

    C(SYS_userfaultfd); C(UFFD_API); C(UFFD_USER_MODE_ONLY); C(UFFD_FEATURE_THREAD_ID);
    C(UFFDIO_REGISTER_MODE_MISSING); C(UFFDIO_COPY_MODE_DONTWAKE); C(UFFDIO_ZEROPAGE_MODE_DONTWAKE);
    C(UFFD_EVENT_PAGEFAULT); C(UFFD_PAGEFAULT_FLAG_WRITE); C(_UFFDIO_REGISTER); C(_UFFDIO_UNREGISTER);
    C(_UFFDIO_WAKE); C(_UFFDIO_COPY); C(_UFFDIO_ZEROPAGE); C(_UFFDIO_API);
    return 0;
}
