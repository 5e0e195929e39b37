#pragma once
// Looking at this process's own sockets, for what cpp-httplib 0.11 keeps to itself (the listening
// socket and the accepted connections have no hooks). Linux only (/proc/self/fd).

#include <vector>

namespace rl::common {

// The file descriptors of this process that are sockets.
std::vector<int> OwnSockets();

// The local port a socket is bound to, or -1 if it is not an IPv4/IPv6 socket.
int LocalPort(int fd);

}  // namespace rl::common
