/* sampan's idle monitor in C: what a detached container's monitor runs while it idles.
 *
 * Exec'd by monitor._exec_lean (compiled by cmonitor_build.py) in place of the lean Python
 * monitor, for the common case only: output pipes (or a pty master) pumped into a json-file
 * log, no attach client, no -i stdin, no healthcheck. It keeps the monitor's pid, so the
 * container stays its child. It writes records byte for byte as logs.LogWriter does for the
 * same reads (same JSON escaping, same invalid UTF-8 replacement as Python's
 * decode("utf-8", "replace"), same 16 KiB pieces, rotation, file names and full-disk note).
 *
 * Anything else is handed to the lean Python monitor by exec'ing FALLBACK (its state was
 * packed by Python; every fd stays open across exec): an attach client waiting in the
 * listener's backlog (never accepted here), and any error of ours before the container
 * exited. At the exit (its output drained) it execs FINISH, its last argument (a placeholder)
 * replaced by the exit code. After the exit nothing falls back: the container is reaped here.
 *
 * usage: sampan-monitor PID LOG MAX_SIZE MAX_FILES LISTEN_FD FD:STREAM[,FD:STREAM] MASTER_FD
 *                       -- FALLBACK_ARGV... -- FINISH_ARGV...
 * (MASTER_FD is -1 without a tty; STREAM is stdout or stderr.)
 *
 * Container output is hostile: every buffer is static and bounded, nothing is allocated
 * from what the container prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536   /* one read, as PumpLoop's os.read(fd, 65536) */
#define PIECE 16384   /* a line without newline is logged in pieces of this size */
#define MAXOUT 2      /* stdout and stderr pipes, or one pty master */

static char **fallback_argv, **finish_argv;
static const char *log_path;
static long long max_size, log_size;
static long max_files;
static int log_fd = -1;
static long long dropped;  /* bytes a full disk kept out of the log, noted at the next record */

struct out { int fd; int open; const char *stream; size_t partial_len; char partial[PIECE]; };
static struct out outs[MAXOUT];
static int nouts, master_fd = -1;
static char work[PIECE + CHUNK];  /* a stream's partial line, then what was just read */
static char wbuf[65536];          /* escaped record bytes on their way to the log */
static size_t wlen;

static void fall_back(const char *why) __attribute__((noreturn));
static void finish(void) __attribute__((noreturn));
static int exited, status;

/* ---- JSON, as _json.encode_basestring over bytes.decode("utf-8", "replace") ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or -(bytes replaced by one U+FFFD):
 * CPython's decoder replaces a maximal invalid subpart (the bytes that could start a valid
 * sequence) at once, or a truncated sequence at the end of the input. */
static int utf8_step(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    int need;
    if (c < 0x80) return 1;
    if (c < 0xC2 || c > 0xF4) return -1;
    if (c < 0xE0) need = 2;
    else if (c < 0xF0) { need = 3; if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; }
    else { need = 4; if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F; }
    for (int k = 1; k < need; k++) {
        if ((size_t)k >= avail) return -(int)avail;  /* truncated: the rest is one error */
        if (s[k] < lo || s[k] > hi) return -k;
        lo = 0x80; hi = 0xBF;
    }
    return need;
}

