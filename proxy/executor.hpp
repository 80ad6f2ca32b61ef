// The one executor type of edgelab-proxy's data path. Every coroutine,
// socket and timer of a worker names its io_context's executor type instead
// of Asio's default, the type-erased any_io_executor: with it every
// operation started and completed copies, moves and destroys an executor
// through a small virtual table (about a tenth of the proxy's own CPU per
// keep-alive request in a profile). A worker's objects never leave its
// io_context, so nothing needs the erasure.
#pragma once

#include <chrono>

#include "net/asio.hpp"

namespace edgelab::proxy {

using Executor = boost::asio::io_context::executor_type;
template <class T = void>
using Task = boost::asio::awaitable<T, Executor>;
inline constexpr boost::asio::use_awaitable_t<Executor> useTask{};
using TcpSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
using TcpAcceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, Executor>;
using Timer = boost::asio::basic_waitable_timer<
    std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;

// Every awaited operation of the proxy reports its error into `ec` instead
// of throwing: no exception on the data path.
inline auto withError(boost::system::error_code& ec) {
    return boost::asio::redirect_error(useTask, ec);
}

}  // namespace edgelab::proxy
