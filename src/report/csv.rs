//! CSV writers: the metric tables of [`crate::metrics`] and the event trace.
//!
//! Column names and cell values come from one place each: the metric tables name and format
//! every `summary.csv` / `consumers.csv` column ([`Column`], [`crate::metrics::Value`]), and
//! [`TRACE_COLUMNS`] does the same for `trace.csv`. A writer only iterates a table.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use super::ReportError;
use super::atomic::AtomicFile;
use crate::metrics::Column;
use crate::model::trace::{TraceRecord, TraceSink};

/// Writes one header row (the column names) and one row per element of `rows`, then hands
/// the underlying writer back (flushed).
pub fn write_table<'r, T: 'r, W: Write>(
    out: W,
    columns: &[Column<T>],
    rows: impl IntoIterator<Item = &'r T>,
) -> io::Result<W> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(columns.iter().map(|c| c.name))?;
    for row in rows {
        csv.write_record(columns.iter().map(|c| (c.value)(row).to_string()))?;
    }
    csv.into_inner().map_err(|e| e.into_error())
}

/// Writes a table into a new [`AtomicFile`] at `path`, complete but not yet committed, so that
/// the caller can commit several files together.
pub fn stage_table<'r, T: 'r>(
    path: &Path,
    columns: &[Column<T>],
    rows: impl IntoIterator<Item = &'r T>,
) -> Result<AtomicFile, ReportError> {
    let file = AtomicFile::create(path)?;
    // On error the AtomicFile inside the csv writer is dropped, which removes it.
    write_table(file, columns, rows).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Appends a record's cell to the buffer, given the consumer instance names.
pub type TraceCell = fn(&TraceRecord, &[String], &mut String);

/// One column of `trace.csv`: its name and how a record fills its cell (empty for `None`).
pub struct TraceColumn {
    pub name: &'static str,
    pub cell: TraceCell,
}

/// Appends `value`, or nothing for `None` (an empty CSV cell).
fn opt(out: &mut String, value: Option<impl std::fmt::Display>) {
    if let Some(v) = value {
        let _ = write!(out, "{v}");
    }
}

/// Exact decimal seconds of an integer nanosecond time: `100_000` → `0.000100000`. Going
/// through `f64` would round beyond 2^53 ns (104 days) and print differently per value.
pub fn seconds_from_nanos(ns: u64, out: &mut String) {
    let _ = write!(out, "{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
}

/// The consumer instance's name (its index if the name is unknown), empty for broker events.
fn consumer_cell(record: &TraceRecord, names: &[String], out: &mut String) {
    if let Some(i) = record.consumer {
        match names.get(i) {
            Some(name) => out.push_str(name),
            None => opt(out, Some(i)),
        }
    }
}

/// The columns of `trace.csv`, in output order.
pub const TRACE_COLUMNS: &[TraceColumn] = &[
    column("time_s", |r, _, out| {
        seconds_from_nanos(r.time.as_nanos(), out)
    }),
    column("time_ns", |r, _, out| opt(out, Some(r.time.as_nanos()))),
    column("event", |r, _, out| out.push_str(r.kind.as_str())),
    column("consumer", consumer_cell),
    column("message", |r, _, out| opt(out, r.message)),
    column("first_message", |r, _, out| opt(out, r.first_message)),
    column("count", |r, _, out| opt(out, r.count)),
    column("ack_type", |r, _, out| {
        opt(out, r.ack_type.map(|a| a.as_str()))
    }),
    column("redelivery_counter", |r, _, out| {
        opt(out, r.redelivery_counter)
    }),
];

const fn column(name: &'static str, cell: TraceCell) -> TraceColumn {
    TraceColumn { name, cell }
}

/// Streams trace records into `trace.csv` while the model runs.
///
/// [`TraceSink::record`] cannot fail, so the first write error is kept, later records are
/// skipped, and [`TraceCsv::finish`] reports it. The file is committed only by `finish`, which
/// the caller calls after the run succeeded; dropping a `TraceCsv` removes its partial file.
pub struct TraceCsv {
    csv: csv::Writer<AtomicFile>,
    consumers: Vec<String>,
    /// One reusable buffer per column, so a row costs no allocation.
    cells: Vec<String>,
    error: Option<io::Error>,
    rows: u64,
}

impl TraceCsv {
    /// Starts `path` (under a temporary name) and writes its header. `consumers` are the
    /// instance names in [`TraceRecord::consumer`] index order.
    pub fn create(path: &Path, consumers: Vec<String>) -> Result<Self, ReportError> {
        let mut csv = csv::Writer::from_writer(AtomicFile::create(path)?);
        csv.write_record(TRACE_COLUMNS.iter().map(|c| c.name))
            .map_err(|e| ReportError::Write {
                path: path.to_path_buf(),
                source: e.into(),
            })?;
        Ok(Self {
            csv,
            consumers,
            cells: vec![String::new(); TRACE_COLUMNS.len()],
            error: None,
            rows: 0,
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Completes the file and returns it staged (see [`super::commit_all`]), or the first
    /// error met while streaming.
    pub fn finish(mut self) -> Result<AtomicFile, ReportError> {
        let path = self.csv.get_ref().path().to_path_buf();
        let write = |source| ReportError::Write {
            path: path.clone(),
            source,
        };
        if let Some(source) = self.error.take() {
            return Err(write(source));
        }
        self.csv.into_inner().map_err(|e| write(e.into_error()))
    }
}

impl TraceSink for TraceCsv {
    fn record(&mut self, record: &TraceRecord) {
        if self.error.is_some() {
            return;
        }
        for (cell, column) in self.cells.iter_mut().zip(TRACE_COLUMNS) {
            cell.clear();
            (column.cell)(record, &self.consumers, cell);
        }
        match self.csv.write_record(&self.cells) {
            Ok(()) => self.rows += 1,
            Err(e) => self.error = Some(e.into()),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::metrics::{
        AckCounts, CONSUMER_COLUMNS, ConsumerSummary, RunSummary, SUMMARY_COLUMNS, Value,
    };
    use crate::model::activemq::ack::AckType;
    use crate::model::trace::TraceKind;

    pub(crate) fn summary() -> RunSummary {
        RunSummary {
            scenario: "s, \"quoted\"".into(),
            seed: 7,
            produced: 10,
            copies: 10,
            missed: 0,
            discarded: 0,
            dispatched: 11,
            deliveries: 12,
            redelivered: 2,
            processed: 11,
            unique_processed: 10,
            duplicates: 1,
            lost: 0,
            dlq: 0,
            expired: 0,
            in_flight: 0,
            acks: AckCounts {
                standard: 9,
                delivered: 1,
                ..AckCounts::default()
            },
            rocketmq: Default::default(),
            stalled: false,
            slow_consumer_aborts: 0,
            idle_with_backlog_s: 0.25,
            jain_fairness: 0.1 + 0.2,
            makespan_s: 1.5,
            throughput: 11.0 / 1.5,
            latency_p50_s: 0.005,
            latency_p99_s: 0.0125,
            end_s: 1.5002,
            events: 99,
            duplicates_suppressed: 0,
            send: Default::default(),
            wall_s: 0.001,
        }
    }

    fn parse(bytes: &[u8]) -> Vec<Vec<String>> {
        csv::Reader::from_reader(bytes)
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    fn header(bytes: &[u8]) -> Vec<String> {
        csv::Reader::from_reader(bytes)
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn summary_header_is_the_column_table_and_each_cell_is_its_value_formatted_once() {
        let s = summary();
        let bytes = write_table(Vec::new(), SUMMARY_COLUMNS, [&s]).unwrap();
        let names: Vec<&str> = SUMMARY_COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(header(&bytes), names);
        let rows = parse(&bytes);
        assert_eq!(rows.len(), 1);
        for (cell, column) in rows[0].iter().zip(SUMMARY_COLUMNS) {
            assert_eq!(
                *cell,
                (column.value)(&s).to_string(),
                "column {}",
                column.name
            );
        }
        assert_eq!(rows[0][0], "s, \"quoted\"", "CSV quoting round-trips");
        assert_eq!(Value::F64(0.1 + 0.2).to_string(), "0.30000000000000004");
    }

    #[test]
    fn consumers_table_has_one_row_per_instance_in_order() {
        let rows: Vec<ConsumerSummary> = (0..3)
            .map(|i| ConsumerSummary {
                consumer: format!("c-{i}"),
                processed: i,
                ..Default::default()
            })
            .collect();
        let bytes = write_table(Vec::new(), CONSUMER_COLUMNS, &rows).unwrap();
        let names: Vec<&str> = CONSUMER_COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(header(&bytes), names);
        let parsed = parse(&bytes);
        assert_eq!(
            parsed.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
            ["c-0", "c-1", "c-2"]
        );
    }

    /// A writer that accepts `budget` bytes and then fails, like a full disk.
    struct FailingWriter {
        budget: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.budget {
                return Err(io::Error::other("disk full"));
            }
            self.budget -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_writer_is_an_error_not_a_short_file() {
        let s = summary();
        let err = write_table(FailingWriter { budget: 10 }, SUMMARY_COLUMNS, [&s])
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "disk full");
    }

    #[test]
    fn seconds_are_exact_with_nine_digits() {
        let fmt = |ns| {
            let mut s = String::new();
            seconds_from_nanos(ns, &mut s);
            s
        };
        assert_eq!(fmt(100_000), "0.000100000");
        assert_eq!(fmt(0), "0.000000000");
        assert_eq!(fmt(12_345_678_901), "12.345678901");
        assert_eq!(fmt(u64::MAX), "18446744073.709551615");
    }

    fn trace_records() -> Vec<TraceRecord> {
        let t = SimTime::from_nanos(100_000);
        vec![
            TraceRecord {
                message: Some(1),
                ..TraceRecord::new(t, TraceKind::Accepted)
            },
            TraceRecord {
                consumer: Some(1),
                message: Some(5),
                first_message: Some(1),
                count: Some(5),
                ack_type: Some(AckType::Standard),
                ..TraceRecord::new(SimTime::from_nanos(2_000_000_001), TraceKind::AckReceived)
            },
            TraceRecord {
                consumer: Some(0),
                message: Some(3),
                redelivery_counter: Some(2),
                ..TraceRecord::new(t, TraceKind::Dispatched)
            },
        ]
    }

    #[test]
    fn trace_rows_name_consumers_and_leave_absent_values_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("trace.csv");
        let mut trace = TraceCsv::create(&path, vec!["c-0".into(), "c-1".into()]).unwrap();
        for r in trace_records() {
            trace.record(&r);
        }
        assert_eq!(trace.rows(), 3);
        trace.finish().unwrap().commit().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "time_s,time_ns,event,consumer,message,first_message,count,ack_type,redelivery_counter\n\
             0.000100000,100000,accepted,,1,,,,\n\
             2.000000001,2000000001,ack_received,c-1,5,1,5,standard,\n\
             0.000100000,100000,dispatched,c-0,3,,,,2\n"
        );
    }

    #[test]
    fn an_unfinished_trace_leaves_no_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("trace.csv");
        let mut trace = TraceCsv::create(&path, vec!["c-0".into()]).unwrap();
        for r in trace_records() {
            trace.record(&r);
        }
        drop(trace); // the run failed
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_staged_table_that_is_not_committed_leaves_no_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("summary.csv");
        let staged = stage_table(&path, SUMMARY_COLUMNS, [&summary()]).unwrap();
        assert!(!path.exists());
        drop(staged);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
