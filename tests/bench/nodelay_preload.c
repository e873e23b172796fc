/* Diagnostic for BENCHMARKS.md, built by scripts/bench at bench time: an
 * LD_PRELOAD shim that sets TCP_NODELAY on every socket accept() returns,
 * which libmilter does not do.  Running a milter under it shows how much of
 * the inet: latency is Nagle's algorithm (RFC 896) holding back the second
 * small reply packet of a burst until the MTA's delayed ACK (RFC 1122
 * section 4.2.3.2, up to ~40 ms on Linux) arrives.  Not for production: the
 * fix belongs in the daemon (TCP_NODELAY on the listening socket, which
 * accepted sockets inherit on Linux). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void nodelay(int fd)
{
    int on = 1;
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* fails harmlessly on unix sockets */
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    int (*real)(int, struct sockaddr *, socklen_t *) =
        (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    int s = real(fd, addr, len);
    nodelay(s);
    return s;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int (*real)(int, struct sockaddr *, socklen_t *, int) =
        (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    int s = real(fd, addr, len, flags);
    nodelay(s);
    return s;
}
