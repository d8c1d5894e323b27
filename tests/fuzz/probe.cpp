// Configure-time probe: does clang++ build a libFuzzer binary here (libclang-rt present)?
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) {
    return 0;
}
