// TlsStream over a real loopback TCP connection with real OpenSSL on both
// ends: Beast's HTTP reads and writes through it, reads a byte at a time,
// writes that outrun the peer (OpenSSL's write retried with the same
// record), held writes, close_notify, a reset, and the deadline.
#include "proxy/tls_stream.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include <optional>
#include <string>
#include <vector>

#include "proxy/worker.hpp"
#include "tls_fixture.hpp"

namespace edgelab::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

struct TlsPair : ::testing::Test {
    TlsPair() {
        const auto ca = test::issue("tls stream test root", {}, nullptr);
        const auto leaf = test::issue("server.test", {"server.test"}, &ca);
        SSL_CTX_use_certificate(server.native_handle(), leaf.cert.get());
        SSL_CTX_use_PrivateKey(server.native_handle(), leaf.key.get());
        X509_STORE_add_cert(SSL_CTX_get_cert_store(client.native_handle()), ca.cert.get());
    }

    // Connects a client stream to a server stream on 127.0.0.1 (port 0) and
    // completes both handshakes, the client's with SNI and verification.
    void connect() {
        TcpAcceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        TcpSocket accepted(ioc);
        clientSide.emplace(ioc, client.native_handle());
        SSL* ssl = clientSide->native_handle();
        SSL_set_tlsext_host_name(ssl, "server.test");
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
        SSL_set1_host(ssl, "server.test");
        error_code connected, handshaken, accepted_ec, served;
        acceptor.async_accept(accepted, [&](const error_code& ec) {
            accepted_ec = ec;
            if (ec) return;
            serverSide.emplace(std::move(accepted), server.native_handle());
            serverSide->async_handshake(TlsStream::Side::Server,
                                        [&](const error_code& e) { served = e; });
        });
        clientSide->async_connect(acceptor.local_endpoint(), [&](const error_code& ec) {
            connected = ec;
            if (!ec) {
                clientSide->async_handshake(TlsStream::Side::Client,
                                            [&](const error_code& e) { handshaken = e; });
            }
        });
        ioc.run();
        ioc.restart();
        ASSERT_FALSE(accepted_ec) << accepted_ec.message();
        ASSERT_FALSE(connected) << connected.message();
        ASSERT_FALSE(handshaken) << handshaken.message();
        ASSERT_FALSE(served) << served.message();
    }

    void run(Task<void> a, Task<void> b) {
        asio::co_spawn(ioc, std::move(a), asio::detached);
        asio::co_spawn(ioc, std::move(b), asio::detached);
        ioc.run();
        ioc.restart();
    }

    // Sends `message` from one stream to the other; what arrived.
    std::string carry(TlsStream& from, TlsStream& to, const std::string& message) {
        std::string received(message.size(), '\0');
        error_code readEc, writeEc;
        auto reader = [&]() -> Task<void> {
            co_await asio::async_read(to, asio::buffer(received), withError(readEc));
        };
        auto writer = [&]() -> Task<void> {
            co_await asio::async_write(from, asio::buffer(message), withError(writeEc));
        };
        run(reader(), writer());
        EXPECT_FALSE(readEc) << readEc.message();
        EXPECT_FALSE(writeEc) << writeEc.message();
        return received;
    }

    asio::io_context ioc{1};
    asio::ssl::context server{asio::ssl::context::tls_server};
    asio::ssl::context client{asio::ssl::context::tls_client};
    std::optional<TlsStream> serverSide;
    std::optional<TlsStream> clientSide;
};

TEST_F(TlsPair, BeastRequestAndResponseCrossIt) {
    connect();
    const std::string big(64 * 1024 + 7, 'x');
    http::request<http::string_body> got;
    http::response<http::string_body> answer;
    error_code serverEc, clientEc;
    auto serve = [&]() -> Task<void> {
        beast::flat_buffer buffer;
        co_await http::async_read(*serverSide, buffer, got, withError(serverEc));
        if (serverEc) co_return;
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = big;
        res.prepare_payload();
        co_await http::async_write(*serverSide, res, withError(serverEc));
    };
    auto ask = [&]() -> Task<void> {
        http::request<http::string_body> req{http::verb::post, "/upload", 11};
        req.set(http::field::host, "server.test");
        req.body() = "hello";
        req.prepare_payload();
        co_await http::async_write(*clientSide, req, withError(clientEc));
        if (clientEc) co_return;
        beast::flat_buffer buffer;
        co_await http::async_read(*clientSide, buffer, answer, withError(clientEc));
    };
    run(serve(), ask());
    ASSERT_FALSE(serverEc) << serverEc.message();
    ASSERT_FALSE(clientEc) << clientEc.message();
    EXPECT_EQ(got.target(), "/upload");
    EXPECT_EQ(got.body(), "hello");
    EXPECT_EQ(answer.body(), big);
}

