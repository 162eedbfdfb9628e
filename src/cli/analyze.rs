//! `tonearm analyze FILE…`: the engine without a server. Analyses files on a rayon pool, prints
//! results in the order given (human summary, `--json` or `--jsonl`) and a progress bar on a
//! terminal. Exit 0 when every file succeeded, 1 when any failed, 2 for a bad command line.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{self, Options, Report};

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Audio files to analyse.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print JSON: the result document (or {"error": {"code", "message"}}) for one file, one
    /// array of {"path", "result"} / {"path", "error"} for several.
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,
    /// Print one JSON line per file: {"path", "result"} or {"path", "error"}.
    #[arg(long)]
    pub jsonl: bool,
    /// Worker threads; 0 means one per core, as `analysis.workers = 0` does (default: 0).
    #[arg(long, value_parser = clap::value_parser!(u16))]
    pub threads: Option<u16>,
    /// Refuse audio longer than this: seconds (1800) or a duration such as 30m.
    #[arg(long, value_name = "DURATION", value_parser = super::parse_seconds,
          default_value_t = Options::default().max_duration_sec)]
    pub max_duration: f64,
}

#[derive(Serialize)]
struct OkLine<'a> {
    path: &'a str,
    result: &'a Report,
}

#[derive(Serialize)]
struct ErrLine<'a> {
    path: &'a str,
    error: ErrBody<'a>,
}

#[derive(Serialize)]
struct ErrBody<'a> {
    code: &'a str,
    message: String,
}

pub fn run(args: AnalyzeArgs) -> ExitCode {
    if !args.max_duration.is_finite() || args.max_duration <= 0.0 {
        eprintln!("tonearm: --max-duration must be a positive number of seconds");
        return ExitCode::from(2);
    }
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.threads.filter(|n| *n > 0) {
        builder = builder.num_threads(usize::from(n));
    }
    let pool = match builder.build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tonearm: cannot start worker threads: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = Options {
        max_duration_sec: args.max_duration,
        ..Options::default()
    };
    let total = args.files.len();
    let show_bar = total > 1 && std::io::stderr().is_terminal();
    let (tx, rx) = mpsc::channel::<(usize, Result<Report, engine::Error>)>();
    let files = &args.files;
    let mut failed = false;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.install(|| {
                // Longest work first, one file per task: with few files on few threads, a long
                // file started last would leave the other threads idle at the end.
                let mut order: Vec<(usize, f64)> = files
                    .par_iter()
                    .map(|p| engine::estimated_cost(p))
                    .enumerate()
                    .collect();
                order.sort_by(|a, b| b.1.total_cmp(&a.1));
                order
                    .par_iter()
                    .with_max_len(1)
                    .map(|&(i, _)| (i, &files[i]))
                    .for_each_with(tx, |tx, (i, path)| {
                        let result = engine::analyze_file(path, None, &opts, &|_, _| {});
                        // The receiver only stops early if stdout is gone; nothing left to do then.
                        let _ = tx.send((i, result));
                    });
            });
        });
        let mut pending = BTreeMap::new();
        let mut next = 0;
        let mut done = 0;
        let stdout = std::io::stdout();
        for (i, result) in rx {
            done += 1;
            pending.insert(i, result);
            while let Some(result) = pending.remove(&next) {
                failed |= result.is_err();
                let mut out = stdout.lock();
                if show_bar {
                    eprint!("\r\x1b[2K");
                }
                print_one(&mut out, &args, &files[next], &result, (next, total));
                let _ = out.flush();
                next += 1;
            }
            if show_bar {
                draw_bar(done, total);
            }
        }
        if show_bar {
            eprintln!();
        }
    });
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn draw_bar(done: usize, total: usize) {
    const WIDTH: usize = 30;
    let filled = done * WIDTH / total.max(1);
    eprint!(
        "\r[{}{}] {done}/{total} files",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    );
    let _ = std::io::stderr().flush();
}

#[derive(Serialize)]
struct ErrDoc<'a> {
    error: ErrBody<'a>,
}

