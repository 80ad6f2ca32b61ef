#include "common/json_text.hpp"

#include <memory>
#include <set>

namespace edgelab {

namespace {

using nlohmann::json;

// Follows nlohmann's parser events to know the JSON path of the value being
// parsed, and records every key given twice in one object. When the parser
// stops on a bad value, the path of that value is where() (no event is given
// for a value that does not parse).
class PathTracker {
  public:
    explicit PathTracker(std::vector<std::string>& duplicates) : duplicates_(&duplicates) {}

    bool operator()(int, json::parse_event_t event, json& parsed) {
        using E = json::parse_event_t;
        switch (event) {
            case E::object_start:
            case E::array_start:
                frames_->push_back({where(), event == E::array_start, 0, {}, {}});
                break;
            case E::object_end:
            case E::array_end:
                frames_->pop_back();
                elementDone();
                break;
            case E::key: {
                auto& f = frames_->back();
                f.lastKey = parsed.get<std::string>();
                if (!f.keys.insert(f.lastKey).second)
                    duplicates_->push_back(f.path + "/" + jsonPointerToken(f.lastKey));
                break;
            }
            case E::value:
                elementDone();
                break;
        }
        return true;
    }

    // The path of the element the parser is reading now.
    std::string where() const {
        if (frames_->empty()) return "";
        const auto& f = frames_->back();
        return f.path + "/" + (f.array ? std::to_string(f.index) : jsonPointerToken(f.lastKey));
    }

  private:
    struct Frame {
        std::string path;
        bool array = false;
        std::size_t index = 0;
        std::set<std::string> keys;
        std::string lastKey;
    };
    void elementDone() {
        if (!frames_->empty() && frames_->back().array) ++frames_->back().index;
    }
    std::vector<std::string>* duplicates_;
    // Shared: nlohmann copies the callback, and the copy must see the frames.
    std::shared_ptr<std::vector<Frame>> frames_ = std::make_shared<std::vector<Frame>>();
};

std::string lineAndColumn(std::string_view text, std::size_t byte) {
    // nlohmann reports a 1-based byte offset; people read lines and columns.
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// nlohmann's message without its "[json.exception.parse_error.101] parse
// error at line 1, column 2: " prefix, which the caller says better.
std::string reasonOf(const json::exception& e) {
    std::string what = e.what();
    for (const char* start : {"syntax error", "number overflow", "invalid"}) {
        const auto at = what.find(start);
        if (at != std::string::npos) return what.substr(at);
    }
    const auto bracket = what.find("] ");
    return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

}  // namespace

std::string jsonPointerToken(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

Parsed<json> readJsonText(std::string_view text, JsonReadOptions options) {
    std::vector<std::string> duplicates;
    PathTracker tracker(duplicates);
    json doc;
    try {
        doc = json::parse(text, tracker);
    } catch (const json::parse_error& e) {
        const std::string path = tracker.where();
        return Parsed<json>::failure("not valid JSON at " + lineAndColumn(text, e.byte) +
                                     (path.empty() ? "" : " (in " + path + ")") + ": " +
                                     reasonOf(e));
    } catch (const json::exception& e) {
        // A number beyond a double (out_of_range 406) has no byte offset.
        const std::string path = tracker.where();
        return Parsed<json>::failure("not valid JSON" + (path.empty() ? "" : " at " + path) + ": " +
                                     reasonOf(e));
    }
    if (options.refuseDuplicateKeys && !duplicates.empty())
        return Parsed<json>::failure(duplicates.front() +
                                     ": duplicate key (a JSON object holds each key once)");
    return doc;
}

std::vector<std::string> duplicateKeyPaths(std::string_view text) {
    std::vector<std::string> duplicates;
    json::parse(text, PathTracker(duplicates), false);
    return duplicates;
}

}  // namespace edgelab
