// The two kinds of pattern edgelab matches: globs over ids (check ids in
// --only/--skip and a lab's expectFail) and certificate DNS names over host
// names. One of each, so that the lab rules, the proxy and the checks agree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgelab {

// '*' any run of characters (dots included), '?' one character, everything
// else itself, case-sensitive: check ids are lower case by construction.
bool globMatches(std::string_view glob, std::string_view text);

// Whether a certificate's DNS name (a subjectAltName dNSName) covers a host
// name, as RFC 6125 section 6.4.3 lets a client match it and as browsers and
// HTTP.sys do: ASCII case ignored, a trailing root dot ignored, and "*" only
// as the whole left-most label, standing for exactly one non-empty label
// ("*.contoso.com" covers "meet.contoso.com", neither "contoso.com" nor
// "a.b.contoso.com"). Partial-label wildcards ("f*.contoso.com") and
// wildcards directly under a top-level domain ("*.com") cover nothing.
bool dnsNameCovers(std::string_view certificateName, std::string_view host);

// Whether any of a certificate's subjectAltName DNS names covers the host.
// The subject's CN is not consulted: RFC 9525 section 6.3, which replaced
// RFC 6125, no longer lets a client fall back to it, and browsers do not.
bool dnsNamesCover(const std::vector<std::string>& certificateNames, std::string_view host);

// Levenshtein distance, ASCII case ignored: "did you mean" for a lab's keys
// and values and for the command line's subcommands and options.
std::size_t editDistance(std::string_view a, std::string_view b);

// The candidate nearest to a mistyped word, when it is near enough to be
// what was meant (at most 1 + a quarter of its length away); "" otherwise.
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace edgelab
