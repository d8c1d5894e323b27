// Fixed test keyrings shared by the mask tests (never used outside tests).
#pragma once

#include <sqs2pg/mask/keyring.hpp>

#include <gtest/gtest.h>

#include <string>

namespace sqs2pg::mask::testing {

/// Bytes 00..1f: the key the Python cross-checks in the tests were computed with.
inline constexpr std::string_view key_0_to_31 =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
inline constexpr std::string_view other_key =
    "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff";

inline keyring ring(std::string_view text) {
    auto r = parse_keyring(text, "test");
    if (!r)
        throw std::runtime_error(r.error().message);
    return std::move(*r);
}

inline keyring ring_k1() {
    return ring("k1 " + std::string(key_0_to_31));
}

} // namespace sqs2pg::mask::testing
