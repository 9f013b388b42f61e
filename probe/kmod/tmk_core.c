// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The writer core, built into the module as one translation unit.
 * Kbuild only compiles objects inside M=, so the shared sources in
 * ../core are included here rather than copied.
 */
#include "../core/tmk_crc32.c"
#include "../core/tmk_pkt.c"
#include "../core/tmk_meta.c"
#include "../core/tmk_rb.c"
#include "../core/tmk_marker.c"
