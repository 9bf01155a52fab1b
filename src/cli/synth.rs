//! `glimpse synth`: a synthetic micro-expression clip rendered from the
//! astronaut photo, with its ground truth beside it.
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

#[derive(clap::Args)]
pub struct SynthArgs {
    /// Clip to write: .mp4 (mp4v) or .avi (MJPG); the ground truth goes beside it.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    /// Canvas WIDTHxHEIGHT (default 640x480; 280x340 with --tight-crop).
    #[arg(long)]
    size: Option<String>,
    /// Faces side by side (1 or 2).
    #[arg(long, default_value_t = 1)]
    faces: u32,
    /// Micro-expressions per face.
    #[arg(long, default_value_t = 6)]
    events: u32,
    /// Classes to cycle through, e.g. `negative,positive` (default: all three).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Peak displacement in pixels: a number, or a range LOW-HIGH (default 0.5-3).
    #[arg(long)]
    amplitude: Option<String>,
    /// Blinks per face.
    #[arg(long, default_value_t = 3)]
    blinks: u32,
    /// Largest head translation in pixels (0: still).
    #[arg(long, default_value_t = 3.0)]
    head_motion: f32,
    /// Sensor noise sigma in grey levels (0: none).
    #[arg(long, default_value_t = 1.5)]
    noise: f32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Face width (cheek to cheek) as a fraction of the frame width, 0.10 to 1.10.
    #[arg(long)]
    face_width: Option<f64>,
    /// Centre of the face as X,Y fractions of the frame (one face), e.g. 0.5,0.7 for a chin cut by the lower edge.
    #[arg(long)]
    face_center: Option<String>,
    /// Frames are a tight crop around the face, as data sets ship them (with --size, e.g. 280x340).
    #[arg(long)]
    tight_crop: bool,
    /// Grey frames.
    #[arg(long)]
    grey: bool,
    /// The astronaut photo (default: $GLIMPSE_ASTRONAUT, else the installed one).
    #[arg(long)]
    astronaut: Option<PathBuf>,
    /// Instead of one clip: a tiny data set of frame folders in a licensed
    /// set's published layout (with its coding sheet as CSV), written into
    /// the folder --out, for `glimpse train --casme2/--samm/--smic DIR`.
    #[arg(long, value_enum)]
    dataset_layout: Option<DatasetLayout>,
    /// --dataset-layout: subjects.
    #[arg(long, default_value_t = 2)]
    subjects: usize,
    /// --dataset-layout: clips per subject (classes cycle over them).
    #[arg(long, default_value_t = 2)]
    clips: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetLayout {
    Casme2,
    Samm,
    Smic,
}

fn write_dataset_layout(args: &SynthArgs, layout: DatasetLayout) -> Result<()> {
    use glimpse::synth::layout::{write_layout, Layout, LayoutSpec};
    if args.subjects == 0 || args.clips == 0 {
        anyhow::bail!("--subjects and --clips must be at least 1");
    }
    let defaults = LayoutSpec::default();
    let size = match args.size.as_deref() {
        Some(text) => super::parse_size(text)?,
        None => defaults.size,
    };
    let amplitude_px = match args.amplitude.as_deref() {
        None => defaults.amplitude_px,
        Some(text) => text.trim().parse::<f32>().with_context(|| format!("--amplitude: one number here, not `{text}`"))?,
    };
    let spec = LayoutSpec { subjects: args.subjects, clips_per_subject: args.clips, size, amplitude_px, seed: args.seed };
    let astronaut = match &args.astronaut {
        Some(path) => path.clone(),
        None => glimpse::resources::locate(glimpse::resources::Resource::AstronautPhoto)?,
    };
    let layout = match layout {
        DatasetLayout::Casme2 => Layout::Casme2,
        DatasetLayout::Samm => Layout::Samm,
        DatasetLayout::Smic => Layout::Smic,
    };
    let written = write_layout(layout, &spec, &astronaut, &args.out)?;
    for clip in &written {
        say!(
            "  {}/{} {:<8} frames {}..{} (apex {})",
            clip.subject,
            clip.name,
            glimpse::synth::CLASS_NAMES[clip.class],
            clip.onset,
            clip.offset,
            clip.apex
        );
    }
    say!("wrote {} clips into {}", written.len(), args.out.display());
    Ok(())
}

pub fn run(args: SynthArgs) -> Result<()> {
    use glimpse::synth::{self, Framing, SynthSpec, CLASS_NAMES};
    if let Some(layout) = args.dataset_layout {
        return write_dataset_layout(&args, layout);
    }
    let default_size = if args.tight_crop { "280x340" } else { "640x480" };
    let (width, height) = super::parse_size(args.size.as_deref().unwrap_or(default_size))?;
    let face_center = match args.face_center.as_deref() {
        None => None,
        Some(text) => {
            let (x, y) = text.split_once(',').with_context(|| format!("--face-center: expected X,Y, not `{text}`"))?;
            let parse = |v: &str| v.trim().parse::<f64>().with_context(|| format!("--face-center: bad number `{v}`"));
            Some((parse(x)?, parse(y)?))
        }
    };
    let classes = if args.classes.is_empty() {
        None
    } else {
        let ids =
            args.classes
                .iter()
                .map(|name| {
                    CLASS_NAMES.iter().position(|c| c.eq_ignore_ascii_case(name.trim())).with_context(|| {
                        format!("--classes: unknown class `{name}` (known: {})", CLASS_NAMES.join(", "))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        Some(ids)
    };
    let defaults = SynthSpec::default();
    let (amplitude_px, amplitude_range_px) = match args.amplitude.as_deref() {
        None => (None, defaults.amplitude_range_px),
        Some(text) => match text.split_once('-') {
            Some((lo, hi)) => {
                let parse = |v: &str| v.trim().parse::<f32>().with_context(|| format!("--amplitude: bad number `{v}`"));
                (None, (parse(lo)?, parse(hi)?))
            }
            None => (
                Some(text.trim().parse::<f32>().with_context(|| format!("--amplitude: bad number `{text}`"))?),
                defaults.amplitude_range_px,
            ),
        },
    };
    let spec = SynthSpec {
        width,
        height,
        fps: args.fps,
        seconds: args.seconds,
        faces: args.faces,
        events_per_face: args.events,
        classes,
        amplitude_px,
        amplitude_range_px,
        blinks_per_face: args.blinks,
        head_motion_px: args.head_motion,
        noise_sigma: args.noise,
        seed: args.seed,
        framing: Framing { face_width: args.face_width, face_center, tight_crop: args.tight_crop, grey: args.grey },
    };
    let astronaut = match args.astronaut {
        Some(path) => path,
        None => glimpse::resources::locate(glimpse::resources::Resource::AstronautPhoto)?,
    };
    let started = Instant::now();
    let truth = synth::generate(&spec, &astronaut, &args.out, &mut |done, total| {
        if done == total || done % 300 == 0 {
            eprintln!("rendered {done}/{total} frames");
        }
    })?;
    say!(
        "wrote {} ({}x{}, {} frames at {} fps, {:.2} s) in {:.1} s",
        args.out.display(),
        truth.width,
        truth.height,
        truth.frames,
        truth.fps,
        truth.seconds,
        started.elapsed().as_secs_f64()
    );
    say!("wrote {}", synth::truth_path(&args.out).display());
    for e in &truth.events {
        say!(
            "  face {} {:<8} frames {:>4}..{:>4} (apex {:>4})  {:6.2}-{:6.2} s  {:.2} px",
            e.face,
            e.class_name,
            e.onset_frame,
            e.offset_frame,
            e.apex_frame,
            e.onset_s,
            e.offset_s,
            e.amplitude_px
        );
    }
    for d in &truth.distractors {
        let kind = match d.kind {
            synth::DistractorKind::Blink => "blink",
            synth::DistractorKind::HeadMotion => "head_motion",
        };
        say!("  face {} {kind:<11} frames {:>4}..{:>4}", d.face, d.start_frame, d.end_frame);
    }
    Ok(())
}
