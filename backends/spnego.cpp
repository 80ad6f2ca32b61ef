#include "backends/spnego.hpp"

#include <climits>
#include <optional>

#include <openssl/asn1.h>
#include <openssl/objects.h>

namespace edgelab::backends {

namespace {

constexpr const char* kSpnegoOid = "1.3.6.1.5.5.2";

// One DER element read with ASN1_get_object: its tag, class, whether it is
// constructed, and where its content is.
struct Element {
    int tag = 0;
    int xclass = 0;
    bool constructed = false;
    const unsigned char* content = nullptr;
    long length = 0;
    const unsigned char* end = nullptr;  // just past the element
};

std::optional<Element> readElement(const unsigned char* p, const unsigned char* limit) {
    if (p >= limit) return std::nullopt;
    Element e;
    const unsigned char* q = p;
    const long available = static_cast<long>(limit - p);
    const int flags = ASN1_get_object(&q, &e.length, &e.tag, &e.xclass, available);
    // 0x80: an error; 0x01: the indefinite form, which DER does not allow.
    if ((flags & 0x80) || (flags & 0x01)) return std::nullopt;
    if (e.length < 0 || e.length > limit - q) return std::nullopt;
    e.constructed = (flags & V_ASN1_CONSTRUCTED) != 0;
    e.content = q;
    e.end = q + e.length;
    return e;
}

// The dotted form of an OBJECT IDENTIFIER element.
std::optional<std::string> oidText(const unsigned char* start, const Element& e) {
    const unsigned char* p = start;
    ASN1_OBJECT* obj = d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(e.end - start));
    if (!obj) return std::nullopt;
    char buf[128];
    const int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
    ASN1_OBJECT_free(obj);
    if (n <= 0 || n >= static_cast<int>(sizeof buf)) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<Der> octets(const Element& wrapper) {
    auto inner = readElement(wrapper.content, wrapper.end);
    if (!inner || inner->tag != V_ASN1_OCTET_STRING || inner->xclass != V_ASN1_UNIVERSAL ||
        inner->constructed)
        return std::nullopt;
    return Der(inner->content, inner->end);
}

Parsed<std::vector<std::string>> mechTypes(const Element& wrapper) {
    using P = Parsed<std::vector<std::string>>;
    auto seq = readElement(wrapper.content, wrapper.end);
    if (!seq || seq->tag != V_ASN1_SEQUENCE || !seq->constructed)
        return P::failure("mechTypes is not a SEQUENCE");
    std::vector<std::string> out;
    for (const unsigned char* p = seq->content; p < seq->end;) {
        auto oid = readElement(p, seq->end);
        if (!oid || oid->tag != V_ASN1_OBJECT) return P::failure("a mechType is not an OID");
        auto text = oidText(p, *oid);
        if (!text) return P::failure("a mechType is not an OID");
        out.push_back(*text);
        p = oid->end;
    }
    return out;
}

// The fields of a NegTokenInit or NegTokenResp SEQUENCE, by context tag.
Parsed<SpnegoToken> readFields(const Element& seq, bool init) {
    using P = Parsed<SpnegoToken>;
    SpnegoToken t;
    t.init = init;
    for (const unsigned char* p = seq.content; p < seq.end;) {
        auto field = readElement(p, seq.end);
        if (!field || field->xclass != V_ASN1_CONTEXT_SPECIFIC || !field->constructed)
            return P::failure("a field of the token is not a context-tagged element");
        if (init && field->tag == 0) {
            auto mechs = mechTypes(*field);
            if (!mechs) return P::failure(mechs.error());
            t.mechTypes = *mechs;
        } else if (field->tag == 2 || field->tag == 3) {
            auto value = octets(*field);
            if (!value) return P::failure("a token or MIC field is not an OCTET STRING");
            (field->tag == 2 ? t.mechToken : t.mechListMic) = std::move(*value);
        } else if (field->tag > 3) {
            return P::failure("the token has a field tagged [" + std::to_string(field->tag) + "]");
        }
        p = field->end;
    }
    return t;
}

void putElement(Der& out, int constructed, int tag, int xclass, const Der& content) {
    const int total = ASN1_object_size(constructed, static_cast<int>(content.size()), tag);
    if (total <= 0) return;
    Der header(static_cast<std::size_t>(total) - content.size());
    unsigned char* p = header.data();
    ASN1_put_object(&p, constructed, static_cast<int>(content.size()), tag, xclass);
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), content.begin(), content.end());
}