TEST_F(TlsPair, ReadsOneByteAtATime) {
    connect();
    const std::string message = "one record, read back a byte at a time";
    std::string received;
    error_code readEc, writeEc;
    auto reader = [&]() -> Task<void> {
        char c;
        while (received.size() < message.size()) {
            const auto n =
                co_await serverSide->async_read_some(asio::buffer(&c, 1), withError(readEc));
            if (readEc) co_return;
            received.append(&c, n);
        }
    };
    auto writer = [&]() -> Task<void> {
        co_await asio::async_write(*clientSide, asio::buffer(message), withError(writeEc));
    };
    run(reader(), writer());
    ASSERT_FALSE(readEc) << readEc.message();
    ASSERT_FALSE(writeEc) << writeEc.message();
    EXPECT_EQ(received, message);
}

// Many small buffers are gathered into records; several MiB fill the
// socket buffers, so OpenSSL's writes wait and are retried with the bytes
// they sealed, while the reader drains them.
TEST_F(TlsPair, GatheredWritesThatWaitArriveIntact) {
    connect();
    std::vector<std::string> pieces;
    std::string expected;
    for (int i = 0; i < 6000; ++i) {
        pieces.push_back(std::to_string(i) +
                         std::string(static_cast<std::size_t>(i % 700), 'a' + i % 26));
        expected += pieces.back();
    }
    std::vector<asio::const_buffer> buffers;
    for (const auto& p : pieces) buffers.emplace_back(asio::buffer(p));
    std::string received;
    error_code readEc, writeEc;
    auto reader = [&]() -> Task<void> {
        std::vector<char> buf(5000);
        while (received.size() < expected.size()) {
            const auto n =
                co_await serverSide->async_read_some(asio::buffer(buf), withError(readEc));
            if (readEc) co_return;
            received.append(buf.data(), n);
        }
    };
    auto writer = [&]() -> Task<void> {
        co_await asio::async_write(*clientSide, buffers, withError(writeEc));
    };
    run(reader(), writer());
    ASSERT_FALSE(writeEc) << writeEc.message();
    ASSERT_FALSE(readEc) << readEc.message();
    EXPECT_EQ(received.size(), expected.size());
    EXPECT_TRUE(received == expected);
}

// writeAll from this thread's record scratch, as the relay writes: each
// record is built in the scratch, which is overwritten with garbage as soon
// as writeAll returns or waits, as another connection would. Several MiB
// fill the socket buffers, so writes wait and must go on from the copy the
// stream kept.
TEST_F(TlsPair, WritesFromTheScratchSurviveItsReuse) {
    connect();
    std::string expected;
    for (int i = 0; expected.size() < 4 * 1024 * 1024; ++i) expected += std::to_string(i) + ',';
    std::string received;
    error_code readEc, writeEc;
    auto reader = [&]() -> Task<void> {
        std::vector<char> buf(3000);
        while (received.size() < expected.size()) {
            const auto n =
                co_await serverSide->async_read_some(asio::buffer(buf), withError(readEc));
            if (readEc) co_return;
            received.append(buf.data(), n);
            std::memset(tlsRecordScratch(), '#', kTlsRecordPlaintext);
        }
    };
    auto writer = [&]() -> Task<void> {
        for (std::size_t at = 0; at < expected.size() && !writeEc; at += kTlsRecordPlaintext) {
            const std::size_t n = std::min(kTlsRecordPlaintext, expected.size() - at);
            std::memcpy(tlsRecordScratch(), expected.data() + at, n);
            co_await clientSide->writeAll(asio::buffer(tlsRecordScratch(), n), writeEc);
            std::memset(tlsRecordScratch(), '#', kTlsRecordPlaintext);
        }
        // A reader still short of bytes then fails instead of waiting.
        error_code ignored;
        clientSide->socket().shutdown(tcp::socket::shutdown_send, ignored);
    };
    run(reader(), writer());
    ASSERT_FALSE(writeEc) << writeEc.message();
    ASSERT_FALSE(readEc) << readEc.message();
    EXPECT_EQ(received.size(), expected.size());
    EXPECT_TRUE(received == expected);
}

