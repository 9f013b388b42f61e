// SPDX-License-Identifier: MIT OR Apache-2.0
/* Packet header (§4) and out-of-line payload helpers (§6). */
#include "tmk_encode.h"
#include "tmk_crc32.h"

void tmk_pkt_write_open(void *pkt, const uint8_t uuid[16], uint32_t flags,
			uint32_t stream_class_id, uint32_t stream_instance_id,
			uint64_t sequence, uint64_t ts_begin,
			uint32_t packet_size)
{
	uint8_t *b = pkt;

	tmk_st32(b + TMK_PH_MAGIC, TMK_MAGIC);
	tmk_st8(b + TMK_PH_VERSION_MAJOR, TMK_VERSION_MAJOR);
	tmk_st8(b + TMK_PH_VERSION_MINOR, TMK_VERSION_MINOR);
	tmk_st16(b + TMK_PH_HEADER_LEN, TMK_PKT_HEADER_LEN);
	tmk_st32(b + TMK_PH_FLAGS, flags);
	tmk_st32(b + TMK_PH_CRC32, 0);	/* §4.4: 0 unless sealed with CRC */
	tmk_memcpy(b + TMK_PH_UUID, uuid, 16);
	tmk_st32(b + TMK_PH_STREAM_CLASS, stream_class_id);
	tmk_st32(b + TMK_PH_STREAM_INSTANCE, stream_instance_id);
	tmk_st64(b + TMK_PH_SEQUENCE, sequence);
	tmk_st64(b + TMK_PH_TS_BEGIN, ts_begin);
	tmk_st32(b + TMK_PH_PACKET_SIZE, packet_size);
}

void tmk_pkt_write_close(void *pkt, uint64_t ts_end, uint32_t content_size,
			 uint64_t events_discarded)
{
	uint8_t *b = pkt;

	tmk_st64(b + TMK_PH_TS_END, ts_end);
	tmk_st32(b + TMK_PH_CONTENT_SIZE, content_size);
	tmk_st64(b + TMK_PH_DISCARDED, events_discarded);
}

uint32_t tmk_pkt_crc(const void *pkt)
{
	const uint8_t *b = pkt;
	uint32_t content = tmk_ld32(b + TMK_PH_CONTENT_SIZE);
	uint32_t crc;

	/* §4.4: bytes [0, 12) then [16, content_size). */
	crc = tmk_crc32_update(0, b, TMK_PH_CRC32);
	return tmk_crc32_update(crc, b + TMK_PH_UUID,
				content - (TMK_PH_CRC32 + 4));
}

void tmk_pkt_seal(void *pkt)
{
	uint8_t *b = pkt;
	uint32_t content = tmk_ld32(b + TMK_PH_CONTENT_SIZE);
	uint32_t size = tmk_ld32(b + TMK_PH_PACKET_SIZE);

	if (size > content)
		tmk_memset(b + content, 0, size - content);
	if (tmk_ld32(b + TMK_PH_FLAGS) & TMK_PKT_FLAG_HAS_CRC)
		tmk_st32(b + TMK_PH_CRC32, tmk_pkt_crc(b));
	else
		tmk_st32(b + TMK_PH_CRC32, 0);
}

void tmk_put_string(struct tmk_cursor *c, const char *s, uint32_t size)
{
	uint32_t i = 0;

	if (s) {
		for (; i + 1 < size && s[i]; i++)
			c->p[i] = (uint8_t)s[i];
	}
	for (; i + 1 < size; i++)
		c->p[i] = '?';
	c->p[i] = 0;
	c->p += size;
}
