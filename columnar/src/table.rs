//! One output table: its column builders, and the Parquet file(s) their batches go to.
//!
//! Rows collect in the builders until a batch is full (by rows or by the payload bytes it
//! holds), then the batch goes to the table's [`ArrowWriter`], which encodes it into the
//! current row group and writes a row group out when it is full. A table is one file, or a
//! directory of parts: an exporter that keeps at most N files open closes one and starts the
//! table's next part when it needs it again.

use std::{
    fs::File,
    io::BufWriter,
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{Schema, SchemaRef};
use parquet::{arrow::ArrowWriter, file::properties::WriterProperties};
use tracemark_reader::Value;

use crate::{
    column::{Column, Quality},
    schema::Member,
    ColumnarError,
};

/// Builder memory a row takes beyond its payload bytes: the five columns every event table
/// starts with (32 bytes), validity bits and offsets.
const ROW_OVERHEAD: usize = 48;

/// A cell of a row: a value (or null), or the elements of a list, appended as they come.
pub(crate) enum Cell<'a> {
    One(Option<Value<'a>>),
    Many(Box<dyn Iterator<Item = Value<'a>> + 'a>),
}

/// Where a table's files go.
#[derive(Debug, Clone)]
pub(crate) enum Place {
    /// One file.
    File(PathBuf),
    /// A directory of `part-NNNNN.parquet` files.
    Parts(PathBuf),
}

/// A table being written.
pub(crate) struct Table {
    schema: SchemaRef,
    columns: Vec<Column>,
    /// Leaf columns, what the writer's memory grows with.
    leaf_columns: usize,
    /// Rows in the builders.
    rows: usize,
    /// Memory the builders hold, estimated from the payload bytes behind their rows.
    bytes: usize,
    place: Place,
    properties: WriterProperties,
    writer: Option<ArrowWriter<BufWriter<File>>>,
    /// Files started so far.
    pub(crate) files: u32,
    /// Rows handed to the writer so far.
    pub(crate) rows_written: u64,
    /// When the table was last written to, for closing the least recently used.
    pub(crate) last_use: u64,
}

impl Table {
    /// A table of `members` (top-level columns), written to `place`.
    pub(crate) fn new(
        members: &[Member],
        schema_metadata: Vec<(String, String)>,
        place: Place,
        properties: WriterProperties,
    ) -> Table {
        let schema = Schema::new(members.iter().map(Member::field).collect::<Vec<_>>())
            .with_metadata(schema_metadata.into_iter().collect::<arrow_schema::Metadata>());
        Table {
            schema: Arc::new(schema),
            columns: members.iter().map(|member| Column::new(&member.ty)).collect(),
            leaf_columns: members
                .iter()
                .fold(0, |sum: usize, member| sum.saturating_add(member.ty.leaf_columns())),
            rows: 0,
            bytes: 0,
            place,
            properties,
            writer: None,
            files: 0,
            rows_written: 0,
            last_use: 0,
        }
    }

    /// The column builders, to append one row to each: then [`Table::row_done`].
    pub(crate) fn columns(&mut self) -> &mut [Column] {
        &mut self.columns
    }

    /// Counts the row just appended to every column, backed by `bytes` of payload; returns
    /// the memory the builders took for it, as [`Table::held`] estimates it.
    pub(crate) fn row_done(&mut self, bytes: usize) -> usize {
        self.rows += 1;
        let held = bytes.saturating_add(ROW_OVERHEAD);
        self.bytes = self.bytes.saturating_add(held);
        held
    }

    /// Memory the table holds, estimated: its builders' (the payload bytes behind their rows,
    /// plus [`ROW_OVERHEAD`] a row) and its writer's row group in progress.
    pub(crate) fn held(&self) -> usize {
        self.bytes.saturating_add(self.writer_memory())
    }

    /// Appends a row of `values`, one per column (`None` for null).
    pub(crate) fn append_row(&mut self, values: &[Option<Value<'_>>], quality: &mut Quality) {
        for (column, value) in self.columns.iter_mut().zip(values) {
            column.append(value.as_ref(), quality);
        }
        self.row_done(0);
    }

    /// Appends a row of `cells`, one per column.
    pub(crate) fn append_cells(&mut self, cells: Vec<Cell<'_>>, quality: &mut Quality) {
        for (column, cell) in self.columns.iter_mut().zip(cells) {
            match cell {
                Cell::One(value) => column.append(value.as_ref(), quality),
                Cell::Many(elements) => column.append_list(elements, quality),
            }
        }
        self.row_done(0);
    }

    /// Rows in the builders, and the memory they hold.
    pub(crate) fn buffered(&self) -> (usize, usize) {
        (self.rows, self.bytes)
    }

    /// Leaf columns of the table.
    pub(crate) fn leaf_columns(&self) -> usize {
        self.leaf_columns
    }

    /// Whether a file is open.
    pub(crate) fn is_open(&self) -> bool {
        self.writer.is_some()
    }

    /// Memory the open file's writer holds (its row group in progress).
    pub(crate) fn writer_memory(&self) -> usize {
        self.writer.as_ref().map_or(0, ArrowWriter::memory_size)
    }

    /// The current file's path.
    fn path(&self) -> PathBuf {
        match &self.place {
            Place::File(path) => path.clone(),
            Place::Parts(dir) => dir.join(format!("part-{:05}.parquet", self.files.saturating_sub(1))),
        }
    }

    /// Hands the rows in the builders to the writer (opening a file if none is), as one batch.
    pub(crate) fn write_batch(&mut self) -> Result<(), ColumnarError> {
        if self.rows == 0 {
            return Ok(());
        }
        if self.writer.is_none() {
            self.open()?;
        }
        let path = self.path();
        let arrow = |source| ColumnarError::Arrow { path: path.clone(), source };
        let arrays =
            self.columns.iter_mut().map(Column::finish).collect::<Result<Vec<_>, _>>().map_err(arrow)?;
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        let batch =
            RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options).map_err(arrow)?;
        self.rows_written += self.rows as u64;
        self.rows = 0;
        self.bytes = 0;
        if let Some(writer) = &mut self.writer {
            writer.write(&batch).map_err(|source| ColumnarError::Parquet { path, source })?;
        }
        Ok(())
    }

    /// Writes the open file's row group in progress out, to free its memory.
    pub(crate) fn flush_row_group(&mut self) -> Result<(), ColumnarError> {
        let path = self.path();
        match &mut self.writer {
            Some(writer) => writer.flush().map_err(|source| ColumnarError::Parquet { path, source }),
            None => Ok(()),
        }
    }

    /// Writes the builders' rows and closes the file; the next batch starts a new part. A
    /// single-file table without rows is still written: its schema, no row groups.
    pub(crate) fn close(&mut self) -> Result<(), ColumnarError> {
        self.write_batch()?;
        if matches!(self.place, Place::File(_)) && self.files == 0 {
            self.open()?;
        }
        let path = self.path();
        if let Some(writer) = self.writer.take() {
            let mut out = writer
                .into_inner()
                .map_err(|source| ColumnarError::Parquet { path: path.clone(), source })?;
            std::io::Write::flush(&mut out).map_err(|source| ColumnarError::Io { path, source })?;
        }
        Ok(())
    }

    fn open(&mut self) -> Result<(), ColumnarError> {
        match &self.place {
            // A single-file table is never closed before the end.
            Place::File(path) if self.files > 0 => {
                return Err(ColumnarError::Io {
                    path: path.clone(),
                    source: std::io::Error::other("a single-file table was reopened"),
                })
            }
            Place::File(path) => {
                if let Some(dir) = path.parent() {
                    create_dirs(dir)?;
                }
            }
            Place::Parts(dir) if self.files == 0 => create_dirs(dir)?,
            Place::Parts(_) => {}
        }
        self.files += 1;
        let path = self.path();
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| ColumnarError::Io { path: path.clone(), source })?;
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 16, file),
            self.schema.clone(),
            Some(self.properties.clone()),
        )
        .map_err(|source| ColumnarError::Parquet { path, source })?;
        self.writer = Some(writer);
        Ok(())
    }
}

/// Creates `dir` and its parents.
fn create_dirs(dir: &Path) -> Result<(), ColumnarError> {
    std::fs::create_dir_all(dir).map_err(|source| ColumnarError::Io { path: dir.to_owned(), source })
}