TEST_F(TlsPair, CloseNotifyReadsAsEndOfStream) {
    connect();
    error_code readEc, shutdownEc;
    auto reader = [&]() -> Task<void> {
        char c;
        co_await serverSide->async_read_some(asio::buffer(&c, 1), withError(readEc));
        // The peer waits for ours.
        co_await serverSide->async_shutdown(withError(shutdownEc));
    };
    error_code clientShutdown;
    auto closer = [&]() -> Task<void> {
        co_await clientSide->async_shutdown(withError(clientShutdown));
    };
    run(reader(), closer());
    EXPECT_EQ(readEc, asio::error::eof) << readEc.message();
    EXPECT_FALSE(clientShutdown) << clientShutdown.message();
}

TEST_F(TlsPair, ResetIsAnErrorNotAnEnd) {
    connect();
    error_code readEc;
    auto reader = [&]() -> Task<void> {
        char c;
        co_await serverSide->async_read_some(asio::buffer(&c, 1), withError(readEc));
    };
    auto resetter = [&]() -> Task<void> {
        error_code ignored;
        clientSide->socket().set_option(asio::socket_base::linger(true, 0), ignored);
        clientSide->socket().close(ignored);
        co_return;
    };
    run(reader(), resetter());
    EXPECT_TRUE(readEc);
    EXPECT_NE(readEc, asio::error::eof);
}

TEST_F(TlsPair, ClosedWithoutCloseNotifyIsTruncated) {
    connect();
    error_code readEc;
    auto reader = [&]() -> Task<void> {
        char c;
        co_await serverSide->async_read_some(asio::buffer(&c, 1), withError(readEc));
    };
    auto closer = [&]() -> Task<void> {
        // A FIN without close_notify (close(2) would reset: the server's
        // session ticket lies unread).
        error_code ignored;
        clientSide->socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
    };
    run(reader(), closer());
    EXPECT_EQ(readEc, asio::ssl::error::stream_truncated) << readEc.message();
}

// A pooled connection's receive (receiveAhead) is what the next read waits
// on: the bytes reach the read, and no second receive is started.
TEST_F(TlsPair, AReadJoinsTheReceiveAhead) {
    connect();
    serverSide->receiveAhead();
    ASSERT_TRUE(serverSide->receivingAhead());
    error_code readEc, writeEc;
    std::string got(64, '\0');
    std::size_t n = 0;
    auto reader = [&]() -> Task<void> {
        n = co_await serverSide->readSome(asio::buffer(got), readEc, true);
    };
    auto writer = [&]() -> Task<void> {
        co_await asio::async_write(*clientSide, asio::buffer(std::string("pooled")),
                                   withError(writeEc));
    };
    run(reader(), writer());
    ASSERT_FALSE(readEc) << readEc.message();
    ASSERT_FALSE(writeEc) << writeEc.message();
    EXPECT_EQ(got.substr(0, n), "pooled");
    EXPECT_FALSE(serverSide->receivingAhead());
}

// What the receive ahead brings before anyone reads is kept for the read,
// and marks the connection as not silent.
TEST_F(TlsPair, BytesReceivedAheadWaitForTheRead) {
    connect();
    serverSide->receiveAhead();
    error_code writeEc;
    auto writer = [&]() -> Task<void> {
        co_await asio::async_write(*clientSide, asio::buffer(std::string("early")),
                                   withError(writeEc));
    };
    auto idle = [&]() -> Task<void> { co_return; };
    run(writer(), idle());  // returns once the receive ahead has completed too
    ASSERT_FALSE(writeEc) << writeEc.message();
    EXPECT_FALSE(serverSide->receivingAhead());
    EXPECT_TRUE(serverSide->hasBufferedInput());
    EXPECT_FALSE(serverSide->peerEnded());
    std::string got(64, '\0');
    const auto step = serverSide->readNow(asio::buffer(got));
    ASSERT_EQ(step.want, TlsStream::Want::Nothing);
    ASSERT_FALSE(step.ec) << step.ec.message();
    EXPECT_EQ(got.substr(0, step.bytes), "early");
}

// The peer's close while a connection sits in the pool ends the receive
// ahead and is remembered: the pool never hands the connection out.
TEST_F(TlsPair, APeerCloseEndsTheReceiveAhead) {
    connect();
    serverSide->receiveAhead();
    error_code ignored;
    clientSide->socket().shutdown(tcp::socket::shutdown_send, ignored);
    ioc.run();  // until the receive ahead has completed
    ioc.restart();
    EXPECT_FALSE(serverSide->receivingAhead());
    EXPECT_TRUE(serverSide->peerEnded());
    EXPECT_FALSE(serverSide->hasBufferedInput());
}

