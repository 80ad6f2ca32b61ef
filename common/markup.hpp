// Text made safe inside HTML and XML, for every page and document edgelab
// writes (the backends' pages, the proxy's error pages, the reports).
#pragma once

#include <string>
#include <string_view>

namespace edgelab {

// Escapes & < > " and ' : safe in element content and in quoted attribute
// values of HTML and XML alike.
std::string escapeMarkup(std::string_view text);

// escapeMarkup, plus what an XML 1.0 attribute value needs: line breaks kept
// as &#10; (a parser would fold a raw one to a space) and the control
// characters XML 1.0 forbids dropped.
std::string escapeXmlAttribute(std::string_view text);

}  // namespace edgelab