/* Escape s into out (when out is not NULL); returns the escaped length. */
static size_t json_escape(const unsigned char *s, size_t n, void (*out)(const char *, size_t))
{
    static const char hex[] = "0123456789abcdef";
    size_t len = 0, i = 0;
    while (i < n) {
        int step = utf8_step(s + i, n - i);
        if (step < 0) {
            if (out) out("\xef\xbf\xbd", 3);
            len += 3; i += (size_t)(-step);
            continue;
        }
        unsigned char c = s[i];
        if (step == 1 && (c < 0x20 || c == '"' || c == '\\')) {
            char e[6] = {'\\', 0, 0, 0, 0, 0};
            size_t el = 2;
            switch (c) {
            case '"': e[1] = '"'; break;
            case '\\': e[1] = '\\'; break;
            case '\b': e[1] = 'b'; break;
            case '\f': e[1] = 'f'; break;
            case '\n': e[1] = 'n'; break;
            case '\r': e[1] = 'r'; break;
            case '\t': e[1] = 't'; break;
            default: e[1] = 'u'; e[2] = '0'; e[3] = '0'; e[4] = hex[c >> 4]; e[5] = hex[c & 15]; el = 6;
            }
            if (out) out(e, el);
            len += el;
        } else {
            if (out) out((const char *)s + i, (size_t)step);
            len += (size_t)step;
        }
        i += (size_t)step;
    }
    return len;
}

/* ---- the log file ---- */

static int write_error;  /* set by emit_bytes when a write failed: the record is cut off */

static int flush_wbuf(void)
{
    size_t off = 0;
    while (off < wlen) {
        ssize_t w = write(log_fd, wbuf + off, wlen - off);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        if (w == 0) { errno = ENOSPC; return -1; }
        off += (size_t)w;
    }
    wlen = 0;
    return 0;
}

static void emit_bytes(const char *p, size_t n)
{
    while (n && !write_error) {
        size_t k = sizeof wbuf - wlen < n ? sizeof wbuf - wlen : n;
        memcpy(wbuf + wlen, p, k);
        wlen += k; p += k; n -= k;
        if (wlen == sizeof wbuf && flush_wbuf() < 0) write_error = 1;
    }
}

static void now_rfc3339(char out[40])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, 40 - k, ".%09ldZ", ts.tv_nsec);
}

static int open_log(void)
{
    log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log_fd < 0) return -1;
    off_t end = lseek(log_fd, 0, SEEK_END);
    if (end < 0) { close(log_fd); log_fd = -1; return -1; }
    log_size = end;
    return 0;
}

static int exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

/* As LogWriter._rotate: .1 is the newest; shift only as far as rotated files exist. */
static int rotate(void)
{
    char src[4096], dst[4096];
    close(log_fd);
    log_fd = -1;
    if (max_files == 1) {
        if (truncate(log_path, 0) < 0) return -1;
    } else {
        long n = 1;
        while (n < max_files - 1) {
            snprintf(src, sizeof src, "%s.%ld", log_path, n);
            if (!exists(src)) break;
            n++;
        }
        for (long i = n; i > 0; i--) {
            if (i == 1) snprintf(src, sizeof src, "%s", log_path);
            else snprintf(src, sizeof src, "%s.%ld", log_path, i - 1);
            snprintf(dst, sizeof dst, "%s.%ld", log_path, i);
            if (exists(src) && rename(src, dst) < 0) return -1;
        }
    }
    return open_log();
}

/* Append one record, whole or not at all (LogWriter._append): a failed write is cut off. */
static int append_record(const char *stream, const unsigned char *text, size_t n, size_t len)
{
    char t[40];
    if (log_fd < 0 && open_log() < 0) return -1;  /* a rotation could not reopen: try again */
    now_rfc3339(t);
    write_error = 0;
    wlen = 0;
    emit_bytes("{\"log\":\"", 8);
    json_escape(text, n, emit_bytes);
    emit_bytes("\",\"stream\":\"", 12);
    emit_bytes(stream, strlen(stream));
    emit_bytes("\",\"time\":\"", 10);
    emit_bytes(t, strlen(t));
    emit_bytes("\"}\n", 3);
    if (write_error || flush_wbuf() < 0) {
        if (ftruncate(log_fd, log_size) < 0) { /* nothing more to do: the next record retries */ }
        return -1;
    }
    log_size += (long long)len;
    return 0;
}

static size_t record_len(const char *stream, const unsigned char *text, size_t n)
{
    /* {"log":"…","stream":"…","time":"YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ"}\n */
    return 8 + json_escape(text, n, NULL) + 12 + strlen(stream) + 10 + 30 + 3;
}

