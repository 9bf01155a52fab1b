//! The `glimpse` command line: training, evaluation and benchmarks.
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use glimpse::bench;
use glimpse::bench::model::ModelBench;
use glimpse::device::{describe, ChosenDevice, DeviceChoice, ThreadUse};
use glimpse::io::write_atomic;
use glimpse::model::{EpirConfig, EpirModel};
use glimpse::pipeline::{AnalysisOptions, DetectorKind};
use glimpse::train::card::{model_card, CardFacts};
use glimpse::train::metrics::scores_by_subset;
use glimpse::train::protocol::{scores_table, subset_order, unix_now};
use glimpse::train::{run_loso, train, Dataset, LosoReport, LosoSettings, TrainOptions};

mod analyze_cmd;
mod live_cmd;

const DEFAULT_DATA: &str = "../shared/data/megc2019-composite";
const DEFAULT_WEIGHTS: &str = "weights/epir-megc2019.safetensors";

#[derive(Parser)]
#[command(name = "glimpse", version, about = "Micro-expression analysis with the EPIR transformer")]
struct Cli {
    /// Compute device, chosen once and printed (default: auto; the app's
    /// default is the device in its settings).
    #[arg(long, value_enum, global = true)]
    device: Option<DeviceChoice>,
    /// Without a command, the desktop app opens.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The desktop app: open a recorded video, review the analysis, export.
    App(AppArgs),
    /// A live session without the window: camera (or a video played as
    /// one) → spotting → autosaved, recorded session.
    Live(live_cmd::LiveArgs),
    /// Bring back live sessions that did not close (crash, power cut) from their autosave.
    Recover {
        /// A journal, or a folder of them (default: ~/.local/share/glimpse/live).
        target: Option<PathBuf>,
    },
    /// List the cameras the system has.
    Cameras,
    /// Train EPIR: leave-one-subject-out evaluation, or the shipped model on all data.
    Train(TrainArgs),
    /// Score a weights file on a labelled flow data set.
    Eval {
        #[arg(long, default_value = DEFAULT_WEIGHTS)]
        weights: PathBuf,
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
        /// Also write the scores as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Analyse recorded videos (or image folders): faces, spotted
    /// micro-expressions, EPIR classes, timelines and exports.
    Analyze(AnalyzeArgs),
    /// Score spotting and classification on clips with ground truth
    /// (`glimpse synth` writes `<clip>.truth.json` beside each clip).
    EvalSpotting(EvalSpottingArgs),
    /// Benchmarks; each prints a table and can write JSON.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Render a synthetic micro-expression clip from the astronaut photo, with `<clip>.truth.json`.
    Synth(SynthArgs),
}

#[derive(clap::Args, Default)]
struct AppArgs {
    /// A video to analyse, or a session (.ron/.json) to review.
    video: Option<PathBuf>,
    /// Once the analysis has finished, save PNG screenshots of the window,
    /// the timeline and the event list here.
    #[arg(long)]
    screenshot_dir: Option<PathBuf>,
    /// Close the window after the screenshots (for scripted runs).
    #[arg(long, requires = "screenshot_dir")]
    exit_after_analysis: bool,
    /// EPIR weights (the config RON beside them).
    #[arg(long, default_value = DEFAULT_WEIGHTS)]
    weights: PathBuf,
    /// Offer this video as a live source, played at its own pace as if it
    /// were a camera (to try the live view without one).
    #[arg(long)]
    live_file: Option<PathBuf>,
    /// Start a live session at once (the --live-file, else the camera in the settings).
    #[arg(long)]
    live: bool,
}

#[derive(clap::Args)]
struct SynthArgs {
    /// Clip to write: .mp4 (mp4v) or .avi (MJPG); the ground truth goes beside it.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    /// Canvas WIDTHxHEIGHT.
    #[arg(long, default_value = "640x480")]
    size: String,
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
    /// The astronaut photo (default: $GLIMPSE_ASTRONAUT or the set-up cache).
    #[arg(long)]
    astronaut: Option<PathBuf>,
}

/// Options shared by every command that runs the analysis pipeline.
#[derive(clap::Args, Clone)]
struct PipelineArgs {
    /// EPIR weights (the config RON beside them).
    #[arg(long, default_value = DEFAULT_WEIGHTS)]
    weights: PathBuf,
    #[arg(long, value_enum, default_value_t = DetectorKind::Mtcnn)]
    detector: DetectorKind,
    /// MTCNN weights folder (default: the set-up cache).
    #[arg(long)]
    mtcnn: Option<PathBuf>,
    /// Frame rate of image-folder inputs (they carry no timestamps).
    #[arg(long)]
    fps: Option<f64>,
    /// Spotting sensitivity, 0 (only strong events) to 1 (everything); 0.5 is the default threshold.
    #[arg(long)]
    sensitivity: Option<f32>,
    /// Run the face detector this often, seconds (tracks hold in between).
    #[arg(long, default_value_t = 0.4)]
    detect_every: f64,
    /// Per-frame class probabilities this many times a second (0: every frame).
    #[arg(long, default_value_t = 10.0)]
    track_hz: f64,
    /// Side at which classification flow is computed before averaging to 28×28.
    #[arg(long, default_value_t = 112)]
    classify_flow_side: i32,
}

impl PipelineArgs {
    fn options(&self) -> Result<AnalysisOptions> {
        if !(self.detect_every > 0.0 && self.detect_every.is_finite()) {
            bail!("--detect-every must be a positive number of seconds, got {}", self.detect_every);
        }
        if !(self.track_hz >= 0.0 && self.track_hz.is_finite()) {
            bail!("--track-hz must be 0 or positive, got {}", self.track_hz);
        }
        let mut options = AnalysisOptions {
            detector: self.detector,
            detect_every_s: self.detect_every,
            track_hz: self.track_hz,
            classify_flow_side: self.classify_flow_side,
            weights: self.weights.clone(),
            mtcnn_dir: self.mtcnn.clone(),
            folder_fps: self.fps,
            ..AnalysisOptions::default()
        };
        if let Some(sensitivity) = self.sensitivity {
            if !(0.0..=1.0).contains(&sensitivity) {
                bail!("--sensitivity must be within 0..1, got {sensitivity}");
            }
            options.spotting = options.spotting.with_sensitivity(sensitivity);
        }
        Ok(options)
    }
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Video files, folders of videos (each video in it), or folders of numbered frames.
    #[arg(required_unless_present = "list")]
    inputs: Vec<PathBuf>,
    /// A file listing inputs, one per line (blank lines and # comments skipped).
    #[arg(long)]
    list: Option<PathBuf>,
    /// Where the session and exports go (default: beside each input).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Analyse inputs again even when all their outputs exist (default: skip them, so a
    /// stopped batch resumes where it was).
    #[arg(long)]
    force: bool,
    /// Take only share INDEX of COUNT of the inputs (every COUNT-th, from INDEX; 0-based),
    /// e.g. `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`.
    #[arg(long, value_name = "INDEX/COUNT")]
    shard: Option<String>,
    /// Also write the batch summary as JSON here.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Sample this process's memory (RSS) every few seconds into this CSV.
    #[arg(long)]
    memory_log: Option<PathBuf>,
    /// Seconds between memory samples.
    #[arg(long, default_value_t = 10.0)]
    memory_every: f64,
    /// Exports: csv, intervals, json, ron, eaf, video, or all.
    #[arg(long, default_value = "ron,csv,intervals,eaf")]
    export: String,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

#[derive(clap::Args)]
struct EvalSpottingArgs {
    /// Clips with `<clip>.truth.json` beside them.
    #[arg(required = true)]
    clips: Vec<PathBuf>,
    /// Also write the scores as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Protocol {
    /// Leave one subject out: one fold per subject, pooled MEGC2019 scores.
    Loso,
    /// Train on every sample and write the shipped weights and model card.
    All,
}

#[derive(clap::Args)]
struct TrainArgs {
    #[arg(long, default_value = DEFAULT_DATA)]
    data: PathBuf,
    #[arg(long, value_enum, default_value_t = Protocol::Loso)]
    protocol: Protocol,
    /// Architecture RON (default: the built-in EPIR config).
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Score and keep an exponential moving average of the weights: decay per step, or `off`.
    #[arg(long, default_value = "0.995")]
    ema: String,
    /// Average each prediction with its mirror image's (stored in the config RON).
    #[arg(long)]
    test_time_mirror: bool,
    /// Mixup with Beta(alpha, alpha) blending weights, alpha in (0, 1], or `off`.
    #[arg(long, default_value = "0.4")]
    mixup: String,
    /// Folds trained in parallel (CPU: one thread each). Default: CPU cores, or 1 on CUDA.
    #[arg(long)]
    jobs: Option<usize>,
    /// LOSO: run only the first N folds (sorted by dataset/subject).
    #[arg(long)]
    folds: Option<usize>,
    /// LOSO report JSON.
    #[arg(long, default_value = "reports/loso-megc2019.json")]
    out: PathBuf,
    /// `--protocol all`: where the weights go (the config RON goes beside them).
    #[arg(long, default_value = DEFAULT_WEIGHTS)]
    weights_out: PathBuf,
    /// `--protocol all`: LOSO report whose scores go into the model card.
    #[arg(long)]
    loso_report: Option<PathBuf>,
    /// `--protocol all`: LOSO reports of other recipes tried, listed in the model card.
    #[arg(long, num_args = 1..)]
    also_tried: Vec<PathBuf>,
    /// `--protocol all`: `glimpse bench model` JSON whose latencies go into the model card.
    #[arg(long)]
    bench_report: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Parameters, per-layer FLOPs and forward latency (batch 1 and 32).
    Model {
        /// Weights to time (default: a fresh model of --config or the built-in config).
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Time the test-time mirror path (two forward passes per input).
        #[arg(long)]
        test_time_mirror: bool,
        /// Timed runs at batch 1 (fewer at batch 32).
        #[arg(long, default_value_t = 300)]
        runs: usize,
        #[arg(long, default_value = "target/bench/model.json")]
        out: PathBuf,
    },
    /// The window during a live session: UI frame time and capture → overlay
    /// latency, with a video played as the camera (needs a display: Xvfb will do).
    Ui {
        #[arg(default_value = "assets/demo/astronaut-demo.mp4")]
        clip: PathBuf,
        #[arg(long, default_value = "target/bench/ui.json")]
        out: PathBuf,
        #[arg(long, default_value = DEFAULT_WEIGHTS)]
        weights: PathBuf,
    },
    /// Per-stage time of the analysis pipeline on a video, end-to-end fps
    /// against decoding alone, and peak memory.
    Pipeline {
        video: PathBuf,
        #[arg(long, default_value = "target/bench/pipeline.json")]
        out: PathBuf,
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
}

fn main() {
    // A file grown past the size limit (ulimit -f, a quota) must fail its
    // write with an error we report, not kill the process mid-export.
    // SAFETY: setting a signal's disposition to ignore, before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    keep_the_heap_flat();
    // FFmpeg's own log lines ("moov atom not found") come before, and say
    // less than, the error we give for the same file; a user who wants
    // them sets the variable (OpenCV reads it when FFmpeg starts).
    if std::env::var_os("OPENCV_FFMPEG_LOGLEVEL").is_none() {
        std::env::set_var("OPENCV_FFMPEG_LOGLEVEL", "-8");
    }
    let cli = Cli::parse();
    if let Err(err) = run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

/// Rust's allocations go to mimalloc, which keeps small objects of a size
/// in pages of their own. Under glibc's malloc the session's small records,
/// kept for the whole run, landed between frame-sized buffers freed thirty
/// times a second and pinned their pages: a 1-hour analysis crept from 510
/// to 605 MiB by 55,000 frames even with the fixes below
/// (reports/long-run-memory-*.csv).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One glibc malloc arena for what OpenCV and libtorch allocate. With
/// glibc's default (up to eight per core), frames decoded on one thread and
/// freed on another left every arena holding freed memory: a 1-hour
/// analysis grew by 10 MiB per 1000 frames (985 MiB at 36,000 frames). The
/// analyzer also hands freed pages back now and then
/// (`Analyzer::push_detected`).
fn keep_the_heap_flat() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let command =
        cli.command.unwrap_or_else(|| Command::App(AppArgs { weights: DEFAULT_WEIGHTS.into(), ..AppArgs::default() }));
    match &command {
        Command::Recover { target } => return live_cmd::run_recover(target.as_deref()),
        Command::Cameras => return live_cmd::run_cameras(),
        _ => {}
    }
    let window = matches!(command, Command::App(_) | Command::Bench(BenchCommand::Ui { .. }));
    // Where libtorch serves only analysis runs, the line says the threads they use.
    let usage = if window || matches!(command, Command::Live(_)) { ThreadUse::Pipeline } else { ThreadUse::Default };
    let chosen = choose_device(cli.device, window, usage)?;
    eprintln!("device: {}", chosen.line);
    let device = chosen.device;
    match command {
        // Answered above: they need no device.
        Command::Recover { .. } | Command::Cameras => Ok(()),
        Command::App(args) => run_app(args, chosen),
        Command::Live(args) => live_cmd::run_live(args, device),
        Command::Train(args) => run_train(args, device),
        Command::Eval { weights, data, out } => run_eval(&weights, &data, out.as_deref(), device),
        Command::Bench(BenchCommand::Model { weights, config, test_time_mirror, runs, out }) => {
            run_bench_model(weights.as_deref(), config.as_deref(), test_time_mirror, runs, &out, device)
        }
        Command::Bench(BenchCommand::Pipeline { video, out, pipeline }) => {
            let result = bench::pipeline::bench_pipeline(&video, &pipeline.options()?, device)
                .with_context(|| format!("benchmarking the pipeline on {}", video.display()))?;
            println!("{}", bench::pipeline::table(&result));
            write_json(&out, &result)
        }
        Command::Bench(BenchCommand::Ui { clip, out, weights }) => run_bench_ui(clip, out, weights, chosen),
        Command::Analyze(args) => analyze_cmd::run(args, device),
        Command::EvalSpotting(args) => analyze_cmd::eval_spotting(args, device),
        Command::Synth(args) => run_synth(args),
    }
}

/// The one choice of device in the binary. The window's default is the
/// device in its settings, and a device it cannot have is said in the
/// window, which runs on the CPU, rather than keeping it from opening.
fn choose_device(flag: Option<DeviceChoice>, window: bool, usage: ThreadUse) -> Result<ChosenDevice> {
    if !window {
        return Ok(ChosenDevice::choose(flag.unwrap_or_default(), flag, usage)?);
    }
    let choice = flag.unwrap_or_else(|| {
        glimpse::ui::settings::settings_path()
            .map_or_else(DeviceChoice::default, |path| glimpse::ui::settings::load_settings(&path).settings.device)
    });
    Ok(ChosenDevice::choose(choice, flag, usage).unwrap_or_else(|e| ChosenDevice::cpu_because(&e, flag, usage)))
}

fn run_app(args: AppArgs, device: ChosenDevice) -> Result<()> {
    let launch = glimpse::ui::AppLaunch {
        device,
        video: args.video,
        screenshot_dir: args.screenshot_dir,
        exit_after_analysis: args.exit_after_analysis,
        options: AnalysisOptions { weights: args.weights, ..AnalysisOptions::default() },
        live_file: args.live_file,
        start_live: args.live,
        bench_ui: None,
        live_dir: None,
    };
    for path in glimpse::ui::run_app(launch)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn run_bench_ui(clip: PathBuf, out: PathBuf, weights: PathBuf, device: ChosenDevice) -> Result<()> {
    if !clip.is_file() {
        bail!("{}: no such file", clip.display());
    }
    // The live session's files go to a scratch folder, not the user's.
    let scratch = std::env::temp_dir().join(format!("glimpse-bench-ui-{}", std::process::id()));
    let launch = glimpse::ui::AppLaunch {
        device,
        live_file: Some(clip.clone()),
        start_live: true,
        bench_ui: Some(out.clone()),
        live_dir: Some(scratch.clone()),
        options: AnalysisOptions { weights, ..AnalysisOptions::default() },
        ..glimpse::ui::AppLaunch::default()
    };
    let result = glimpse::ui::run_app(launch);
    let _ = std::fs::remove_dir_all(&scratch);
    result.with_context(|| format!("benchmarking the UI on {}", clip.display()))?;
    let text = std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
    let report: glimpse::bench::ui::UiBench =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", out.display()))?;
    println!("{}", glimpse::bench::ui::table(&report));
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn run_synth(args: SynthArgs) -> Result<()> {
    use glimpse::synth::{self, SynthSpec, CLASS_NAMES};
    let (width, height) = live_cmd::parse_size(&args.size)?;
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
    };
    let astronaut = args.astronaut.unwrap_or_else(synth::default_astronaut_path);
    let started = Instant::now();
    let truth = synth::generate(&spec, &astronaut, &args.out, &mut |done, total| {
        if done == total || done % 300 == 0 {
            eprintln!("rendered {done}/{total} frames");
        }
    })?;
    println!(
        "wrote {} ({}x{}, {} frames at {} fps, {:.2} s) in {:.1} s",
        args.out.display(),
        truth.width,
        truth.height,
        truth.frames,
        truth.fps,
        truth.seconds,
        started.elapsed().as_secs_f64()
    );
    println!("wrote {}", synth::truth_path(&args.out).display());
    for e in &truth.events {
        println!(
            "  face {} {:<8} frames {:>4}..{:>4} (apex {:>4})  {:6.2}-{:6.2} s  {:.2} px",
            e.face, e.class_name, e.onset_frame, e.offset_frame, e.apex_frame, e.onset_s, e.offset_s, e.amplitude_px
        );
    }
    for d in &truth.distractors {
        let kind = match d.kind {
            synth::DistractorKind::Blink => "blink",
            synth::DistractorKind::HeadMotion => "head_motion",
        };
        println!("  face {} {kind:<11} frames {:>4}..{:>4}", d.face, d.start_frame, d.end_frame);
    }
    Ok(())
}

fn parse_optional_f64(text: &str) -> Result<Option<f64>> {
    match text {
        "off" | "none" => Ok(None),
        number => match number.parse() {
            Ok(value) => Ok(Some(value)),
            Err(_) => bail!("expected a number or `off`, found `{number}`"),
        },
    }
}

/// The command as a user would retype it (program name without its path).
fn command_line() -> String {
    std::iter::once("glimpse".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ")
}

fn load_config(path: Option<&Path>) -> Result<EpirConfig> {
    Ok(match path {
        Some(path) => EpirConfig::load(path)?,
        None => EpirConfig::default(),
    })
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let json = serde_json::to_string_pretty(value).context("serialising JSON")?;
    write_atomic(path, json.as_bytes())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn run_train(args: TrainArgs, device: tch::Device) -> Result<()> {
    let mut config = load_config(args.config.as_deref())?;
    config.test_time_mirror |= args.test_time_mirror;
    let defaults = TrainOptions::default();
    let options = TrainOptions {
        epochs: args.epochs.unwrap_or(defaults.epochs),
        batch_size: args.batch_size.unwrap_or(defaults.batch_size),
        learning_rate: args.lr.unwrap_or(defaults.learning_rate),
        seed: args.seed.unwrap_or(defaults.seed),
        ema_decay: parse_optional_f64(&args.ema).context("--ema")?,
        mixup_alpha: parse_optional_f64(&args.mixup).context("--mixup")?,
        ..defaults
    };
    options.validate()?;
    let dataset = Dataset::load(&args.data, &config.class_names)?;
    eprintln!(
        "data: {} samples, {} subjects, class counts {:?} from {}",
        dataset.samples.len(),
        dataset.folds().len(),
        dataset.class_counts(),
        args.data.display()
    );
    match args.protocol {
        Protocol::Loso => {
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let jobs = args.jobs.unwrap_or(if device.is_cuda() { 1 } else { cores });
            if jobs > 1 && !device.is_cuda() {
                // Parallel folds beat parallel kernels for a model this small.
                tch::set_num_threads(1);
            }
            let settings = LosoSettings {
                config: &config,
                options: &options,
                device,
                jobs,
                max_folds: args.folds,
                command: command_line(),
            };
            eprintln!("loso: {} epochs, seed {}, {jobs} fold(s) at a time", options.epochs, options.seed);
            let report = run_loso(&dataset, &settings, &|line| eprintln!("{line}"))?;
            println!("{}", scores_table(&report));
            println!("wall time {:.1} s", report.wall_time_s);
            write_json(&args.out, &report)
        }
        Protocol::All => {
            let started = Instant::now();
            let all: Vec<_> = dataset.samples.iter().collect();
            let trained = train(&config, &all, &[], &options, options.seed, device)?;
            let wall_time_s = started.elapsed().as_secs_f64();
            eprintln!(
                "trained on all {} samples in {wall_time_s:.1} s; loss {:.3} -> {:.3}",
                all.len(),
                trained.losses.first().copied().unwrap_or(f64::NAN),
                trained.losses.last().copied().unwrap_or(f64::NAN)
            );
            trained.model.save(&args.weights_out)?;
            eprintln!(
                "wrote {} and {}",
                args.weights_out.display(),
                EpirConfig::path_beside(&args.weights_out).display()
            );
            let loso: Option<LosoReport> =
                args.loso_report.as_deref().map(|p| read_json(p, "a LOSO report")).transpose()?;
            let bench: Option<ModelBench> =
                args.bench_report.as_deref().map(|p| read_json(p, "a `glimpse bench model` report")).transpose()?;
            let also_tried: Vec<LosoReport> =
                args.also_tried.iter().map(|p| read_json(p, "a LOSO report")).collect::<Result<_>>()?;
            let machine = machine_description();
            let weights_name =
                args.weights_out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let card = model_card(&CardFacts {
                weights_file: &weights_name,
                config: &config,
                options: &options,
                data: &args.data.display().to_string(),
                samples: dataset.samples.len(),
                subjects: dataset.folds().len(),
                class_counts: &dataset.class_counts(),
                device: &describe(device),
                wall_time_s,
                finished_unix_s: unix_now(),
                command: &command_line(),
                loso: loso.as_ref(),
                also_tried: &also_tried,
                bench: bench.as_ref().map(|b| (b, machine.as_str())),
            });
            let card_path = args.weights_out.with_file_name("README.md");
            write_atomic(&card_path, card.as_bytes())?;
            eprintln!("wrote {}", card_path.display());
            Ok(())
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not {what}", path.display()))
}

/// CPU model and core count, from /proc/cpuinfo where there is one.
fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cpu}, {cores} cores")
}

fn run_eval(weights: &Path, data: &Path, out: Option<&Path>, device: tch::Device) -> Result<()> {
    let model = EpirModel::load(weights, device)?;
    let dataset = Dataset::load(data, &model.config.class_names)?;
    let mut outcomes = Vec::with_capacity(dataset.samples.len());
    for chunk in dataset.samples.chunks(256) {
        let flows: Vec<&[f32]> = chunk.iter().map(|s| s.flow.as_slice()).collect();
        for (sample, prediction) in chunk.iter().zip(model.predict(&flows)?) {
            outcomes.push((sample.dataset.as_str(), sample.label, prediction.class));
        }
    }
    let scores = scores_by_subset(model.config.class_names.len(), outcomes);
    println!("{} on {} ({} samples)", weights.display(), data.display(), dataset.samples.len());
    println!("subset        UF1     UAR     acc     n");
    for (name, s) in subset_order(&scores) {
        println!("{name:<10} {:.4}  {:.4}  {:.4}  {}", s.uf1, s.uar, s.accuracy, s.samples);
    }
    if let Some(out) = out {
        write_json(out, &scores)?;
    }
    Ok(())
}

fn run_bench_model(
    weights: Option<&Path>,
    config: Option<&Path>,
    test_time_mirror: bool,
    runs: usize,
    out: &Path,
    device: tch::Device,
) -> Result<()> {
    let make = |device| -> Result<EpirModel> {
        let mut model = match weights {
            Some(path) => EpirModel::load(path, device)?,
            None => EpirModel::new(load_config(config)?, device)?,
        };
        model.config.test_time_mirror |= test_time_mirror;
        Ok(model)
    };
    let cpu = make(tch::Device::Cpu)?;
    let gpu = if device.is_cuda() { Some(make(device)?) } else { None };
    let result = bench::model::bench_model(&cpu, gpu.as_ref(), &[1, 32], runs.max(10));
    println!("{}", bench::model::table(&result));
    write_json(out, &result)
}
