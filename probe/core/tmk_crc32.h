/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#ifndef TMK_CRC32_H
#define TMK_CRC32_H

#include "../shim/tmk_shim.h"

/*
 * zlib-compatible: tmk_crc32_update(0, buf, len) == crc32(0, buf, len),
 * and chaining tmk_crc32_update(tmk_crc32_update(0, a, n), b, m) gives the
 * CRC of the concatenation a || b (SPEC §4.4 covers two ranges).
 */
uint32_t tmk_crc32_update(uint32_t crc, const void *buf, size_t len);

#endif /* TMK_CRC32_H */
