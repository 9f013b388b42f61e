//! `tracemark index`: writes the packet index (§14) of a trace's files, from their packets.

use std::{
    fs::{self, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use tracemark_format::index::encode_packet;
use tracemark_reader::{sidecar_path, FileIndex, IndexPlace, Trace};

use crate::CliResult;

#[derive(clap::Args, Debug)]
pub struct IndexArgs {
    /// Trace directory (an index per stream file, in `index/`) or single-file trace (the index
    /// appended as its last packet, replacing one already there).
    pub path: PathBuf,
}

pub fn run(args: &IndexArgs) -> CliResult {
    let trace = Trace::open(&args.path)?;
    let uuid = trace.metadata().uuid();
    let order = trace.metadata().byte_order();
    let indexes = trace.build_indexes();
    // The files are mapped: unmapped before one is rewritten.
    drop(trace);
    let mut refused = 0;
    for FileIndex { file, place, index } in indexes {
        let index = match index {
            Ok(index) => index,
            Err(reason) => {
                eprintln!("tracemark: no index for {reason}");
                refused += 1;
                continue;
            }
        };
        let path = Path::new(&*file);
        let (written, packet_len) = match place {
            IndexPlace::Trailing { offset, sequence } => {
                let packet = encode_packet(&index, uuid, order, sequence);
                (append_at(path, offset, &packet)?, packet.len())
            }
            IndexPlace::Sidecar => {
                let packet = encode_packet(&index, uuid, order, 0);
                (write_sidecar(path, &packet)?, packet.len())
            }
        };
        let verb = if written { "indexed" } else { "up to date:" };
        println!("{verb} {file}: {} packets, index of {packet_len} bytes", index.entries.len());
    }
    Ok(if refused == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Makes `packet` the end of `path` from `offset`, unless it already is; whether it wrote.
fn append_at(path: &Path, offset: u64, packet: &[u8]) -> std::io::Result<bool> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut present = Vec::new();
    file.seek(SeekFrom::Start(offset))?;
    file.read_to_end(&mut present)?;
    if present == packet {
        return Ok(false);
    }
    file.set_len(offset)?;
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(packet)?;
    file.sync_all()?;
    Ok(true)
}

/// Writes `index/NAME.idx` beside stream file `NAME` (§14.3), through a temporary file renamed
/// into place, so that a reader never sees half an index; whether it wrote.
fn write_sidecar(stream_file: &Path, packet: &[u8]) -> std::io::Result<bool> {
    let Some(target) = sidecar_path(stream_file) else {
        return Err(std::io::Error::other(format!("{}: not a file in a directory", stream_file.display())));
    };
    if let Some(index_dir) = target.parent() {
        fs::create_dir_all(index_dir)?;
    }
    if fs::read(&target).is_ok_and(|present| present == packet) {
        return Ok(false);
    }
    let mut temporary = target.clone().into_os_string();
    temporary.push(".tmp");
    fs::write(&temporary, packet)?;
    fs::rename(&temporary, &target)?;
    Ok(true)
}
