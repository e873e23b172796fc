#include "milter/libmilter_socket.hpp"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>

namespace milter {

namespace {

// The head of libmilter's private struct smfi_str (libmilter/libmilter.h),
// unchanged since sendmail 8.12: the thread id, then the socket.
struct LibmilterContextHead {
    pthread_t thread;
    int socket;
};

// libmilter 1.0.x (sendmail 8.12 to 8.18) is the layout above.
bool known_layout() {
    unsigned int major = 0, minor = 0, patch = 0;
    return smfi_version(&major, &minor, &patch) == MI_SUCCESS && major == 1 && minor == 0;
}

// A connected stream socket that is not a listener: what a milter
// connection is. Anything else means the layout is not what we think.
bool is_connection(int fd) {
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
    int type = 0, listening = 1;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
    len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening != 0) return false;
    sockaddr_storage peer{};
    len = sizeof peer;
    return getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0;
}

}  // namespace

int libmilter_socket(SMFICTX* ctx) {
    static const bool layout = known_layout();
    if (!layout || ctx == nullptr) return -1;
    LibmilterContextHead head;
    std::memcpy(&head, ctx, sizeof head);
    return is_connection(head.socket) ? head.socket : -1;
}

}  // namespace milter
