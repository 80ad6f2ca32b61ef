// The one way edgelab includes Asio and Beast.
//
// Boost 1.74's awaitable header uses std::exchange without including
// <utility>; g++ 12 in C++20 needs it first. The implementation is compiled
// once in asio_beast.cpp (BOOST_ASIO_SEPARATE_COMPILATION).
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