TEST_F(TlsPair, AReadPastTheDeadlineTimesOut) {
    connect();
    error_code readEc;
    auto reader = [&]() -> Task<void> {
        char c;
        serverSide->expires_after(std::chrono::milliseconds(20));
        co_await serverSide->async_read_some(asio::buffer(&c, 1), withError(readEc));
    };
    auto silent = [&]() -> Task<void> { co_return; };
    run(reader(), silent());
    EXPECT_EQ(readEc, beast::error::timeout) << readEc.message();
}

// A deadline moved later before the first one passes does not end a read
// that completes in time.
TEST_F(TlsPair, ADeadlineMovedLaterIsTheOneThatCounts) {
    connect();
    error_code readEc, writeEc;
    std::size_t got = 0;
    auto reader = [&]() -> Task<void> {
        char c;
        serverSide->expires_after(std::chrono::milliseconds(1));
        serverSide->expires_after(std::chrono::hours(1));
        got = co_await serverSide->async_read_some(asio::buffer(&c, 1), withError(readEc));
        // The hour-long wait stays armed until the stream is gone.
        serverSide.reset();
    };
    auto writer = [&]() -> Task<void> {
        Timer wait(ioc, std::chrono::milliseconds(30));
        co_await wait.async_wait(useTask);
        co_await asio::async_write(*clientSide, asio::buffer("x", 1), withError(writeEc));
    };
    run(reader(), writer());
    EXPECT_FALSE(readEc) << readEc.message();
    EXPECT_EQ(got, 1u);
}

// An idle connection's record buffers are freed, and the next records in
// either direction are carried as before (OpenSSL allocates them again).
TEST_F(TlsPair, RecordBuffersFreedWhileIdleComeBackForTheNextRecords) {
    connect();
    EXPECT_EQ(carry(*clientSide, *serverSide, "first request"), "first request");
    EXPECT_EQ(carry(*serverSide, *clientSide, "first answer"), "first answer");
    EXPECT_TRUE(serverSide->releaseRecordBuffers());
    EXPECT_TRUE(clientSide->releaseRecordBuffers());
    const std::string big(40000, 'b');
    EXPECT_EQ(carry(*clientSide, *serverSide, "second request"), "second request");
    EXPECT_EQ(carry(*serverSide, *clientSide, big), big);
}

// Bytes received and not yet delivered keep the buffers that hold them.
TEST_F(TlsPair, RecordBuffersHoldingUndeliveredBytesStay) {
    connect();
    const std::string message = "a record read in two parts";
    std::string first(1, '\0');
    error_code readEc, writeEc;
    auto readOne = [&]() -> Task<void> {
        co_await asio::async_read(*serverSide, asio::buffer(first), withError(readEc));
    };
    auto writeAll = [&]() -> Task<void> {
        co_await asio::async_write(*clientSide, asio::buffer(message), withError(writeEc));
    };
    run(readOne(), writeAll());
    ASSERT_FALSE(readEc) << readEc.message();
    ASSERT_FALSE(writeEc) << writeEc.message();
    EXPECT_FALSE(serverSide->releaseRecordBuffers());
    std::string rest(message.size() - 1, '\0');
    auto readRest = [&]() -> Task<void> {
        co_await asio::async_read(*serverSide, asio::buffer(rest), withError(readEc));
    };
    run(readRest(), []() -> Task<void> { co_return; }());
    EXPECT_FALSE(readEc) << readEc.message();
    EXPECT_EQ(first + rest, message);
}

// A TLS 1.3 server's handshake ends with its session ticket held: it goes
// out with the first answer, and the client can resume with it.
TEST_F(TlsPair, TheSessionTicketGoesOutWithTheFirstAnswer) {
    connect();
    EXPECT_GT(serverSide->heldBytes(), 0u);
    EXPECT_EQ(clientSide->heldBytes(), 0u);  // its Finished: the server waits for it
    EXPECT_EQ(carry(*serverSide, *clientSide, "first answer"), "first answer");
    EXPECT_EQ(serverSide->heldBytes(), 0u);
    SSL_SESSION* session = SSL_get1_session(clientSide->native_handle());
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(SSL_SESSION_is_resumable(session), 1);
    SSL_SESSION_free(session);
}

