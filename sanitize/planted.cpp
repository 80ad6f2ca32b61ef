// `make sanitize-planted`: a bug planted in edgelab-proxy-planted (the proxy
// with this file linked in), to show that a sanitizer report fails
// `make sanitize` even where no test would notice it. It runs before main,
// and the proxy then serves as usual, so the tests pointed at it pass.
//   ThreadSanitizer: two threads increment one int with no lock.
//   AddressSanitizer: 4 KiB allocated and the only pointer dropped, a leak
//   that LeakSanitizer reports when the proxy exits (SIGTERM, at the end of
//   each test), where nothing of the test looks.
#include <cstdlib>
#include <thread>

namespace {

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EDGELAB_PLANTED_RACE 1
#endif
#endif

#ifdef EDGELAB_PLANTED_RACE
int counter = 0;

struct PlantedRace {
    PlantedRace() {
        std::thread a([] { ++counter; });
        std::thread b([] { ++counter; });
        a.join();
        b.join();
    }
} planted;
#else
void* volatile kept = nullptr;

struct PlantedLeak {
    PlantedLeak() {
        kept = std::malloc(4096);
        kept = nullptr;
    }
} planted;
#endif

}  // namespace
