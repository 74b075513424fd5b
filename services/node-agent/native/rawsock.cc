// Raw packet sockets for layer-2 announcements: AF_PACKET for ARP, ICMPv6 for NDP.
// Only socket handling lives here; packets are parsed and built in TypeScript. Sockets are
// non-blocking and read from libuv's poll on the main loop, so no threads are involved.
#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace {

constexpr size_t kMaxPacket = 2048;
// Packets read per readiness callback, so one busy socket cannot starve the loop.
constexpr int kBurst = 64;

Napi::Value ThrowErrno(Napi::Env env, const std::string& what, int err) {
  Napi::Error error = Napi::Error::New(env, what + ": " + std::strerror(err));
  error.Set("code", Napi::String::New(env, err == EPERM || err == EACCES ? "EPERM" : "ESOCKET"));
  error.Set("errno", Napi::Number::New(env, err));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

bool InterfaceIndex(const std::string& name, int* index) {
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) return false;
  *index = static_cast<int>(idx);
  return true;
}

// interfaceInfo(name) -> { index, mac, up, running } or throws when the interface is missing.
Napi::Value InterfaceInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "interfaceInfo(name: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>();
  if (name.size() >= IFNAMSIZ) {
    Napi::TypeError::New(env, "interface name too long: " + name).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  ifreq req{};
  std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
  Napi::Object out = Napi::Object::New(env);
  if (ioctl(fd, SIOCGIFINDEX, &req) < 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, "no interface " + name, err);
  }
  out.Set("index", Napi::Number::New(env, req.ifr_ifindex));
  if (ioctl(fd, SIOCGIFHWADDR, &req) < 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, "hardware address of " + name, err);
  }
  out.Set("mac", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(req.ifr_hwaddr.sa_data), 6));
  out.Set("ethernet", Napi::Boolean::New(env, req.ifr_hwaddr.sa_family == ARPHRD_ETHER));
  if (ioctl(fd, SIOCGIFFLAGS, &req) < 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, "flags of " + name, err);
  }
  close(fd);
  out.Set("up", Napi::Boolean::New(env, (req.ifr_flags & IFF_UP) != 0));
  out.Set("running", Napi::Boolean::New(env, (req.ifr_flags & IFF_RUNNING) != 0));
  return out;
}

// The common part of both sockets: a non-blocking fd polled on the loop, a JS callback per packet.
template <typename Derived>
class PolledSocket : public Napi::ObjectWrap<Derived> {
 public:
  explicit PolledSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}

  ~PolledSocket() override { Shutdown(); }

 protected:
  // Takes ownership of fd and starts reading; the object stays alive until close().
  bool Start(Napi::Env env, int fd, Napi::Function onPacket) {
    fd_ = fd;
    env_ = env;
    onPacket_ = Napi::Persistent(onPacket);
    context_ = std::make_unique<Napi::AsyncContext>(env, "berth:rawsock");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) return false;
    poll_ = new uv_poll_t;
    poll_->data = this;
    if (uv_poll_init(loop, poll_, fd_) != 0) {
      delete poll_;
      poll_ = nullptr;
      return false;
    }
    uv_poll_start(poll_, UV_READABLE, [](uv_poll_t* handle, int status, int) {
      auto* self = static_cast<Derived*>(handle->data);
      if (status == 0 && self != nullptr) self->Drain();
    });
    this->Ref();
    return true;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) {
      Shutdown();
      this->Unref();
    }
    return info.Env().Undefined();
  }

  void Deliver(std::initializer_list<napi_value> args) {
    Napi::HandleScope scope(env_);
    onPacket_.MakeCallback(this->Value(), args, *context_);
    if (env_.IsExceptionPending()) {
      Napi::Error error = env_.GetAndClearPendingException();
      napi_fatal_exception(env_, error.Value());
    }
  }

  bool Open() const { return fd_ >= 0; }

  int fd_ = -1;
  int ifindex_ = 0;
  Napi::Env env_ = nullptr;

 private:
  void Shutdown() {
    if (poll_ != nullptr) {
      poll_->data = nullptr;
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) {
        delete reinterpret_cast<uv_poll_t*>(handle);
      });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference onPacket_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

