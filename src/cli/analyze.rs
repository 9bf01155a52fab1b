//! `glimpse analyze` and `glimpse eval-spotting`: the pipeline over files,
//! with a progress bar, a summary and the exports.
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use glimpse::pipeline::batch::{expand_inputs, parse_shard, plan, summary_table, take_shard, Outcome, Planned, Status};
use glimpse::pipeline::{analyze, Analysis, AnalysisOptions, Progress};
use glimpse::session::deidentify::{deidentified, deidentified_stem, kept_face};
use glimpse::session::export::{export_path, write_all_with_progress, write_deidentified_video, ExportFormat, Written};
use glimpse::session::Session;

use glimpse::synth::score::{by_amplitude, load_truth, pool, score_session, ClipScores};
use glimpse::synth::truth_path;

use super::pipeline_args::PipelineArgs;

#[derive(clap::Args)]
pub struct AnalyzeArgs {
    /// Video files, folders of videos (each video in it), or folders of numbered frames.
    #[arg(required_unless_present = "list")]
    pub inputs: Vec<PathBuf>,
    /// A file listing inputs, one per line (blank lines and # comments skipped).
    #[arg(long)]
    pub list: Option<PathBuf>,
    /// Where the session and exports go (default: beside each input).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Analyse inputs again even when all their outputs exist (default: skip them, so a
    /// stopped batch resumes where it was).
    #[arg(long)]
    pub force: bool,
    /// Take only share INDEX of COUNT of the inputs (every COUNT-th, from INDEX; 0-based),
    /// e.g. `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<String>,
    /// Also write the batch summary as JSON here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Sample this process's memory every few seconds into this CSV: resident (RSS), its
    /// peak, and the part of it Rust's heap and the C libraries' malloc hold.
    #[arg(long)]
    pub memory_log: Option<PathBuf>,
    /// Seconds between memory samples.
    #[arg(long, default_value_t = 10.0)]
    pub memory_every: f64,
    /// Exports: csv, intervals, json, ron, eaf, video, or all.
    #[arg(long, default_value = "ron,csv,intervals,eaf")]
    pub export: String,
    /// De-identified exports, for sharing: named `deid-<hash>`, no source path, dates or
    /// review notes, and every face but one pixelated in the video.
    #[arg(long)]
    pub deidentify: bool,
    /// With --deidentify: the face the video keeps visible (default: the one with the most
    /// confirmed events, else the one seen longest).
    #[arg(long, value_name = "ID", requires = "deidentify")]
    pub keep_face: Option<u32>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(clap::Args)]
