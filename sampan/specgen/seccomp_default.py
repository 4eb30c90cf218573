"""The default seccomp profile, in Docker's profile format (archMap, includes/excludes).

The same effect as Docker's default (moby/profiles seccomp/default.json): every
syscall not allowed here fails with EPERM. What a container can reach is the
common syscalls below, plus those that the capabilities it holds already grant
the right to use (mount needs CAP_SYS_ADMIN, and so on); never the kernel's
keyring, BPF, perf, kexec, open_by_handle_at, userfaultfd, namespace creation
or a personality that weakens ASLR. `specgen/seccomp.py` resolves it for one
container (its caps, the host's arch and kernel) into OCI linux.seccomp.

Plain data: a module-level dict that nothing mutates (resolve() copies).
"""

from __future__ import annotations


def _names(text: str) -> list[str]:
    return text.split()


# Allowed for every container, by theme. Names this libseccomp or arch does not know
# are skipped by the runtime (as runc does), so the 32-bit and newer names cost nothing.
_FILES = _names("""
    access faccessat faccessat2 chdir fchdir getcwd chmod fchmod fchmodat fchmodat2
    chown chown32 fchown fchown32 fchownat lchown lchown32 creat open openat openat2
    close close_range dup dup2 dup3 fcntl fcntl64 flock link linkat symlink symlinkat
    unlink unlinkat rename renameat renameat2 mkdir mkdirat mknod mknodat rmdir
    readlink readlinkat stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat
    statx statfs statfs64 fstatfs fstatfs64 truncate truncate64 ftruncate ftruncate64
    fallocate fadvise64 fadvise64_64 readahead umask utime utimes utimensat
    utimensat_time64 futimesat getdents getdents64 name_to_handle_at statmount listmount
""")
_IO = _names("""
    read write readv writev pread64 pwrite64 preadv preadv2 pwritev pwritev2 lseek _llseek
    sendfile sendfile64 splice tee vmsplice copy_file_range sync syncfs fsync fdatasync
    sync_file_range ioctl io_setup io_destroy io_submit io_cancel io_getevents
    io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set
""")
_XATTRS = _names("""
    getxattr lgetxattr fgetxattr getxattrat setxattr lsetxattr fsetxattr setxattrat
    listxattr llistxattr flistxattr listxattrat removexattr lremovexattr fremovexattr
    removexattrat
""")
_EVENTS = _names("""
    poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64 epoll_create
    epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
    eventfd eventfd2 signalfd signalfd4 timerfd_create timerfd_gettime timerfd_gettime64
    timerfd_settime timerfd_settime64 inotify_init inotify_init1 inotify_add_watch
    inotify_rm_watch fanotify_mark pipe pipe2
""")
_MEMORY = _names("""
    brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall
    munlock munlockall remap_file_pages membarrier memfd_create memfd_secret pkey_alloc
    pkey_free pkey_mprotect map_shadow_stack mseal cachestat
""")
_PROCESSES = _names("""
    fork vfork execve execveat exit exit_group wait4 waitid waitpid getpid getppid gettid
    getpgid getpgrp setpgid getsid setsid set_tid_address get_robust_list set_robust_list
    futex futex_time64 futex_requeue futex_wait futex_wake futex_waitv rseq restart_syscall
    prctl getcpu pidfd_open pidfd_send_signal process_mrelease capget capset seccomp
    uretprobe get_thread_area set_thread_area landlock_add_rule landlock_create_ruleset
    landlock_restrict_self riscv_hwprobe
""")
_SCHEDULING = _names("""
    sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam
    sched_setparam sched_getscheduler sched_setscheduler sched_get_priority_max
    sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64 sched_yield
    getpriority setpriority getrlimit setrlimit ugetrlimit prlimit64 getrusage times
    sysinfo uname getrandom
""")
_SIGNALS = _names("""
    kill tkill tgkill rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn
    rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack
    sigprocmask sigreturn pause
""")
_IDENTITY = _names("""
    getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid
    getresuid32 getresgid getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32
    setreuid setreuid32 setregid setregid32 setresuid setresuid32 setresgid setresgid32
    setfsuid setfsuid32 setfsgid setfsgid32 setgroups setgroups32
""")
# adjtimex/clock_adjtime only read the clock without CAP_SYS_TIME (the kernel checks it)
_TIME = _names("""
    time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64
    clock_nanosleep clock_nanosleep_time64 nanosleep alarm getitimer setitimer timer_create
    timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
    timer_settime64 adjtimex clock_adjtime clock_adjtime64
""")
_IPC = _names("""
    ipc msgctl msgget msgrcv msgsnd semctl semget semop semtimedop semtimedop_time64 shmat
    shmctl shmdt shmget mq_open mq_unlink mq_getsetattr mq_notify mq_timedreceive
    mq_timedreceive_time64 mq_timedsend mq_timedsend_time64
""")
# socket() itself is allowed below for every family but AF_ALG (38) and AF_VSOCK (40)
_NETWORK = _names("""
    socketcall socketpair bind connect listen accept accept4 getsockname getpeername
    getsockopt setsockopt shutdown send sendto sendmsg sendmmsg recv recvfrom recvmsg
    recvmmsg recvmmsg_time64
""")