/// `--json`: one file prints its result document (or `{"error": …}`); several print one array
/// of `{"path", "result"}` / `{"path", "error"}`, written as each file is done.
fn json_text(
    shown: &str,
    result: &Result<Report, engine::Error>,
    (index, total): (usize, usize),
) -> Result<String, serde_json::Error> {
    let error = |e: &engine::Error| ErrBody {
        code: e.code(),
        message: e.to_string(),
    };
    let item = match (total, result) {
        (1, Ok(report)) => serde_json::to_string_pretty(report)?,
        (1, Err(e)) => serde_json::to_string_pretty(&ErrDoc { error: error(e) })?,
        (_, Ok(report)) => serde_json::to_string_pretty(&OkLine {
            path: shown,
            result: report,
        })?,
        (_, Err(e)) => serde_json::to_string_pretty(&ErrLine {
            path: shown,
            error: error(e),
        })?,
    };
    if total == 1 {
        return Ok(item);
    }
    let open = if index == 0 { "[\n" } else { "" };
    let close = if index + 1 == total { "\n]" } else { "," };
    Ok(format!("{open}{item}{close}"))
}

fn print_one(
    out: &mut impl Write,
    args: &AnalyzeArgs,
    path: &std::path::Path,
    result: &Result<Report, engine::Error>,
    position: (usize, usize),
) {
    let shown = path.to_string_lossy();
    let written = if args.json {
        json_text(&shown, result, position)
            .map_err(std::io::Error::other)
            .and_then(|t| writeln!(out, "{t}"))
    } else if args.jsonl {
        let line = match result {
            Ok(report) => serde_json::to_string(&OkLine {
                path: &shown,
                result: report,
            }),
            Err(e) => serde_json::to_string(&ErrLine {
                path: &shown,
                error: ErrBody {
                    code: e.code(),
                    message: e.to_string(),
                },
            }),
        };
        line.map_err(std::io::Error::other)
            .and_then(|l| writeln!(out, "{l}"))
    } else {
        match result {
            Err(e) => {
                eprintln!("{shown}: error [{}] {e}", e.code());
                Ok(())
            }
            Ok(report) => writeln!(out, "{}", summary(&shown, report)),
        }
    };
    if let Err(e) = written {
        eprintln!("tonearm: cannot write the result for {shown}: {e}");
    }
}

