/* Run inside a container: try each named syscall, print "NAME ERRNO" (0: it worked).
 *
 * Arguments are chosen so that a kernel that lets the call through answers with
 * something other than EPERM (EINVAL, EFAULT, ENOSYS, ESRCH...), and a seccomp
 * filter that refuses it answers EPERM: the difference is the filter, not caps.
 * Built by tests/support/syscheck.py with `gcc -static`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long try(const char *name) {
    if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 9999, 0, 0, 0, 0);             /* EOPNOTSUPP */
    if (!strcmp(name, "add_key")) return syscall(SYS_add_key, NULL, NULL, NULL, 0, 0);     /* EFAULT */
    if (!strcmp(name, "request_key")) return syscall(SYS_request_key, NULL, NULL, NULL, 0); /* EFAULT */
    if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 9999, NULL, 0);                      /* EINVAL */
    if (!strcmp(name, "perf_event_open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); /* EFAULT */
    if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, 1 | 0x4000);         /* EINVAL */
    if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0x8000);   /* EINVAL/ENOSYS */
    if (!strcmp(name, "mount")) return syscall(SYS_mount, NULL, NULL, NULL, 0, NULL);      /* EFAULT */
    if (!strcmp(name, "umount2")) return syscall(SYS_umount2, NULL, 0x80000000);           /* EINVAL */
    if (!strcmp(name, "unshare")) return syscall(SYS_unshare, 0x1);                        /* EINVAL */
    if (!strcmp(name, "setns")) return syscall(SYS_setns, -1, 0);                          /* EBADF */
    if (!strcmp(name, "clone3")) return syscall(SYS_clone3, NULL, 0);                      /* EINVAL */
    if (!strcmp(name, "personality")) return syscall(SYS_personality, READ_IMPLIES_EXEC) < 0 ? -1 : 0;
    if (!strcmp(name, "socket_vsock")) {                                                   /* 0 or EAFNOSUPPORT */
        long fd = syscall(SYS_socket, 40, SOCK_STREAM, 0);
        if (fd >= 0) close((int)fd);
        return fd < 0 ? -1 : 0;
    }
    if (!strcmp(name, "ptrace")) return syscall(SYS_ptrace, 2 /* PEEKDATA */, 0x7fffffff, 0, 0); /* ESRCH */
    if (!strcmp(name, "clone_newuser")) {          /* a new user namespace: 0 where it is allowed */
        long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) _exit(0);
        if (pid > 0) { waitpid((pid_t)pid, NULL, 0); return 0; }
        return -1;
    }
    errno = ENOENT;
    return -2;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        errno = 0;
        long rc = try(argv[i]);
        printf("%s %d\n", argv[i], rc == -2 ? -1 : rc < 0 ? errno : 0);
    }
    return 0;
}
