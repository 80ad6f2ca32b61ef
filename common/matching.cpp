#include "common/matching.hpp"

#include <algorithm>

#include "common/ascii.hpp"

namespace edgelab {

bool globMatches(std::string_view glob, std::string_view text) {
    // Iterative match with single-star backtracking: linear enough for ids,
    // and no fnmatch flags to get wrong about dots.
    std::size_t g = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (g < glob.size() && (glob[g] == '?' || glob[g] == text[t])) {
            ++g, ++t;
        } else if (g < glob.size() && glob[g] == '*') {
            star = g++, mark = t;
        } else if (star != std::string_view::npos) {
            g = star + 1, t = ++mark;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == '*') ++g;
    return g == glob.size();
}

namespace {

std::string_view withoutRootDot(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return name;
}

}  // namespace

bool dnsNameCovers(std::string_view certificateName, std::string_view host) {
    certificateName = withoutRootDot(certificateName);
    host = withoutRootDot(host);
    if (certificateName.empty() || host.empty()) return false;
    if (!certificateName.starts_with("*.")) {
        return certificateName.find('*') == std::string_view::npos &&
               iequals(certificateName, host);
    }
    const std::string_view parent = certificateName.substr(2);
    // "*.com" would cover every name under a top-level domain.
    if (parent.find('.') == std::string_view::npos || parent.find('*') != std::string_view::npos)
        return false;
    const auto dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    return iequals(host.substr(dot + 1), parent);
}

bool dnsNamesCover(const std::vector<std::string>& certificateNames, std::string_view host) {
    for (const auto& name : certificateNames)
        if (dnsNameCovers(name, host)) return true;
    return false;
}

std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            const bool same = asciiLowerChar(a[i - 1]) == asciiLowerChar(b[j - 1]);
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t bestDistance = 1 + word.size() / 4 + 1;
    for (const auto& c : candidates) {
        const auto d = editDistance(word, c);
        if (d < bestDistance) {
            bestDistance = d;
            best = c;
        }
    }
    return best;
}

}  // namespace edgelab