fn summary(path: &str, r: &Report) -> String {
    let m = &r.file_meta;
    let l = &r.loudness;
    let num =
        |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |x| format!("{x:.1} {unit}"));
    let mut s = format!(
        "{path}\n  stream    {} / {}, {} Hz, {} ch, {:.1} s\n  loudness  {} integrated, range {}, \
         true peak {}, max momentary {}, max short-term {}",
        m.format,
        m.codec,
        m.sample_rate_hz,
        m.channels,
        m.duration_sec,
        num(l.integrated_lufs, "LUFS"),
        num(l.loudness_range_lu, "LU"),
        num(l.true_peak_dbtp, "dBTP"),
        num(l.momentary_max_lufs, "LUFS"),
        num(l.short_term_max_lufs, "LUFS"),
    );
    if let Some(reason) = &l.reason {
        s.push_str(&format!(" ({reason})"));
    }
    let t = &r.tempo;
    match t.bpm {
        Some(bpm) => s.push_str(&format!(
            "\n  tempo     {bpm:.1} BPM, {}, confidence {}",
            t.time_signature.as_deref().unwrap_or("metre n/a"),
            t.confidence
                .map_or("n/a".to_string(), |c| format!("{c:.2}"))
        )),
        None => s.push_str(&format!(
            "\n  tempo     n/a ({})",
            t.reason.as_deref().unwrap_or("not measured")
        )),
    }
    let k = &r.key;
    match &k.name {
        Some(name) => s.push_str(&format!(
            "\n  key       {name} ({} / {}), confidence {}",
            k.camelot.as_deref().unwrap_or("-"),
            k.open_key.as_deref().unwrap_or("-"),
            k.confidence
                .map_or("n/a".to_string(), |c| format!("{c:.2}"))
        )),
        None => s.push_str(&format!(
            "\n  key       n/a ({})",
            k.reason.as_deref().unwrap_or("not measured")
        )),
    }
    let c = &r.create_report;
    match &c.chords {
        Some(chords) => {
            // The first few chord changes; the loop says the rest.
            let names: Vec<&str> = chords.iter().take(8).map(|x| x.name.as_str()).collect();
            let more = if chords.len() > 8 { " …" } else { "" };
            s.push_str(&format!(
                "\n  chords    {}{more} ({} changes)",
                names.join(" "),
                chords.len()
            ));
            if let Some(p) = &c.progression {
                s.push_str(&format!("\n  loop      {} ({})", p.roman, p.names));
            }
        }
        None => s.push_str(&format!(
            "\n  chords    n/a ({})",
            c.reason.as_deref().unwrap_or("not measured")
        )),
    }
    let st = &r.structure;
    match &st.sections {
        Some(sections) => {
            let parts: Vec<String> = sections
                .iter()
                .map(|x| format!("{} {} {:.1}s", x.group, x.label, x.start))
                .collect();
            s.push_str(&format!("\n  sections  {}", parts.join(", ")));
        }
        None => s.push_str(&format!(
            "\n  sections  n/a ({})",
            st.reason.as_deref().unwrap_or("not measured")
        )),
    }
    let tags = |v: &[crate::engine::tags::Tag]| {
        v.iter()
            .map(|t| format!("{} {:.2}", t.label, t.confidence))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let g = &r.genre;
    match &g.primary {
        Some(_) => s.push_str(&format!(
            "\n  genre     {}{}",
            tags(&g.top5),
            if g.low_confidence {
                " (low confidence)"
            } else {
                ""
            }
        )),
        None => s.push_str(&format!(
            "\n  genre     n/a ({})",
            g.reason.as_deref().unwrap_or("not measured")
        )),
    }
    let md = &r.mood;
    let score = |v: Option<u32>| v.map_or("n/a".to_string(), |x| x.to_string());
    match md.reason.as_deref() {
        None => s.push_str(&format!(
            "\n  mood      energy {}, danceability {}, valence {} (low confidence){}{}",
            score(md.energy),
            score(md.danceability),
            score(md.valence),
            if md.tags.is_empty() { "" } else { "; " },
            tags(&md.tags)
        )),
        Some(reason) => s.push_str(&format!("\n  mood      n/a ({reason})")),
    }
    if !r.instruments.is_empty() {
        s.push_str(&format!("\n  sounds    {}", tags(&r.instruments)));
    }
    if let (Some(present), Some(c)) = (r.vocals.present, r.vocals.confidence) {
        s.push_str(&format!(
            "\n  vocals    {} ({c:.2})",
            if present { "yes" } else { "no" }
        ));
    }
    let stems: Vec<String> = r
        .stems_report
        .stems
        .iter()
        .map(|x| {
            let share = x
                .energy_share_pct
                .map_or(String::new(), |e| format!(", {e} % of energy"));
            format!("{} {}{share}", x.id, if x.present { "yes" } else { "no" })
        })
        .collect();
    if !stems.is_empty() {
        s.push_str(&format!("\n  stems     {} (estimate)", stems.join("; ")));
    }
    let mx = &r.mix_report;
    if !mx.checks.is_empty() {
        let flagged: Vec<String> = mx
            .checks
            .iter()
            .filter(|c| c.status != "pass")
            .map(|c| format!("{} {}", c.id, c.status))
            .collect();
        s.push_str(&format!(
            "\n  mix       {}",
            if flagged.is_empty() {
                "every check passes".to_string()
            } else {
                flagged.join(", ")
            }
        ));
        if let Some(m) = &mx.priority_move {
            s.push_str(&format!("\n  fix first {m}"));
        }
    }
    let clips: Vec<String> = r
        .release_kit
        .clips
        .iter()
        .map(|c| {
            format!(
                "{:.0} s at {:.1}-{:.1} ({})",
                c.duration, c.start, c.end, c.reason
            )
        })
        .collect();
    if !clips.is_empty() {
        s.push_str(&format!("\n  clips     {}", clips.join(", ")));
    }
    s
}
