//! Where an export's tables go: one trace's directory, or one partition of a fleet's.
//!
//! Without a partition, `OUT/events/NAME/part-NNNNN.parquet` and `OUT/{packets,diagnostics,
//! trace}.parquet`, and `OUT` must be new or empty. With a partition `KEY=VALUE` (`host=web1`),
//! every table is a directory of partitions, as Hive, Spark, DataFusion and DuckDB lay out a
//! partitioned table: `OUT/events/NAME/KEY=VALUE/part-NNNNN.parquet` and
//! `OUT/{packets,diagnostics,trace}/KEY=VALUE/part-00000.parquet`; `OUT` may hold other
//! partitions, not this one.

use std::path::{Path, PathBuf};

use crate::{table::Place, ColumnarError};

/// An export's output layout.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    out: PathBuf,
    partition: Option<String>,
}

impl Layout {
    /// The layout of `out`, partitioned by `partition` (`KEY=VALUE`) if given.
    pub(crate) fn new(out: &Path, partition: Option<&str>) -> Result<Layout, ColumnarError> {
        if let Some(partition) = partition {
            check_partition(partition)?;
        }
        Ok(Layout { out: out.to_owned(), partition: partition.map(str::to_owned) })
    }

    /// Makes the output ready: `OUT` created or found empty; with a partition, the `trace`
    /// table's partition directory created, which fails if an export made it before.
    pub(crate) fn prepare(&self) -> Result<(), ColumnarError> {
        fn io(path: &Path) -> impl Fn(std::io::Error) -> ColumnarError + '_ {
            move |source| ColumnarError::Io { path: path.to_owned(), source }
        }
        match &self.partition {
            None => match std::fs::read_dir(&self.out) {
                Ok(mut entries) => match entries.next() {
                    Some(_) => Err(ColumnarError::OutputNotEmpty { path: self.out.clone() }),
                    None => Ok(()),
                },
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir_all(&self.out).map_err(io(&self.out))
                }
                Err(error) => Err(io(&self.out)(error)),
            },
            Some(partition) => {
                let tables = self.out.join("trace");
                std::fs::create_dir_all(&tables).map_err(io(&tables))?;
                let claimed = tables.join(partition);
                std::fs::create_dir(&claimed).map_err(|source| {
                    if source.kind() == std::io::ErrorKind::AlreadyExists {
                        ColumnarError::PartitionExists { path: claimed.clone() }
                    } else {
                        io(&claimed)(source)
                    }
                })
            }
        }
    }

    /// The place of event table `name` (a directory name).
    pub(crate) fn event_table(&self, name: &str) -> Place {
        let dir = self.out.join("events").join(name);
        Place::Parts(match &self.partition {
            Some(partition) => dir.join(partition),
            None => dir,
        })
    }

    /// The place of table `name` (`packets`, `diagnostics`, `trace`).
    pub(crate) fn table(&self, name: &str) -> Place {
        Place::File(match &self.partition {
            Some(partition) => self.out.join(name).join(partition).join("part-00000.parquet"),
            None => self.out.join(format!("{name}.parquet")),
        })
    }
}

/// A partition is `KEY=VALUE`: a key of letters, digits and `_` not starting with a digit, a
/// value of letters, digits, `_`, `-` and `.` not starting with `.`.
fn check_partition(partition: &str) -> Result<(), ColumnarError> {
    let bad = || ColumnarError::BadPartition { partition: partition.to_owned() };
    let (key, value) = partition.split_once('=').ok_or_else(bad)?;
    let key_ok = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let value_ok = !value.is_empty()
        && !value.starts_with('.')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if key_ok && value_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_key_equals_a_safe_value() {
        for good in ["host=web1", "host=db-3.example.com", "_k=v", "dc2=eu_west"] {
            assert!(check_partition(good).is_ok(), "{good}");
        }
        for bad in [
            "host",
            "=web1",
            "host=",
            "host=../x",
            "host=a/b",
            "1host=a",
            "host=.hidden",
            "ho st=a",
            "host=é",
        ] {
            assert!(check_partition(bad).is_err(), "{bad}");
        }
    }
}
