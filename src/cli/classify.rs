//! `glimpse classify`: short clips (a video, or a folder of frames as data
//! sets ship them) each classified as one event, with the usual exports, and
//! one summary table and CSV for many clips.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use glimpse::files::write_atomic;
use glimpse::pipeline::batch::{plan, Planned, Status};
use glimpse::pipeline::clip_batch::{clip_inputs, summary_csv_string, summary_table, ClipRow, SUMMARY_CSV_START};
use glimpse::pipeline::{classify_clip, AnalysisOptions, ApexBy, ClassifiedClip, ClipEvent};
use glimpse::session::export::{export_path, write_all, ExportFormat};
use glimpse::session::Session;

use super::pipeline_args::PipelineArgs;

#[derive(clap::Args)]
pub struct ClassifyArgs {
    /// Clips: video files, folders of numbered frames, or folders of such clip folders
    /// (each clip in it classified, with one summary).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The onset frame, numbered from 0 as in the session and exports (default: the first).
    #[arg(long)]
    pub onset: Option<u64>,
    /// The apex frame, numbered from 0 (default: the frame of most facial motion from the onset).
    #[arg(long)]
    pub apex: Option<u64>,
    /// Where the sessions, exports and summary.csv go (default: beside each clip; the
    /// summary in the folder of clip folders, else beside the first clip).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace outputs that exist (default: a clip whose outputs are all there is skipped,
    /// its row read from its session; any other existing output stops that clip).
    #[arg(long)]
    pub force: bool,
    /// Exports: csv, intervals, json, ron, eaf, video, or all.
    #[arg(long, default_value = "ron,csv,intervals,eaf")]
    pub export: String,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

pub fn run(args: ClassifyArgs, device: tch::Device) -> Result<()> {
    let options = args.pipeline.options()?;
    let formats = ExportFormat::parse_list(&args.export).context("--export")?;
    if let Some(out) = args.out.as_deref().filter(|out| out.exists() && !out.is_dir()) {
        bail!("--out {} is a file, not a folder: the sessions and exports go into a folder", out.display());
    }
    let clips = clip_inputs(&args.inputs)?;
    // A folder of clip folders gets its summary even when it holds one.
    let many = clips.len() > 1 || clips != args.inputs;
    if clips.len() > 1 && (args.onset.is_some() || args.apex.is_some()) {
        bail!("--onset and --apex name frames of one clip; {} clips were given", clips.len());
    }
    let summary_path = many.then(|| summary_place(&args.inputs, &clips, args.out.as_deref()));
    // Checked before any clip is classified, not after the last.
    if let Some(path) = &summary_path {
        refuse_foreign_summary(path, args.force)?;
    }
    let event = ClipEvent { onset: args.onset, apex: args.apex };
    let mut rows = Vec::with_capacity(clips.len());
    for item in plan(&clips, args.out.as_deref(), &formats)? {
        let row = match classify_one(&item, &options, event, &formats, args.force, device) {
            Ok(row) => row,
            Err(err) if !many => return Err(err),
            Err(err) => {
                eprintln!("error: {err:#}");
                ClipRow::failed(&item.input, format!("{err:#}"))
            }
        };
        rows.push(row);
    }
    if let Some(path) = &summary_path {
        say!("{}", summary_table(&rows));
        write_atomic(path, summary_csv_string(&rows).as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    let failed = rows.iter().filter(|r| r.status == Status::Failed).count();
    if failed > 0 {
        bail!("{failed} of {} clips failed", rows.len());
    }
    Ok(())
}

/// Classifies one clip and writes its exports; a clip whose outputs are all
/// there already is skipped, its row read from its session.
fn classify_one(
    item: &Planned,
    options: &AnalysisOptions,
    event: ClipEvent,
    formats: &[ExportFormat],
    force: bool,
    device: tch::Device,
) -> Result<ClipRow> {
    let input = &item.input;
    let existing: Vec<PathBuf> =
        formats.iter().map(|&f| export_path(&item.dir, &item.stem, f)).filter(|p| p.exists()).collect();
    if !force && !existing.is_empty() {
        if item.done {
            if let Some(session) = saved_session(item, formats)? {
                eprintln!("skipping {}: its outputs exist (--force classifies it again)", input.display());
                return Ok(ClipRow::from_session(input, &session, Status::Skipped));
            }
        }
        bail!("{} exists (--force replaces it)", existing[0].display());
    }
    eprintln!("classifying {}", input.display());
    let started = std::time::Instant::now();
    let clip = classify_clip(input, options, event, device).map_err(anyhow::Error::new)?;
    for warning in &clip.session.warnings {
        eprintln!("warning: {warning}");
    }
    say!("{}", clip_report(&clip, started.elapsed().as_secs_f64()));
    let written = write_all(&clip.session, formats, &item.dir, &item.stem)
        .with_context(|| format!("exporting the classification of {}", input.display()))?;
    for file in written {
        eprintln!("wrote {file}");
    }
    Ok(ClipRow::from_session(input, &clip.session, Status::Analysed))
}

/// The session of a clip classified before, from its RON or JSON export.
fn saved_session(item: &Planned, formats: &[ExportFormat]) -> Result<Option<Session>> {
    for format in [ExportFormat::Ron, ExportFormat::Json] {
        if formats.contains(&format) {
            let path = export_path(&item.dir, &item.stem, format);
            return Ok(Some(Session::load(&path).with_context(|| format!("reading {}", path.display()))?));
        }
    }
    Ok(None)
}

/// Where the summary goes: `--out`, else the folder of clip folders, else
/// beside the first clip.
fn summary_place(inputs: &[PathBuf], clips: &[PathBuf], out: Option<&Path>) -> PathBuf {
    let dir = match out {
        Some(out) => out.to_path_buf(),
        None => match inputs {
            [folder] if clips.first() != Some(folder) && folder.is_dir() => folder.clone(),
            _ => clips.first().and_then(|c| c.parent()).map(Path::to_path_buf).unwrap_or_default(),
        },
    };
    dir.join("summary.csv")
}

/// A `summary.csv` that Glimpse did not write is the user's: kept unless `--force`.
fn refuse_foreign_summary(path: &Path, force: bool) -> Result<()> {
    if force || !path.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if !text.starts_with(SUMMARY_CSV_START) {
        bail!("{} exists and is not a Glimpse clip summary (--force replaces it)", path.display());
    }
    Ok(())
}

/// One clip's result as a user reads it.
fn clip_report(clip: &ClassifiedClip, wall_s: f64) -> String {
    let session = &clip.session;
    let src = &session.source;
    let mut out = format!(
        "{}: {} frames at {:.2} fps, {}x{}; classified in {:.1} s\n",
        src.path,
        src.frame_count,
        if src.measured_fps > 0.0 { src.measured_fps } else { src.nominal_fps },
        src.width,
        src.height,
        wall_s
    );
    let Some(event) = clip.event() else {
        return out + "no event";
    };
    let how = match clip.apex_by {
        ApexBy::Given => "given".to_string(),
        ApexBy::PeakMotion => format!(
            "peak facial motion, {:.2} px from the onset",
            clip.motion_from_onset.get(event.apex_frame as usize).copied().flatten().unwrap_or(f32::NAN)
        ),
    };
    out += &format!(
        "event (face {}): onset {}, apex {} ({how}), offset {}\n",
        event.face_id, event.onset_frame, event.apex_frame, event.offset_frame
    );
    out += &format!("class: {}\n", session.class_name(event.class));
    for (name, p) in session.class_names.iter().zip(&event.probabilities) {
        out += &format!("  p_{name:<10} {p:.3}\n");
    }
    out += "Results are candidates for expert review, not a lie detector.";
    out
}