ALWAYS_ALLOWED = sorted(_FILES + _IO + _XATTRS + _EVENTS + _MEMORY + _PROCESSES + _SCHEDULING
                        + _SIGNALS + _IDENTITY + _TIME + _IPC + _NETWORK)

# Namespace flags a clone() without CAP_SYS_ADMIN must not carry: CLONE_NEWNS | NEWCGROUP |
# NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET.
CLONE_NS_FLAGS = 0x7E020000

_ALLOW = "SCMP_ACT_ALLOW"


def _allow(names: list[str], **extra) -> dict:
    return {"names": names, "action": _ALLOW, **extra}


def _arg_eq(index: int, value: int, op: str = "SCMP_CMP_EQ") -> list[dict]:
    return [{"index": index, "value": value, "op": op}]


def _with_cap(cap: str, names: list[str]) -> dict:
    return _allow(names, includes={"caps": [cap]})


_SYSCALLS: list[dict] = [
    _allow(ALWAYS_ALLOWED),
    # ptrace could bypass seccomp before 4.8; from 4.8 the filter is re-checked after it
    _allow(["process_vm_readv", "process_vm_writev", "ptrace"], includes={"minKernel": "4.8"}),
    _allow(["socket"], args=_arg_eq(0, 38, "SCMP_CMP_LT")),
    _allow(["socket"], args=_arg_eq(0, 39)),
    _allow(["socket"], args=_arg_eq(0, 40, "SCMP_CMP_GT")),
    # personality: PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE alone or with UNAME26, and the query
    *(_allow(["personality"], args=_arg_eq(0, v)) for v in (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)),
    # per-architecture calls
    _allow(["sync_file_range2", "swapcontext"], includes={"arches": ["ppc64le"]}),
    _allow(["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush",
            "set_tls"], includes={"arches": ["arm", "arm64"]}),
    _allow(["arch_prctl"], includes={"arches": ["amd64", "x32"]}),
    _allow(["modify_ldt"], includes={"arches": ["amd64", "x32", "x86"]}),
    _allow(["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"],
           includes={"arches": ["s390", "s390x"]}),
    _allow(["riscv_flush_icache"], includes={"arches": ["riscv64"]}),
    # what a capability already grants
    _with_cap("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
    _with_cap("CAP_SYS_ADMIN", [
        "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
        "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount",
        "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
        "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"]),
    # without CAP_SYS_ADMIN: clone() with no namespace flag (s390 swaps the first two arguments)
    _allow(["clone"], args=_arg_eq(0, CLONE_NS_FLAGS, "SCMP_CMP_MASKED_EQ"),
           excludes={"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}),
    _allow(["clone"], args=_arg_eq(1, CLONE_NS_FLAGS, "SCMP_CMP_MASKED_EQ"),
           includes={"arches": ["s390", "s390x"]}, excludes={"caps": ["CAP_SYS_ADMIN"]}),
    # clone3 hides its flags in memory seccomp cannot read: ENOSYS makes libc fall back to clone
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
     "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    _with_cap("CAP_SYS_BOOT", ["reboot"]),
    _with_cap("CAP_SYS_CHROOT", ["chroot"]),
    _with_cap("CAP_SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
    _with_cap("CAP_SYS_PACCT", ["acct"]),
    _with_cap("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                                 "process_vm_writev", "ptrace"]),
    _with_cap("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
    _with_cap("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
    _with_cap("CAP_SYS_TTY_CONFIG", ["vhangup"]),
    _with_cap("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
    _with_cap("CAP_SYSLOG", ["syslog"]),
    _with_cap("CAP_BPF", ["bpf"]),
    _with_cap("CAP_PERFMON", ["perf_event_open"]),
]

DEFAULT_PROFILE: dict = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,  # EPERM
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
        {"architecture": "SCMP_ARCH_MIPS64", "subArchitectures": ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"]},
        {"architecture": "SCMP_ARCH_MIPS64N32", "subArchitectures": ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"]},
        {"architecture": "SCMP_ARCH_MIPSEL64", "subArchitectures": ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"]},
        {"architecture": "SCMP_ARCH_MIPSEL64N32", "subArchitectures": ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"]},
        {"architecture": "SCMP_ARCH_S390X", "subArchitectures": ["SCMP_ARCH_S390"]},
        {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": []},
        {"architecture": "SCMP_ARCH_LOONGARCH64", "subArchitectures": []},
    ],
    "syscalls": _SYSCALLS,
}