// What is held goes out before the stream waits for its peer, who may be
// waiting for it.
TEST_F(TlsPair, WhatIsHeldGoesOutBeforeAWaitForThePeer) {
    connect();
    ASSERT_GT(serverSide->heldBytes(), 0u);
    char c = 0;
    error_code readEc;
    asio::co_spawn(
        ioc, [&]() -> Task<void> { co_await serverSide->readSome(asio::buffer(&c, 1), readEc); },
        asio::detached);
    ioc.poll();  // the read finds nothing and waits
    ASSERT_EQ(serverSide->heldBytes(), 0u);
    // The client receives the ticket while the server waits, and answers.
    int resumable = -1;
    error_code clientEc;
    run(
        [&]() -> Task<void> {
            co_await clientSide->async_wait(TlsStream::Want::Read, withError(clientEc));
            if (clientEc) co_return;
            char none;
            if (clientSide->readStep(asio::buffer(&none, 1)).want != TlsStream::Want::Read)
                co_return;
            SSL_SESSION* session = SSL_get1_session(clientSide->native_handle());
            resumable = SSL_SESSION_is_resumable(session);
            SSL_SESSION_free(session);
            co_await clientSide->writeAll(asio::buffer("x", 1), clientEc);
        }(),
        []() -> Task<void> { co_return; }());
    EXPECT_FALSE(clientEc) << clientEc.message();
    EXPECT_EQ(resumable, 1);
    EXPECT_FALSE(readEc) << readEc.message();
    EXPECT_EQ(c, 'x');
}

// A last answer written held and the close_notify after it: both arrive,
// in order, once the close_notify is out.
TEST_F(TlsPair, ALastAnswerGoesOutWithItsCloseNotify) {
    connect();
    const std::string answer = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbye";
    error_code writeEc;
    serverSide->holdWrites();
    run([&]() -> Task<void> { co_await serverSide->writeAll(asio::buffer(answer), writeEc); }(),
        []() -> Task<void> { co_return; }());
    ASSERT_FALSE(writeEc) << writeEc.message();
    EXPECT_GT(serverSide->heldBytes(), answer.size());  // the ticket and the answer
    const TlsStream::Step closed = serverSide->closeNotifyStep();
    EXPECT_EQ(closed.want, TlsStream::Want::Nothing);
    EXPECT_FALSE(closed.ec) << closed.ec.message();
    EXPECT_EQ(serverSide->heldBytes(), 0u);
    std::string received;
    error_code readEc;
    run(
        [&]() -> Task<void> {
            char buf[256];
            for (;;) {
                const auto n =
                    co_await clientSide->async_read_some(asio::buffer(buf), withError(readEc));
                if (readEc) co_return;
                received.append(buf, n);
            }
        }(),
        []() -> Task<void> { co_return; }());
    EXPECT_EQ(received, answer);
    EXPECT_EQ(readEc, asio::error::eof) << readEc.message();
}

// More than a block's worth is not held: what was held goes first, then the
// rest, in order, also when the socket takes only part at a time.
TEST_F(TlsPair, WritesPastWhatCanBeHeldGoOutInOrder) {
    connect();
    serverSide->socket().set_option(asio::socket_base::send_buffer_size(4096));
    std::string expected = "held first;";
    for (int i = 0; expected.size() < 512 * 1024; ++i) expected += std::to_string(i) + ',';
    std::string received(expected.size(), '\0');
    error_code readEc, writeEc;
    serverSide->holdWrites();
    auto writer = [&]() -> Task<void> {
        co_await serverSide->writeAll(asio::buffer(expected.data(), 11), writeEc);
        if (writeEc) co_return;
        co_await serverSide->writeAll(asio::buffer(expected.data() + 11, expected.size() - 11),
                                      writeEc);
    };
    auto reader = [&]() -> Task<void> {
        co_await asio::async_read(*clientSide, asio::buffer(received), withError(readEc));
    };
    run(writer(), reader());
    ASSERT_FALSE(writeEc) << writeEc.message();
    ASSERT_FALSE(readEc) << readEc.message();
    EXPECT_EQ(serverSide->heldBytes(), 0u);
    EXPECT_TRUE(received == expected);
}

// A wait is idle through a period once a whole sweep period has passed
// since it began: not at the first sweep after it began, at the second.
TEST(IdleSweep, AWaitIsIdleThroughAPeriodFromTheSecondSweepOn) {
    EXPECT_FALSE(idleThroughAPeriod(4, 4));
    EXPECT_FALSE(idleThroughAPeriod(4, 5));
    EXPECT_TRUE(idleThroughAPeriod(4, 6));
    EXPECT_TRUE(idleThroughAPeriod(0, 9));
}

}  // namespace
}  // namespace edgelab::proxy