pub struct EvalSpottingArgs {
    /// Clips with `<clip>.truth.json` beside them.
    #[arg(required = true)]
    pub clips: Vec<PathBuf>,
    /// Also write the scores as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

pub fn run(args: AnalyzeArgs, device: tch::Device) -> Result<()> {
    let options = args.pipeline.options()?;
    let formats = ExportFormat::parse_list(&args.export).context("--export")?;
    let mut inputs = expand_inputs(&args.inputs, args.list.as_deref())?;
    if let Some(shard) = &args.shard {
        let (index, count) = parse_shard(shard)?;
        inputs = take_shard(inputs, index, count);
        eprintln!("shard {index}/{count}: {} inputs", inputs.len());
    }
    // Found now, not after the whole analysis when the first export fails.
    if let Some(out) = args.out.as_deref().filter(|out| out.exists() && !out.is_dir()) {
        bail!("--out {} is a file, not a folder: the session and exports go into a folder", out.display());
    }
    let mut planned = plan(&inputs, args.out.as_deref(), &formats)?;
    if args.deidentify {
        for item in &mut planned {
            item.stem = deidentified_stem(&item.input);
            item.done = !formats.is_empty() && formats.iter().all(|&f| export_path(&item.dir, &item.stem, f).is_file());
        }
    }
    let sharing = args.deidentify.then_some(Sharing { keep_face: args.keep_face });
    let mut memory = match &args.memory_log {
        Some(path) => Some(MemoryLog::create(path, args.memory_every)?),
        None => None,
    };
    let mut outcomes = Vec::with_capacity(planned.len());
    for item in &planned {
        let input = item.input.display().to_string();
        if item.done && !args.force {
            eprintln!("skipping {input}: its outputs exist (--force analyses it again)");
            outcomes.push(Outcome {
                input,
                status: Status::Skipped,
                frames: 0,
                media_s: 0.0,
                events: 0,
                wall_s: 0.0,
                error: None,
            });
            continue;
        }
        match analyze_one(item, &options, &formats, sharing, device, memory.as_mut()) {
            Ok(session_facts) => {
                outcomes.push(Outcome { input, status: Status::Analysed, error: None, ..session_facts })
            }
            Err(err) => {
                eprintln!("error: {err:#}");
                outcomes.push(Outcome {
                    input,
                    status: Status::Failed,
                    frames: 0,
                    media_s: 0.0,
                    events: 0,
                    wall_s: 0.0,
                    error: Some(format!("{err:#}")),
                });
            }
        }
    }
    if planned.len() > 1 || args.summary.is_some() {
        say!("{}", summary_table(&outcomes));
    }
    if let Some(path) = &args.summary {
        super::write_json(path, &outcomes)?;
    }
    let failed = outcomes.iter().filter(|o| o.status == Status::Failed).count();
    if failed > 0 {
        bail!("{failed} of {} inputs failed", outcomes.len());
    }
    Ok(())
}

/// De-identified outputs (`--deidentify`).
#[derive(Clone, Copy)]
struct Sharing {
    keep_face: Option<u32>,
}

fn analyze_one(
    item: &Planned,
    options: &AnalysisOptions,
    formats: &[ExportFormat],
    sharing: Option<Sharing>,
    device: tch::Device,
    memory: Option<&mut MemoryLog>,
) -> Result<Outcome> {
    let input = &item.input;
    eprintln!("analysing {}", input.display());
    let analysis = run_with_progress_and_memory(input, options, device, memory)?;
    let session = &analysis.session;
    for warning in &session.warnings {
        eprintln!("warning: {warning}");
    }
    say!("{}", summary(session, analysis.wall_s));
    let written = match sharing {
        None => write_all_with_progress(session, formats, &item.dir, &item.stem, &mut progress_bar("export video")),
        Some(sharing) => write_deidentified(session, formats, item, sharing),
    }
    .with_context(|| format!("exporting the analysis of {}", input.display()))?;
    // "wrote …annotated.mp4 (H.264)": the video's codec decides where it plays.
    for file in written {
        eprintln!("wrote {file}");
    }
    Ok(Outcome {
        input: input.display().to_string(),
        status: Status::Analysed,
        frames: session.source.frame_count,
        media_s: session.source.duration_s,
        events: session.events.len(),
        wall_s: analysis.wall_s,
        error: None,
    })
}

/// The exports of `--deidentify`: the data from the de-identified session,
/// the video from the full one (its source is re-decoded) with every face
/// but the kept one pixelated.
fn write_deidentified(
    session: &Session,
    formats: &[ExportFormat],
    item: &Planned,
    sharing: Sharing,
) -> Result<Vec<Written>, glimpse::session::export::ExportError> {
    let shared = deidentified(session);
    let data: Vec<ExportFormat> = formats.iter().copied().filter(|&f| f != ExportFormat::Video).collect();
    let mut written = write_all_with_progress(&shared, &data, &item.dir, &item.stem, &mut |_, _| {})?;
    if formats.contains(&ExportFormat::Video) {
        let path = export_path(&item.dir, &item.stem, ExportFormat::Video);
        let keep = kept_face(session, sharing.keep_face);
        let codec = write_deidentified_video(session, &path, keep, &mut progress_bar("export video"))?;
        written.push(Written { path, codec: Some(codec) });
    }
    Ok(written)
}

/// Memory over time, for long runs: a CSV row every few seconds.
pub struct MemoryLog {
    file: std::fs::File,
    path: PathBuf,
    every_s: f64,
    started: std::time::Instant,
    last: Option<std::time::Instant>,
}

impl MemoryLog {
    fn create(path: &Path, every_s: f64) -> Result<Self> {
        if !(every_s > 0.0 && every_s.is_finite()) {
            bail!("--memory-every must be a positive number of seconds");
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        writeln!(file, "wall_s,input,frames,media_s,rss_mib,peak_rss_mib,rust_heap_mib,c_heap_mib")
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Self { file, path: path.to_path_buf(), every_s, started: std::time::Instant::now(), last: None })
    }

