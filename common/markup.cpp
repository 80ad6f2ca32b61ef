#include "common/markup.hpp"

namespace edgelab {

namespace {

std::string escape(std::string_view text, bool attribute) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            case '\n':
                if (attribute)
                    out += "&#10;";
                else
                    out += c;
                break;
            default:
                if (attribute && static_cast<unsigned char>(c) < 0x20 && c != '\t') break;
                out += c;
        }
    }
    return out;
}

}  // namespace

std::string escapeMarkup(std::string_view text) { return escape(text, false); }

std::string escapeXmlAttribute(std::string_view text) { return escape(text, true); }

}  // namespace edgelab
