/* hacore's script launcher: start a script born inside its cgroup, with no Python in between.
 *
 * What posix_spawn() does (vfork speed: the child shares the caller's memory and the caller
 * waits until the child has called execve), plus the one thing glibc 2.36 cannot do: place
 * the child in a cgroup at birth (clone3 with CLONE_INTO_CGROUP). Moving a process into a
 * cgroup after it started costs a kernel lock and races with a script that forks at once.
 *
 * The child runs on a small stack of its own, calls only system calls, and never returns:
 * default signal handlers, an empty signal mask, its own process group, /dev/null as stdin,
 * the capture pipes as stdout and stderr, no other descriptor, then execve(). If execve fails, the child stores
 * errno where the caller reads it and exits with the status the caller chose.
 *
 * Built by `python -m hacore.executor.launcher build` (install.sh does it); loaded through
 * ctypes by hacore/executor/launcher.py. x86_64 only: elsewhere the build fails on purpose
 * and the executor uses its Python path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "hacore's launcher is written for x86_64; the executor falls back to its Python path"
#endif

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define HACORE_CLONE_VM 0x00000100ULL
#define HACORE_CLONE_VFORK 0x00004000ULL
#define HACORE_CLONE_INTO_CGROUP 0x200000000ULL
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define CHILD_STACK (32 * 1024)

/* struct clone_args of linux/sched.h (version 2, with the cgroup field), spelled out so that
 * the build does not depend on how recent the kernel headers are. */
struct launch_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
        set_tid, set_tid_size, cgroup;
};

struct launch_job {
    const char *path;
    char *const *argv;
    char *const *envp;
    int fd_out, fd_err;
    int fail_missing, fail_other;
    volatile int exec_errno;
};

static int child_main(void *data) {
    struct launch_job *job = data;
    struct sigaction dfl = {0};
    sigset_t none;
    int sig, devnull;

    dfl.sa_handler = SIG_DFL;
    for (sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            sigaction(sig, &dfl, 0); /* fails harmlessly on the signals glibc reserves */
        }
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    setpgid(0, 0);
    devnull = open("/dev/null", O_RDONLY);
    if (devnull > 0) {
        dup2(devnull, 0);
        close(devnull);
    }
    dup2(job->fd_out, 1);
    dup2(job->fd_err, 2);
    syscall(SYS_close_range, 3U, ~0U, 0U); /* whatever the caller left inheritable */
    execve(job->path, job->argv, job->envp);
    job->exec_errno = errno ? errno : ENOEXEC;
    _exit(errno == ENOENT ? job->fail_missing : job->fail_other);
}

/* clone3() where the child starts on `stack_top` and calls fn(arg), then exits with what it
 * returns. Needs assembly: with CLONE_VM the child may not return through the caller's
 * frames, which the parent still uses. */
static long clone3_call(struct launch_clone_args *args, int (*fn)(void *), void *arg) {
    long ret;
    register void *call_fn __asm__("r12") = (void *)fn;
    register void *call_arg __asm__("r13") = arg;
    __asm__ volatile(
        "syscall\n\t"
        "testq %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xorl %%ebp, %%ebp\n\t"
        "movq %%r13, %%rdi\n\t"
        "callq *%%r12\n\t"
        "movl %%eax, %%edi\n\t"
        "movl $60, %%eax\n\t" /* SYS_exit */
        "syscall\n\t"
        "hlt\n\t"
        "1:\n\t"
        : "=a"(ret)
        : "0"((long)SYS_clone3), "D"(args), "S"(sizeof(*args)), "r"(call_fn), "r"(call_arg)
        : "rcx", "r11", "memory", "cc");
    return ret;
}

/* Start `path` with `argv` and `envp` (NULL-terminated) in its own process group, in the
 * cgroup open at `cgroup_fd` (or where the caller is, when it is -1), stdout and stderr on
 * `fd_out` and `fd_err` (both > 2). Returns the child's pid, or -errno when no child was
 * made. When the child was made but execve failed, *exec_errno is set (else 0) and the
 * child has already ended with `fail_missing` (ENOENT) or `fail_other` as its status. */
long hacore_launch(const char *path, char *const *argv, char *const *envp, int cgroup_fd,
                   int fd_out, int fd_err, int fail_missing, int fail_other, int *exec_errno) {
    struct launch_job job = {path, argv, envp, fd_out, fd_err, fail_missing, fail_other, 0};
    struct launch_clone_args args = {0};
    unsigned char stack[CHILD_STACK] __attribute__((aligned(16)));
    sigset_t all, saved;
    long pid;

    if (fd_out <= 2 || fd_err <= 2) {
        return -EINVAL;
    }
    args.flags = HACORE_CLONE_VM | HACORE_CLONE_VFORK;
    if (cgroup_fd >= 0) {
        args.flags |= HACORE_CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
    }
    args.exit_signal = SIGCHLD;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = sizeof(stack);
    /* No signal handler of the caller may run in the child, on memory the caller shares. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &saved);
    pid = clone3_call(&args, child_main, &job);
    sigprocmask(SIG_SETMASK, &saved, 0);
    if (pid < 0) {
        return pid; /* the raw system call returns -errno */
    }
    *exec_errno = job.exec_errno;
    return pid;
}
