// ipcrypt as draft-denis-ipcrypt-13 defines it: encryption of IP addresses that yields IP
// addresses, on their 16-byte form (IPv4 as IPv4-mapped IPv6, ::ffff:a.b.c.d).
// ipcrypt-deterministic is AES-128 on that block; ipcrypt-pfx is prefix-preserving (two
// addresses sharing their first n bits encrypt to addresses sharing their first n bits)
// with the XOR of two AES-128 encryptions as the PRF of each bit. Pure; OpenSSL for AES.
#pragma once

#include <sqs2pg/mask/primitives.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::mask {

/// An address in the draft's 16-byte representation (network byte order).
using ip16 = std::array<unsigned char, 16>;

/// True if `a` lies in ::ffff:0:0/96, the IPv4-mapped form of an IPv4 address.
bool is_ipv4_mapped(const ip16& a) noexcept;

/// The 16-byte form of `text`: an IPv4 address in strict dotted decimal (inet_pton: four
/// decimal parts, no leading zeros) as ::ffff:a.b.c.d, or an IPv6 address (inet_pton; no
/// zone id). nullopt for anything else. No trimming: callers trim first.
std::optional<ip16> parse_ip16(std::string_view text);

/// The text of `a` as the draft's bytes_16_to_ip writes it: dotted decimal for an
/// IPv4-mapped address, otherwise RFC 5952 IPv6 (lowercase hex, no leading zeros, the first
/// longest run of two or more zero groups as "::"), never in mixed notation.
std::string format_ip16(const ip16& a);

/// ipcrypt-deterministic: AES-128 applied to the 16-byte form. An IPv4 input usually
/// comes out as an IPv6 address (the draft does not keep IPv4 as IPv4 here). Move-only;
/// not thread-safe.
class ipcrypt_deterministic {
public:
    static constexpr std::size_t key_size = 16;

    /// Throws std::invalid_argument unless `key` is 16 bytes.
    explicit ipcrypt_deterministic(std::string_view key);

    ip16 encrypt(const ip16& ip) const;
    ip16 decrypt(const ip16& ip) const;

private:
    aes128 aes_;
};

/// ipcrypt-pfx: prefix-preserving, with the 32-byte key split into two AES-128 keys K1 and
/// K2. Bit i of the output is bit i of the input XOR the low bit of AES(K1, p) ^ AES(K2, p),
/// p being the input's first i bits padded as zeros || 1 || prefix. An IPv4 address
/// (IPv4-mapped) is encrypted from bit 96 on and stays IPv4; an IPv6 address from bit 0.
/// Encryption computes the 32 (IPv4) or 128 (IPv6) PRF blocks in two AES calls (the input's
/// bits are all known); decryption needs each decrypted bit for the next block, so it makes
/// two calls per bit. Move-only; not thread-safe.
class ipcrypt_pfx {
public:
    static constexpr std::size_t key_size = 32;

    /// `key` = K1 || K2. Throws std::invalid_argument unless it is 32 bytes with two
    /// different halves: equal halves cancel out and every address would encrypt to itself.
    explicit ipcrypt_pfx(std::string_view key);

    ip16 encrypt(const ip16& ip) const;
    ip16 decrypt(const ip16& ip) const;

private:
    aes128 k1_;
    aes128 k2_;
};

} // namespace sqs2pg::mask