bool ReadArgs(const Napi::CallbackInfo& info, std::string* name, Napi::Function* onPacket, int* index) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "expected (interface: string, onPacket: function)").ThrowAsJavaScriptException();
    return false;
  }
  *name = info[0].As<Napi::String>().Utf8Value();
  *onPacket = info[1].As<Napi::Function>();
  if (name->size() >= IFNAMSIZ || !InterfaceIndex(*name, index)) {
    ThrowErrno(env, "no interface " + *name, ENODEV);
    return false;
  }
  return true;
}

// new ArpSocket(interface, onFrame(frame: Buffer)): whole Ethernet frames of type ARP that
// arrive on the interface (not the ones this host sends); send(frame) transmits one frame.
class ArpSocket : public PolledSocket<ArpSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ArpSocket",
                       {InstanceMethod("send", &ArpSocket::Send), InstanceMethod("close", &ArpSocket::Close)});
  }

  explicit ArpSocket(const Napi::CallbackInfo& info) : PolledSocket<ArpSocket>(info) {
    Napi::Env env = info.Env();
    std::string name;
    Napi::Function onPacket;
    if (!ReadArgs(info, &name, &onPacket, &ifindex_)) return;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) {
      ThrowErrno(env, "ARP socket on " + name + " (needs CAP_NET_RAW)", errno);
      return;
    }
    int one = 1;
    // Best effort: older kernels lack it, and outgoing frames are told apart by MAC anyway.
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ARP);
    addr.sll_ifindex = ifindex_;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
      int err = errno;
      close(fd);
      ThrowErrno(env, "bind ARP socket to " + name, err);
      return;
    }
    if (!Start(env, fd, onPacket)) {
      close(fd);
      Napi::Error::New(env, "could not poll the ARP socket").ThrowAsJavaScriptException();
    }
  }

  void Drain() {
    uint8_t buf[kMaxPacket];
    for (int i = 0; i < kBurst && Open(); i++) {
      sockaddr_ll from{};
      socklen_t fromLen = sizeof from;
      ssize_t n = recvfrom(fd_, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLen);
      if (n < 0) return;
      if (from.sll_pkttype == PACKET_OUTGOING) continue;
      Napi::HandleScope scope(env_);
      Deliver({Napi::Buffer<uint8_t>::Copy(env_, buf, static_cast<size_t>(n))});
    }
  }

 private:
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open()) return ThrowErrno(env, "send on a closed ARP socket", EBADF);
    if (info.Length() < 1 || !info[0].IsBuffer()) {
      Napi::TypeError::New(env, "send(frame: Buffer)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto frame = info[0].As<Napi::Buffer<uint8_t>>();
    if (send(fd_, frame.Data(), frame.Length(), MSG_DONTWAIT) < 0) return ThrowErrno(env, "send ARP", errno);
    return env.Undefined();
  }
};

bool ParseIn6(const Napi::Value& value, in6_addr* out) {
  return value.IsString() && inet_pton(AF_INET6, value.As<Napi::String>().Utf8Value().c_str(), out) == 1;
}

