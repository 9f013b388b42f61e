//! `tracemark check`: apply every rule of the specification to traces, or run the conformance
//! vectors (`--suite`). Exit status 0 when valid, 1 when a rule is broken, 2 when an input
//! could not be read at all.

use std::{
    io::{self, BufWriter, Write},
    path::PathBuf,
    process::ExitCode,
};

use clap::Args;
use serde_json::json;
use tracemark_conformance::{
    check::{self, Report, Source, Unreadable},
    harness, vectors,
};
use tracemark_reader::Trace;

use crate::CliResult;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Trace directories or single-file traces.
    #[arg(required_unless_present = "suite")]
    paths: Vec<PathBuf>,
    /// Print one JSON object per trace (or per vector) instead of text.
    #[arg(long)]
    json: bool,
    /// Run the reader and the checker against every conformance vector and compare with the
    /// vectors' expected results.
    #[arg(long, conflicts_with_all = ["paths", "expected"])]
    suite: bool,
    /// The vectors directory for --suite (default: this source tree's conformance/vectors).
    #[arg(long, requires = "suite", value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// Also compare the trace's events, CPU by CPU, with a writer harness's expected.jsonl
    /// (as probe/ci.sh leaves beside each trace); a difference is a failure (exit 1).
    #[arg(long, value_name = "FILE")]
    expected: Option<PathBuf>,
    /// Print only the summary line of each trace.
    #[arg(long, short)]
    quiet: bool,
}

/// The status of one input: 0 valid, 1 invalid, 2 unreadable.
fn status(outcome: &Result<Report, Unreadable>) -> u8 {
    match outcome {
        Ok(report) if report.is_valid() => 0,
        Ok(_) => 1,
        Err(_) => 2,
    }
}

pub fn run(args: &CheckArgs) -> CliResult {
    if args.suite {
        return suite(args);
    }
    if args.expected.is_some() && args.paths.len() != 1 {
        return Err("--expected compares one trace: give exactly one path".into());
    }
    let stdout = io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    let mut worst = 0u8;
    for path in &args.paths {
        let outcome = check::check(&Source::path(path));
        let mut code = status(&outcome);
        let comparison = match (&args.expected, &outcome) {
            (Some(expected), Ok(report)) if report.readable => {
                let compared = Trace::open(path)
                    .map_err(|error| vec![error.to_string()])
                    .and_then(|trace| harness::compare_expected_jsonl(&trace, expected));
                if compared.is_err() {
                    code = code.max(1);
                }
                Some(compared)
            }
            (Some(_), _) => {
                code = code.max(1);
                Some(Err(vec!["the trace cannot be decoded, so its events cannot be compared".into()]))
            }
            (None, _) => None,
        };
        worst = worst.max(code);
        let written = if args.json {
            write_json(&mut out, &outcome, comparison.as_ref(), code)
        } else {
            write_text(&mut out, &outcome, comparison.as_ref(), args)
        };
        match written {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::from(worst)),
            other => other?,
        }
    }
    match out.flush() {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(ExitCode::from(worst))
}

fn write_text(
    out: &mut impl Write,
    outcome: &Result<Report, Unreadable>,
    comparison: Option<&Result<usize, Vec<String>>>,
    args: &CheckArgs,
) -> io::Result<()> {
    match outcome {
        Err(unreadable) => {
            writeln!(out, "{unreadable}")?;
            let requirement = unreadable.requirement.map(|id| format!(" ({id})")).unwrap_or_default();
            writeln!(out, "{}: UNREADABLE{requirement}", unreadable.path)?;
        }
        Ok(report) => {
            if !args.quiet {
                for finding in &report.findings {
                    writeln!(out, "{finding}")?;
                }
                for suppressed in &report.suppressed {
                    writeln!(
                        out,
                        "{} {} {}: {} more findings not listed",
                        suppressed.severity.name(),
                        suppressed.requirement,
                        suppressed.file,
                        suppressed.count
                    )?;
                }
            }
            writeln!(out, "{}", report.summary())?;
        }
    }
    match comparison {
        Some(Ok(events)) => writeln!(out, "expected events: {events} compared, all equal")?,
        Some(Err(problems)) => {
            if !args.quiet {
                for problem in problems.iter().take(50) {
                    writeln!(out, "mismatch: {problem}")?;
                }
            }
            writeln!(out, "expected events: {} differences", problems.len())?;
        }
        None => {}
    }
    Ok(())
}

fn write_json(
    out: &mut impl Write,
    outcome: &Result<Report, Unreadable>,
    comparison: Option<&Result<usize, Vec<String>>>,
    code: u8,
) -> io::Result<()> {
    let comparison = comparison.map(|compared| match compared {
        Ok(events) => json!({ "equal": true, "events": events, "differences": [] }),
        Err(problems) => json!({ "equal": false, "differences": problems }),
    });
    let value = match outcome {
        Ok(report) => json!({
            "path": report.path,
            "status": if code == 0 { "valid" } else { "invalid" },
            "exit": code,
            "report": report,
            "unreadable": null,
            "expected": comparison,
        }),
        Err(unreadable) => json!({
            "path": unreadable.path,
            "status": "unreadable",
            "exit": code,
            "report": null,
            "unreadable": unreadable,
            "expected": comparison,
        }),
    };
    serde_json::to_writer(&mut *out, &value).map_err(io::Error::from)?;
    writeln!(out)
}

fn suite(args: &CheckArgs) -> CliResult {
    let root = args.vectors.clone().unwrap_or_else(vectors::default_dir);
    let results = match vectors::run_suite(&root) {
        Ok(results) => results,
        Err(error) => {
            eprintln!("tracemark: {error}");
            return Ok(ExitCode::from(2));
        }
    };
    let stdout = io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    let failed = results.iter().filter(|result| !result.problems.is_empty()).count();
    for result in &results {
        if args.json {
            let value = json!({
                "vector": result.name,
                "passed": result.problems.is_empty(),
                "findings": result.findings,
                "events": result.events,
                "problems": result.problems,
            });
            serde_json::to_writer(&mut out, &value)?;
            writeln!(out)?;
        } else if result.problems.is_empty() {
            if !args.quiet {
                writeln!(
                    out,
                    "ok   {} ({} findings, {} events)",
                    result.name, result.findings, result.events
                )?;
            }
        } else {
            writeln!(out, "FAIL {}", result.name)?;
            for problem in &result.problems {
                writeln!(out, "     {problem}")?;
            }
        }
    }
    if !args.json {
        writeln!(
            out,
            "{}: {} vectors, {} passed, {failed} failed",
            root.display(),
            results.len(),
            results.len() - failed
        )?;
    }
    out.flush()?;
    Ok(ExitCode::from(u8::from(failed > 0)))
}
