/* Run inside a container: try to type into every terminal it can reach (TIOCSTI on fds 0-2
 * and on /dev/tty, its controlling terminal). Prints one line per try; exits 0 only if
 * nothing could be typed. Built static by tests/support/static_tools.py. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int try_fd(int fd, const char *name) {
    const char *text = "#typed-by-container";
    for (const char *c = text; *c; c++) {
        if (ioctl(fd, TIOCSTI, c) != 0) {
            printf("%s: refused: %s\n", name, strerror(errno));
            return 0;
        }
    }
    printf("%s: TYPED\n", name);
    return 1;
}

int main(void) {
    int typed = 0;
    typed |= try_fd(0, "sti0");
    typed |= try_fd(1, "sti1");
    typed |= try_fd(2, "sti2");
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (tty < 0)
        printf("sti-tty: refused: %s\n", strerror(errno));
    else
        typed |= try_fd(tty, "sti-tty");
    fflush(stdout);
    return typed;
}