/* LogWriter._emit */
static void emit(const char *stream, const unsigned char *line, size_t n)
{
    size_t len = record_len(stream, line, n);
    if (dropped) {
        char note[4200];
        int k = snprintf(note, sizeof note, "sampan: %lld bytes of output were not logged: the disk was full (%s)\n",
                         dropped, log_path);
        if (k < 0 || (size_t)k >= sizeof note) k = (int)strlen(note);
        size_t nlen = record_len("stderr", (unsigned char *)note, (size_t)k);
        if (append_record("stderr", (unsigned char *)note, (size_t)k, nlen) < 0) { dropped += (long long)n; return; }
        dropped = 0;
    }
    if (log_size + (long long)len > max_size && log_size > 0) {
        if (rotate() < 0) { dropped += (long long)n; return; }
    }
    if (append_record(stream, line, n, len) < 0) dropped += (long long)n;
}

/* LogWriter.write: whole lines (with their newline) as records, then 16 KiB pieces of the
 * rest; what remains waits in the stream's partial buffer (always < PIECE bytes). */
static void log_write(struct out *o, size_t got)
{
    size_t total = o->partial_len + got, start = 0;
    unsigned char *b = (unsigned char *)work;
    for (size_t i = o->partial_len; i < total; i++) {
        if (b[i] == '\n') { emit(o->stream, b + start, i + 1 - start); start = i + 1; }
    }
    while (total - start >= PIECE) { emit(o->stream, b + start, PIECE); start += PIECE; }
    o->partial_len = total - start;
    memcpy(o->partial, b + start, o->partial_len);
}

/* LogWriter.close: the partial lines become records (in stream order, as Python's dict keeps
 * them: the order in which each stream first wrote). */
static int first_order[MAXOUT], nfirst;
static void flush_partials(void)
{
    for (int j = 0; j < nfirst; j++) {
        struct out *o = &outs[first_order[j]];
        if (o->partial_len) emit(o->stream, (unsigned char *)o->partial, o->partial_len);
        o->partial_len = 0;
    }
    nfirst = 0;
    if (log_fd >= 0) close(log_fd);
    log_fd = -1;
}

/* ---- process ---- */

static sigset_t old_mask;

static void exec_argv(char **argv, const char *what)
{
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    execv(argv[0], argv);
    fprintf(stderr, "sampan-monitor: cannot exec %s %s: %s\n", what, argv[0], strerror(errno));
}

static void fall_back(const char *why)
{
    if (why) fprintf(stderr, "sampan-monitor: %s: %s; the Python monitor takes over\n", why, strerror(errno));
    if (exited) finish();  /* reaped here: Python would wait for it forever */
    flush_partials();
    for (;;) {  /* never lose the container: keep trying */
        exec_argv(fallback_argv, "the Python monitor");
        sleep(1);
    }
}

static void finish(void)
{
    static char codebuf[16];
    flush_partials();
    int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    snprintf(codebuf, sizeof codebuf, "%d", code);
    int nf = 0;
    while (finish_argv[nf]) nf++;
    finish_argv[nf - 1] = codebuf;  /* the placeholder */
    for (;;) {
        exec_argv(finish_argv, "the finish step");
        sleep(1);
    }
}

static void on_signal(int sig) { (void)sig; }

