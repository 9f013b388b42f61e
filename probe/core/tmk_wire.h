/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * tmk_wire.h - wire constants of the tracemark format, version 1.0.
 * Every number here is cited from spec/SPEC.md; nothing is invented.
 */
#ifndef TMK_WIRE_H
#define TMK_WIRE_H

#include "../shim/tmk_shim.h"

/* §2.2, §4.1 */
#define TMK_MAGIC		0x4B4D5254u
#define TMK_VERSION_MAJOR	1
#define TMK_VERSION_MINOR	1
#define TMK_PKT_HEADER_LEN	80u

/* §4.1 field offsets */
#define TMK_PH_MAGIC		0
#define TMK_PH_VERSION_MAJOR	4
#define TMK_PH_VERSION_MINOR	5
#define TMK_PH_HEADER_LEN	6
#define TMK_PH_FLAGS		8
#define TMK_PH_CRC32		12
#define TMK_PH_UUID		16
#define TMK_PH_STREAM_CLASS	32
#define TMK_PH_STREAM_INSTANCE	36
#define TMK_PH_SEQUENCE		40
#define TMK_PH_TS_BEGIN		48
#define TMK_PH_TS_END		56
#define TMK_PH_CONTENT_SIZE	64
#define TMK_PH_PACKET_SIZE	68
#define TMK_PH_DISCARDED	72

/* §4.3 */
#define TMK_PKT_FLAG_HAS_CRC	(1u << 0)
#define TMK_PKT_FLAG_METADATA	(1u << 1)

/* §5 */
#define TMK_EV_ID_EXTENDED	0xFFFFu
#define TMK_EV_TS_BITS		48
#define TMK_EV_TS_MASK		((UINT64_C(1) << TMK_EV_TS_BITS) - 1)
#define TMK_EV_COMPACT_LEN	8u
#define TMK_EV_EXTENDED_LEN	20u

/* §6 type codes */
enum tmk_type_code {
	TMK_T_BOOL	= 0x01,
	TMK_T_U8	= 0x02,
	TMK_T_U16	= 0x03,
	TMK_T_U32	= 0x04,
	TMK_T_U64	= 0x05,
	TMK_T_I8	= 0x06,
	TMK_T_I16	= 0x07,
	TMK_T_I32	= 0x08,
	TMK_T_I64	= 0x09,
	TMK_T_F32	= 0x0A,
	TMK_T_F64	= 0x0B,
	TMK_T_SHORT	= 0x10,
	TMK_T_USHORT	= 0x11,
	TMK_T_INT	= 0x12,
	TMK_T_UINT	= 0x13,
	TMK_T_LONG	= 0x14,
	TMK_T_ULONG	= 0x15,
	TMK_T_LLONG	= 0x16,
	TMK_T_ULLONG	= 0x17,
	TMK_T_SIZE_T	= 0x18,
	TMK_T_SSIZE_T	= 0x19,
	TMK_T_POINTER	= 0x1A,
	TMK_T_STRING	= 0x20,
	TMK_T_BLOB	= 0x21,
	TMK_T_ARRAY	= 0x22,
	TMK_T_SEQUENCE	= 0x23,
	TMK_T_ENUM	= 0x24,
	TMK_T_STRUCT	= 0x25,
};

/* §7 metadata record kinds */
enum tmk_meta_kind {
	TMK_META_TRACE		= 1,
	TMK_META_CLOCK		= 2,
	TMK_META_STREAM_CLASS	= 3,
	TMK_META_EVENT_CLASS	= 4,
	TMK_META_ENV		= 5,
};
#define TMK_META_ENVELOPE_LEN	8u
/* §7.2 envelope flag (1.1): the body's last 4 bytes are the record's CRC-32. */
#define TMK_META_CHECKED	0x0001u
#define TMK_META_CHECK_LEN	4u

/* §7.6 layout_kind */
#define TMK_LAYOUT_FIELDS	0
#define TMK_LAYOUT_MARKER	1

/* §7.6 log_level */
#define TMK_LOGLEVEL_UNSPECIFIED 255

/* §7.9 value kinds */
#define TMK_ENV_STR		0
#define TMK_ENV_I64		1

/* §7.8 FNV-1a 64 */
#define TMK_FNV_OFFSET		UINT64_C(0xcbf29ce484222325)
#define TMK_FNV_PRIME		UINT64_C(0x100000001b3)

/* §6.7: nesting limit a reader enforces; the writer refuses deeper. */
#define TMK_MAX_NESTING		32

#endif /* TMK_WIRE_H */
