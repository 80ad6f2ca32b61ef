// Preloaded into finch by sipe_signin_test.py only. pidgin-sipe 1.25 parses
// every XML document (autodiscover, WSDL, SOAP) with a SAX1 handler whose
// `initialized` is XML_SAX2_MAGIC and whose SAX2 element callbacks are NULL
// (src/core/sipe-xml.c); libxml2 documents that as SAX1. Debian 12's libxml2
// (2.9.14+dfsg-1.3~deb12u4 and ~deb12u6 at least) parses it as SAX2 instead
// and calls none of the element callbacks, so sipe reads every document as
// empty and cannot sign in anywhere. This restores the documented reading: the
// same handler, marked as SAX1, handed to the real xmlSAXUserParseMemory.
// Nothing else in the client changes.
#include <dlfcn.h>
#include <libxml/parser.h>

namespace {
using Parse = int (*)(xmlSAXHandlerPtr, void*, const char*, int);
}

extern "C" int xmlSAXUserParseMemory(xmlSAXHandlerPtr sax, void* userData, const char* buffer,
                                     int size) {
    static const Parse real = reinterpret_cast<Parse>(dlsym(RTLD_NEXT, "xmlSAXUserParseMemory"));
    if (sax != nullptr && sax->initialized == XML_SAX2_MAGIC && sax->startElementNs == nullptr &&
        sax->endElementNs == nullptr &&
        (sax->startElement != nullptr || sax->endElement != nullptr)) {
        xmlSAXHandler sax1 = *sax;
        sax1.initialized = 1;
        return real(&sax1, userData, buffer, size);
    }
    return real(sax, userData, buffer, size);
}
