//! Trace configuration: ABI and byte order, CRC, packet sizes, UUID.

use tracemark_format::{packet::PACKET_ALIGN, Abi, HeaderWord, EXTENDED_HEADER_LEN, PACKET_HEADER_LEN};

use crate::{Error, Result};

/// Default data packet size: 64 KiB.
pub const DEFAULT_PACKET_SIZE: u32 = 64 * 1024;
/// Default target size of a metadata packet. Metadata packets are sized to their content
/// (rounded up to 8 bytes, §4.2); this bounds how many records one packet gathers.
pub const DEFAULT_METADATA_PACKET_SIZE: u32 = 4096;

/// How a trace is written. Everything on the wire (packet headers, event headers, payloads,
/// metadata) follows [`Config::abi`], so a test can write the opposite byte order or a 32-bit
/// ABI on any host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Byte order and C type sizes (§2, §3). Default: [`Abi::HOST`].
    pub abi: Abi,
    /// Whether packets carry a CRC (§4.4). Default: on.
    pub crc: bool,
    /// Size of every data packet, a multiple of 8 (§4.2). Default: 64 KiB.
    pub packet_size: u32,
    /// Upper bound of a metadata packet's size (a larger single record gets a packet of its own).
    pub metadata_packet_size: u32,
    /// The trace UUID (§4.6). `std`'s [`Default`] draws a random version 4 UUID.
    pub uuid: [u8; 16],
    /// The records' header word (§5.1). [`HeaderWord::Narrow`] saves 4 bytes per record
    /// (8-bit class IDs and 24-bit timestamp deltas; the others escape to 16 bytes) and makes
    /// data packets version 1.3, which readers before 1.3 refuse. Default: wide.
    pub header_word: HeaderWord,
}

impl Config {
    /// The default configuration with the given UUID (the `no_std` constructor).
    pub const fn with_uuid(uuid: [u8; 16]) -> Config {
        Config {
            abi: Abi::HOST,
            crc: true,
            packet_size: DEFAULT_PACKET_SIZE,
            metadata_packet_size: DEFAULT_METADATA_PACKET_SIZE,
            uuid,
            header_word: HeaderWord::Wide,
        }
    }

    /// Sets the ABI (and so the byte order).
    pub const fn abi(mut self, abi: Abi) -> Config {
        self.abi = abi;
        self
    }

    /// Turns the packet CRC on or off.
    pub const fn crc(mut self, crc: bool) -> Config {
        self.crc = crc;
        self
    }

    /// Sets the data packet size.
    pub const fn packet_size(mut self, packet_size: u32) -> Config {
        self.packet_size = packet_size;
        self
    }

    /// Sets the records' header word (§5.1).
    pub const fn header_word(mut self, header_word: HeaderWord) -> Config {
        self.header_word = header_word;
        self
    }

    /// Sets the trace UUID.
    pub const fn uuid(mut self, uuid: [u8; 16]) -> Config {
        self.uuid = uuid;
        self
    }

    /// Checks the configuration against the format's rules.
    pub fn validate(&self) -> Result<()> {
        if !self.abi.is_valid() {
            return Err(Error::InvalidConfig("every ABI size must be 1, 2, 4 or 8 (§3.2)"));
        }
        for size in [self.packet_size, self.metadata_packet_size] {
            if !(size as usize).is_multiple_of(PACKET_ALIGN) {
                return Err(Error::InvalidConfig("packet sizes must be multiples of 8 (§4.2)"));
            }
            // Room for at least one extended event header, so every event ID can be written.
            if (size as usize) < PACKET_HEADER_LEN + EXTENDED_HEADER_LEN {
                return Err(Error::InvalidConfig("packet sizes must be at least 104 bytes"));
            }
        }
        Ok(())
    }
}

#[cfg(feature = "std")]
impl Default for Config {
    /// Host ABI, CRC on, 64 KiB packets, a random version 4 UUID.
    fn default() -> Config {
        Config::with_uuid(uuid::Uuid::new_v4().into_bytes())
    }
}