Der element(int constructed, int tag, int xclass, const Der& content) {
    Der out;
    putElement(out, constructed, tag, xclass, content);
    return out;
}

}  // namespace

bool looksLikeSpnego(const Der& token) {
    return !token.empty() && (token[0] == 0x60 || token[0] == 0xa1);
}

Parsed<SpnegoToken> parseSpnego(const Der& token) {
    using P = Parsed<SpnegoToken>;
    const unsigned char* begin = token.data();
    const unsigned char* limit = begin + token.size();
    auto outer = readElement(begin, limit);
    if (!outer || outer->end != limit)
        return P::failure("the token is not one complete DER element");
    if (outer->xclass == V_ASN1_CONTEXT_SPECIFIC && outer->tag == 1 && outer->constructed) {
        auto seq = readElement(outer->content, outer->end);
        if (!seq || seq->tag != V_ASN1_SEQUENCE || !seq->constructed)
            return P::failure("the NegTokenResp is not a SEQUENCE");
        return readFields(*seq, false);
    }
    if (outer->xclass != V_ASN1_APPLICATION || outer->tag != 0 || !outer->constructed)
        return P::failure("the token is neither a GSS-API InitialContextToken nor a NegTokenResp");
    auto mech = readElement(outer->content, outer->end);
    if (!mech || mech->tag != V_ASN1_OBJECT || oidText(outer->content, *mech) != kSpnegoOid)
        return P::failure("the InitialContextToken is not for SPNEGO (1.3.6.1.5.5.2)");
    auto choice = readElement(mech->end, outer->end);
    if (!choice || choice->xclass != V_ASN1_CONTEXT_SPECIFIC || choice->tag != 0)
        return P::failure("the InitialContextToken holds no NegTokenInit");
    auto seq = readElement(choice->content, choice->end);
    if (!seq || seq->tag != V_ASN1_SEQUENCE || !seq->constructed)
        return P::failure("the NegTokenInit is not a SEQUENCE");
    return readFields(*seq, true);
}

Der negTokenResp(NegState state, bool withSupportedMech, const Der& responseToken) {
    Der fields;
    const Der enumerated =
        element(0, V_ASN1_ENUMERATED, V_ASN1_UNIVERSAL, {static_cast<std::uint8_t>(state)});
    putElement(fields, 1, 0, V_ASN1_CONTEXT_SPECIFIC, enumerated);
    if (withSupportedMech) {
        ASN1_OBJECT* ntlm = OBJ_txt2obj(kNtlmsspOid, 1);
        const int n = ntlm ? i2d_ASN1_OBJECT(ntlm, nullptr) : 0;
        Der oid(static_cast<std::size_t>(n > 0 ? n : 0));
        unsigned char* p = oid.data();
        if (n > 0) i2d_ASN1_OBJECT(ntlm, &p);
        ASN1_OBJECT_free(ntlm);
        putElement(fields, 1, 1, V_ASN1_CONTEXT_SPECIFIC, oid);
    }
    if (!responseToken.empty())
        putElement(fields, 1, 2, V_ASN1_CONTEXT_SPECIFIC,
                   element(0, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL, responseToken));
    return element(1, 1, V_ASN1_CONTEXT_SPECIFIC,
                   element(1, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, fields));
}

}  // namespace edgelab::backends