// new Icmp6Socket(interface, onMessage(message: Buffer, source: string, hopLimit: number)):
// Neighbor Solicitations and Advertisements that arrive on the interface, without the IPv6 header.
class Icmp6Socket : public PolledSocket<Icmp6Socket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Icmp6Socket",
                       {InstanceMethod("send", &Icmp6Socket::Send), InstanceMethod("join", &Icmp6Socket::Join),
                        InstanceMethod("leave", &Icmp6Socket::Leave), InstanceMethod("close", &Icmp6Socket::Close)});
  }

  explicit Icmp6Socket(const Napi::CallbackInfo& info) : PolledSocket<Icmp6Socket>(info) {
    Napi::Env env = info.Env();
    std::string name;
    Napi::Function onPacket;
    if (!ReadArgs(info, &name, &onPacket, &ifindex_)) return;
    int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) {
      ThrowErrno(env, "ICMPv6 socket on " + name + " (needs CAP_NET_RAW)", errno);
      return;
    }
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ND_NEIGHBOR_SOLICIT, &filter);
    ICMP6_FILTER_SETPASS(ND_NEIGHBOR_ADVERT, &filter);
    int one = 1, zero = 0, hops = 255;
    struct {
      int level, name;
      const void* value;
      socklen_t size;
      const char* what;
    } options[] = {
        {SOL_SOCKET, SO_BINDTODEVICE, name.c_str(), static_cast<socklen_t>(name.size()), "bind to device"},
        {IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter, "ICMPv6 filter"},
        {IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one, "receive hop limit"},
        // NDP messages must leave with hop limit 255 (RFC 4861) and come back to nobody here.
        {IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops, "unicast hops"},
        {IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops, "multicast hops"},
        {IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex_, sizeof ifindex_, "multicast interface"},
        {IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof zero, "multicast loop"},
        // Answers come from the VIP, which is never an address of this host.
        {IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one, "free bind"},
    };
    for (const auto& option : options) {
      if (setsockopt(fd, option.level, option.name, option.value, option.size) < 0) {
        int err = errno;
        close(fd);
        ThrowErrno(env, std::string("ICMPv6 socket on ") + name + ": " + option.what, err);
        return;
      }
    }
    if (!Start(env, fd, onPacket)) {
      close(fd);
      Napi::Error::New(env, "could not poll the ICMPv6 socket").ThrowAsJavaScriptException();
    }
  }

  void Drain() {
    uint8_t buf[kMaxPacket];
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(int)) * 2];
    for (int i = 0; i < kBurst && Open(); i++) {
      sockaddr_in6 from{};
      iovec iov{buf, sizeof buf};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
      if (n < 0) return;
      int hopLimit = -1;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) std::memcpy(&hopLimit, CMSG_DATA(c), sizeof hopLimit);
      }
      char source[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, &from.sin6_addr, source, sizeof source);
      Napi::HandleScope scope(env_);
      Deliver({Napi::Buffer<uint8_t>::Copy(env_, buf, static_cast<size_t>(n)), Napi::String::New(env_, source),
               Napi::Number::New(env_, hopLimit)});
    }
  }

 private:
  // send(message: Buffer, destination: string, source: string); the kernel fills the checksum.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open()) return ThrowErrno(env, "send on a closed ICMPv6 socket", EBADF);
    sockaddr_in6 to{};
    in6_pktinfo pktinfo{};
    if (info.Length() < 3 || !info[0].IsBuffer() || !ParseIn6(info[1], &to.sin6_addr) ||
        !ParseIn6(info[2], &pktinfo.ipi6_addr)) {
      Napi::TypeError::New(env, "send(message: Buffer, destination: IPv6 string, source: IPv6 string)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto message = info[0].As<Napi::Buffer<uint8_t>>();
    to.sin6_family = AF_INET6;
    to.sin6_scope_id = ifindex_;
    pktinfo.ipi6_ifindex = ifindex_;
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof pktinfo)] = {};
    iovec iov{message.Data(), message.Length()};
    msghdr msg{};
    msg.msg_name = &to;
    msg.msg_namelen = sizeof to;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pktinfo);
    std::memcpy(CMSG_DATA(c), &pktinfo, sizeof pktinfo);
    if (sendmsg(fd_, &msg, MSG_DONTWAIT) < 0) return ThrowErrno(env, "send ICMPv6", errno);
    return env.Undefined();
  }

  Napi::Value Membership(const Napi::CallbackInfo& info, int option, const char* what) {
    Napi::Env env = info.Env();
    if (!Open()) return ThrowErrno(env, std::string(what) + " on a closed ICMPv6 socket", EBADF);
    ipv6_mreq req{};
    if (info.Length() < 1 || !ParseIn6(info[0], &req.ipv6mr_multiaddr)) {
      Napi::TypeError::New(env, std::string(what) + "(group: IPv6 string)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    req.ipv6mr_interface = ifindex_;
    if (setsockopt(fd_, IPPROTO_IPV6, option, &req, sizeof req) < 0)
      return ThrowErrno(env, std::string(what) + " " + info[0].As<Napi::String>().Utf8Value(), errno);
    return env.Undefined();
  }

  Napi::Value Join(const Napi::CallbackInfo& info) { return Membership(info, IPV6_ADD_MEMBERSHIP, "join"); }
  Napi::Value Leave(const Napi::CallbackInfo& info) { return Membership(info, IPV6_DROP_MEMBERSHIP, "leave"); }
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("interfaceInfo", Napi::Function::New(env, InterfaceInfo));
  exports.Set("ArpSocket", ArpSocket::Define(env));
  exports.Set("Icmp6Socket", Icmp6Socket::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(rawsock, Init)