    /// Writes a row when one is due (or when `force`d, at an input's end).
    fn sample(&mut self, input: &Path, frames: u64, media_s: f64, force: bool) -> Result<()> {
        let due = self.last.is_none_or(|t| t.elapsed().as_secs_f64() >= self.every_s);
        if !(due || force) {
            return Ok(());
        }
        self.last = Some(std::time::Instant::now());
        let rss = glimpse::bench::pipeline::current_rss_mb().unwrap_or(f64::NAN);
        let peak = glimpse::bench::pipeline::peak_rss_mb().unwrap_or(f64::NAN);
        let rust_heap = glimpse::heap::rust_heap_mib().unwrap_or(f64::NAN);
        let c_heap = glimpse::heap::c_heap_mib().unwrap_or(f64::NAN);
        writeln!(
            self.file,
            "{:.1},{},{frames},{media_s:.2},{rss:.1},{peak:.1},{rust_heap:.1},{c_heap:.1}",
            self.started.elapsed().as_secs_f64(),
            input.display()
        )
        .and_then(|()| self.file.flush())
        .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Runs the analysis with a progress bar (ETA when the length is known).
pub fn run_with_progress(input: &Path, options: &AnalysisOptions, device: tch::Device) -> Result<Analysis> {
    run_with_progress_and_memory(input, options, device, None)
}

fn run_with_progress_and_memory(
    input: &Path,
    options: &AnalysisOptions,
    device: tch::Device,
    mut memory: Option<&mut MemoryLog>,
) -> Result<Analysis> {
    let mut bar = progress_bar("analyse");
    let mut memory_error = None;
    let result = analyze(input, options, device, &mut |p: Progress| {
        bar(p.frames_done, p.frames_total.unwrap_or(0));
        if let Some(log) = memory.as_deref_mut() {
            if let Err(e) = log.sample(input, p.frames_done, p.media_s, false) {
                memory_error = Some(e);
                return false;
            }
        }
        true
    });
    if let Some(e) = memory_error {
        return Err(e);
    }
    if let (Ok(analysis), Some(log)) = (&result, memory) {
        log.sample(input, analysis.session.source.frame_count, analysis.session.source.duration_s, true)?;
    }
    let analysis = result.map_err(|e| {
        // Most pipeline errors name the input already; say it once.
        let named = e.to_string().contains(&input.display().to_string());
        let e = anyhow::Error::new(e);
        if named {
            e
        } else {
            e.context(format!("analysing {}", input.display()))
        }
    })?;
    Ok(analysis)
}

/// A progress printer: a redrawn bar on a terminal, a line per 10 % otherwise.
pub fn progress_bar(label: &'static str) -> impl FnMut(u64, u64) {
    let started = std::time::Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut last_decile = None;
    move |done: u64, total: u64| {
        let elapsed = started.elapsed().as_secs_f64();
        let rate = done as f64 / elapsed.max(1e-9);
        let fraction = if total > 0 { (done as f64 / total as f64).min(1.0) } else { 0.0 };
        let eta = if total > 0 && done > 0 {
            format!("ETA {}", clock((total.saturating_sub(done)) as f64 / rate))
        } else {
            String::new()
        };
        if terminal {
            let filled = (fraction * 30.0).round() as usize;
            eprint!(
                "\r{label} [{}{}] {:>3.0}% {done}/{total} frames {rate:.0} fps {eta}   ",
                "#".repeat(filled),
                " ".repeat(30 - filled),
                fraction * 100.0
            );
            if total > 0 && done >= total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        } else {
            let decile = (fraction * 10.0).floor() as u32;
            if total > 0 && last_decile != Some(decile) {
                last_decile = Some(decile);
                eprintln!("{label}: {:.0}% ({done}/{total} frames, {rate:.0} fps) {eta}", fraction * 100.0);
            }
        }
    }
}

fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// What a user wants to see first: faces, events, speed.
pub fn summary(session: &Session, wall_s: f64) -> String {
    let src = &session.source;
    let mut out = format!(
        "{}: {} frames, {:.2} s at {}, {}x{}; analysed in {:.1} s ({:.1}x real time)\n",
        src.path,
        src.frame_count,
        src.duration_s,
        if src.measured_fps > 0.0 {
            format!("{:.2} fps (measured)", src.measured_fps)
        } else {
            format!("{:.2} fps (declared; {} frame gives no rate to measure)", src.nominal_fps, src.frame_count)
        },
        src.width,
        src.height,
        wall_s,
        src.duration_s / wall_s.max(1e-9)
    );
    out += &format!("faces: {}\n", session.faces.len());
    for face in &session.faces {
        out += &format!(
            "  face {}: frames {}–{} ({} present)\n",
            face.id, face.first_frame, face.last_frame, face.frames_present
        );
    }
    out += &format!("events: {}\n", session.events.len());
    if !session.events.is_empty() {
        // score: the apex's motion in robust SDs of the face's resting motion.
        out += "  face   onset s   apex s  offset s  class        p  score (SD)\n";
    }
    for e in &session.events {
        let name = session.class_names.get(e.class).map(String::as_str).unwrap_or("?");
        let p = e.probabilities.get(e.class).copied().unwrap_or(f32::NAN);
        out += &format!(
            "  {:>4} {:>9.3} {:>8.3} {:>9.3}  {:<10} {:>5.2} {:>11.1}\n",
            e.face_id, e.onset_s, e.apex_s, e.offset_s, name, p, e.score
        );
    }
    out += "Results are candidates for expert review, not a lie detector.";
    out
}

/// Analyses each clip and scores it against `<clip>.truth.json`.
pub fn eval_spotting(args: EvalSpottingArgs, device: tch::Device) -> Result<()> {
    let options = args.pipeline.options()?;
    let mut clips = Vec::new();
    for clip in &args.clips {
        let truth = load_truth(&truth_path(clip))?;
        let analysis = run_with_progress(clip, &options, device)?;
        let mut scores = score_session(&truth, &analysis.session);
        // Named after the file analysed, not the clip its truth was made for.
        scores.clip = clip.file_name().map_or_else(|| clip.display().to_string(), |n| n.to_string_lossy().into_owned());
        clips.push(scores);
    }
    let pooled = pool(&clips);
    say!("{}", scores_table(&clips, &pooled));
    if let Some(out) = &args.out {
        #[derive(serde::Serialize)]
        struct Report<'a> {
            clips: &'a [ClipScores],
            pooled: &'a ClipScores,
            settings: Vec<(String, String)>,
        }
        super::write_json(out, &Report { clips: &clips, pooled: &pooled, settings: options.describe() })?;
    }
    Ok(())
}

fn scores_table(clips: &[ClipScores], pooled: &ClipScores) -> String {
    let mut out = String::from("clip                          TP  FP  FN  precision  recall     F1  class acc\n");
    for c in clips.iter().chain(std::iter::once(pooled)) {
        let s = &c.spotting;
        out += &format!(
            "{:<28} {:>3} {:>3} {:>3}  {:>9.3} {:>7.3} {:>6.3}  {:>9.3}\n",
            c.clip,
            s.true_positives,
            s.false_positives,
            s.false_negatives,
            s.precision,
            s.recall,
            s.f1,
            c.class_accuracy()
        );
    }
    out += "\namplitude     events  spotted  recall  right class\n";
    for (band, events, found, right) in by_amplitude(clips) {
        let rate = if events > 0 { format!("{:.3}", found as f64 / events as f64) } else { "-".into() };
        out += &format!("{band:<12} {events:>7} {found:>8} {rate:>7} {right:>12}\n");
    }
    out += "(MEGC rule: a spotted interval is a hit when its IoU with a true one is at least 0.5; class accuracy is over hits)";
    out
}