int main(int argc, char **argv)
{
    char *end;
    int i = 1;
    if (argc < 9) return 125;
    pid_t pid = (pid_t)strtol(argv[i++], &end, 10);
    log_path = argv[i++];
    max_size = strtoll(argv[i++], &end, 10);
    max_files = strtol(argv[i++], &end, 10);
    if (max_files < 1) max_files = 1;
    int listen_fd = (int)strtol(argv[i++], &end, 10);
    char *spec = argv[i++];
    master_fd = (int)strtol(argv[i++], &end, 10);
    if (strcmp(argv[i++], "--") != 0) return 125;
    fallback_argv = argv + i;
    while (i < argc && strcmp(argv[i], "--") != 0) i++;
    if (i >= argc || fallback_argv == argv + i) return 125;
    argv[i++] = NULL;  /* ends FALLBACK */
    finish_argv = argv + i;
    if (i >= argc) fall_back("no finish command");

    /* As wakeup_pipe(): SIGCHLD wakes us, SIGTERM is caught and ignored (a handler, not
     * SIG_IGN, so the finish step starts with its default again), the rest ignored. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, wait_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old_mask);  /* delivered only inside ppoll: no lost wakeup */
    wait_mask = old_mask;
    sigdelset(&wait_mask, SIGCHLD);

    for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
        char *colon = strchr(tok, ':');
        if (!colon || nouts == MAXOUT) fall_back("bad output spec");
        *colon = 0;
        outs[nouts].fd = (int)strtol(tok, &end, 10);
        outs[nouts].stream = strcmp(colon + 1, "stderr") == 0 ? "stderr" : "stdout";
        outs[nouts].open = 1;
        nouts++;
    }
    if (open_log() < 0) fall_back("cannot open the log");

    struct timespec drain_until = {0, 0};
    for (;;) {
        for (;;) {  /* reap: the container, and orphans of it (we are a subreaper) */
            int st;
            pid_t r = waitpid(-1, &st, WNOHANG);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 && !exited) fall_back("waitpid");
            if (r <= 0) break;
            if (r == pid) { status = st; exited = 1; }
        }
        int open_outs = 0;
        for (int j = 0; j < nouts; j++) open_outs += outs[j].open;
        struct timespec now, timeout = {0, 50 * 1000 * 1000}, *tp = NULL;
        if (exited) {
            if (!open_outs) break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (drain_until.tv_sec == 0) {  /* output may still sit in the pipes: 0.5 s at most */
                drain_until = now;
                drain_until.tv_nsec += 500 * 1000 * 1000;
                if (drain_until.tv_nsec >= 1000000000) { drain_until.tv_sec++; drain_until.tv_nsec -= 1000000000; }
            } else if (now.tv_sec > drain_until.tv_sec ||
                       (now.tv_sec == drain_until.tv_sec && now.tv_nsec > drain_until.tv_nsec)) {
                break;
            }
            tp = &timeout;
        }
        struct pollfd pfd[MAXOUT + 1];
        int map[MAXOUT + 1], n = 0;
        for (int j = 0; j < nouts; j++)
            if (outs[j].open) { pfd[n].fd = outs[j].fd; pfd[n].events = POLLIN; map[n++] = j; }
        if (!exited) { pfd[n].fd = listen_fd; pfd[n].events = POLLIN; map[n++] = -1; }
        int r = ppoll(pfd, (nfds_t)n, tp, &wait_mask);
        if (r < 0) {
            if (errno == EINTR) continue;
            fall_back("poll");
        }
        for (int k = 0; k < n; k++) {
            if (!pfd[k].revents) continue;
            if (map[k] < 0) fall_back(NULL);  /* an attach client: Python accepts and serves it */
            struct out *o = &outs[map[k]];
            memcpy(work, o->partial, o->partial_len);
            ssize_t got = read(o->fd, work + o->partial_len, CHUNK);
            if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (got < 0 && errno != EIO) fall_back("read");  /* EIO: the pty's last slave closed */
            if (got <= 0) {
                /* stop watching; the fd stays open so a fallback finds every fd it was given */
                o->open = 0;
                continue;
            }
            int seen = 0;
            for (int j = 0; j < nfirst; j++) seen |= first_order[j] == map[k];
            if (!seen) first_order[nfirst++] = map[k];
            log_write(o, (size_t)got);
        }
    }
    finish();
}
