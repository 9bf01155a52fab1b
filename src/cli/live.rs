//! `glimpse live`, `glimpse recover` and `glimpse cameras`: a live session
//! without the window (for a lab machine, or a test), bringing back a
//! session after a crash, and the cameras the system lists.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use glimpse::capture::{list_cameras, CameraRequest};
use glimpse::pipeline::live_run::{
    default_live_dir, open_camera, open_paced_file, session_name_now, LiveSettings, OpenFeed,
};
use glimpse::pipeline::live_save::{recover_session, save_live_session, ReviewLog};
use glimpse::pipeline::{AnalysisRun, RunCommand, RunMessage, RunSource};
use glimpse::session::journal::unfinished_journals;

use super::pipeline_args::PipelineArgs;

#[derive(clap::Args)]
pub struct LiveArgs {
    /// Camera index (see `glimpse cameras`).
    #[arg(long, default_value_t = 0, conflicts_with = "file")]
    camera: u32,
    /// Play a video file as if it were a camera, at its own pace.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Camera resolution WIDTHxHEIGHT (the closest mode is used).
    #[arg(long, default_value = "640x480")]
    size: String,
    #[arg(long, default_value_t = 30)]
    camera_fps: u32,
    /// Ask for raw YUYV instead of MJPEG.
    #[arg(long)]
    yuyv: bool,
    /// Folder of the recording, autosave journal and session (default: ~/.local/share/glimpse/live).
    #[arg(long)]
    out: Option<PathBuf>,
    /// File stem (default: live-<UTC date>-<time>).
    #[arg(long)]
    name: Option<String>,
    /// Stop after this many seconds (default: until the file ends or Ctrl-C).
    #[arg(long)]
    seconds: Option<f64>,
    /// Do not record the video.
    #[arg(long)]
    no_record: bool,
    /// Autosave period, seconds.
    #[arg(long, default_value_t = 2.0)]
    autosave_every: f64,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// Set by SIGINT/SIGTERM: stop cleanly, saving the session.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::Relaxed);
}

pub fn run_live(args: LiveArgs, device: tch::Device) -> Result<()> {
    let options = args.pipeline.options()?;
    if !(args.autosave_every > 0.0 && args.autosave_every.is_finite()) {
        bail!("--autosave-every must be a positive number of seconds");
    }
    let out_dir = match args.out.clone() {
        Some(dir) => dir,
        None => default_live_dir().context("no $XDG_DATA_HOME or $HOME to keep live sessions in; pass --out")?,
    };
    let open: OpenFeed = match &args.file {
        Some(file) => {
            if !file.exists() {
                bail!("{}: no such file", file.display());
            }
            open_paced_file(file.clone())
        }
        None => {
            let (width, height) = super::parse_size(&args.size)?;
            let request =
                CameraRequest { index: args.camera, width, height, fps: args.camera_fps, prefer_mjpeg: !args.yuyv };
            open_camera(request)
        }
    };
    let name = match args.name.as_deref().map(str::trim) {
        Some("") => bail!("--name must not be empty"),
        Some(name) if name.contains(['/', '\\']) || name.starts_with('.') => {
            bail!("--name must be a plain file stem (no folders, not hidden), got {name:?}")
        }
        Some(name) => name.to_string(),
        None => session_name_now(),
    };
    if let Some(seconds) = args.seconds.filter(|s| !(*s > 0.0 && s.is_finite())) {
        bail!("--seconds must be a positive number, got {seconds}");
    }
    let settings = LiveSettings {
        out_dir,
        name,
        record: !args.no_record,
        autosave_every: Duration::from_secs_f64(args.autosave_every),
    };
    // A name of the user's is refused if taken (the run says so); ours is made unique.
    let settings = if args.name.is_some() { settings } else { settings.with_free_name() };
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, request_stop as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, request_stop as *const () as libc::sighandler_t);
    }
    let run = AnalysisRun::start(RunSource::Live { open, settings }, options, device, || {})
        .context("cannot start the live worker")?;
    let started = Instant::now();
    let (mut stop_sent, mut last_status, mut reported) = (false, Instant::now(), 0usize);
    let mut events_seen = glimpse::session::Session::default();
    loop {
        let due = args.seconds.is_some_and(|s| started.elapsed().as_secs_f64() >= s);
        if !stop_sent && (due || STOP_REQUESTED.load(Ordering::Relaxed)) {
            eprintln!("stopping…");
            run.send(RunCommand::Stop);
            stop_sent = true;
        }
        let Ok(message) = run.messages.recv_timeout(Duration::from_millis(100)) else { continue };
        match message {
            RunMessage::Started { info, live, session } => {
                events_seen = *session;
                eprintln!(
                    "source: {} ({}×{}, {:.1} fps declared)",
                    info.path.display(),
                    info.width,
                    info.height,
                    info.nominal_fps
                );
                if let Some(paths) = live.map(|l| l.paths) {
                    eprintln!("autosave: {}", paths.journal.display());
                    if let Some(recording) = &paths.recording {
                        eprintln!("recording: {}", recording.display());
                    }
                }
            }
            RunMessage::Update { delta, live, .. } => {
                events_seen.apply_delta(delta);
                for event in &events_seen.events[reported..] {
                    say!(
                        "event {}: face {} {:.2}–{:.2} s (apex {:.2} s) {} {:.2}",
                        event.id,
                        event.face_id,
                        event.onset_s,
                        event.offset_s,
                        event.apex_s,
                        events_seen.class_name(event.class),
                        event.probabilities.get(event.class).copied().unwrap_or(0.0)
                    );
                }
                reported = events_seen.events.len();
                if let Some(stats) = live.map(|l| l.stats).filter(|_| last_status.elapsed() >= Duration::from_secs(2)) {
                    last_status = Instant::now();
                    eprintln!(
                        "{:6.1} s  capture {:5.1} fps  analysed {}  dropped {}  analysis {:.1} ms/frame{}",
                        started.elapsed().as_secs_f64(),
                        stats.capture_fps,
                        stats.analysed,
                        stats.dropped,
                        stats.analysis_ms,
                        if stats.paused { "  (paused)" } else { "" }
                    );
                }
            }
            RunMessage::SourceLost { error } => {
                eprintln!("source lost: {error}; retrying in 2 s (Ctrl-C stops and saves)");
                std::thread::sleep(Duration::from_secs(2));
                run.send(RunCommand::Retry);
            }
            RunMessage::SourceBack => eprintln!("source back"),
            RunMessage::Warning(warning) => eprintln!("warning: {warning}"),
            RunMessage::Finished(finished) => {
                let mut session = finished.session;
                say!(
                    "{} frames, {:.1} s, {} events",
                    session.frames.len(),
                    session.source.duration_s,
                    session.events.len()
                );
                let end = finished.live.context("a live run ended without its files")?;
                let recording_failed = match &end.recording {
                    Some(Ok(frames)) => {
                        eprintln!("recorded {frames} frames");
                        None
                    }
                    Some(Err(why)) => Some(why.clone()),
                    None => None,
                };
                // No reviewer here: the session is saved as analysed.
                let saved = save_live_session(&mut session, &end.paths, end.autosave, &ReviewLog::default())
                    .context("saving the live session")?;
                if let Some(why) = saved.journal_left {
                    eprintln!("warning: {why}");
                }
                eprintln!("wrote {}", saved.path.display());
                // The session is safe; the exit status still says the video is not.
                if let Some(why) = recording_failed {
                    bail!("the session was saved, but the recording failed: {why}");
                }
                return Ok(());
            }
            RunMessage::Failed { error, session, live } => {
                let kept = session.as_ref().map_or(0, |s| s.frames.len());
                if let (Some(mut session), Some(end)) = (session, live) {
                    // What was analysed is saved; the journal stays if that fails.
                    let _ = save_live_session(&mut session, &end.paths, end.autosave, &ReviewLog::default());
                }
                bail!("the live session failed: {error} ({kept} frames analysed were saved)");
            }
            RunMessage::Cancelled { .. } => bail!("the live session was cancelled"),
        }
    }
}

/// `glimpse recover [JOURNAL|FOLDER]`.
pub fn run_recover(target: Option<&Path>) -> Result<()> {
    let target = match target {
        Some(path) => path.to_path_buf(),
        None => default_live_dir().context("no $XDG_DATA_HOME or $HOME; name the journal or folder")?,
    };
    let journals = if target.is_dir() { unfinished_journals(&target) } else { vec![target.clone()] };
    if journals.is_empty() {
        say!("no unfinished live session in {}", target.display());
        return Ok(());
    }
    // One journal that cannot be read must not keep the others back.
    let mut failed = 0;
    for journal in &journals {
        match recover_session(journal) {
            Ok(recovered) => {
                say!("{}", recovered.summary);
                say!("wrote {}", recovered.saved.display());
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: recovering {}: {:#}", journal.display(), anyhow::Error::new(e));
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} journals could not be recovered (see above); they are left as they were", journals.len());
    }
    Ok(())
}

/// `glimpse cameras`.
pub fn run_cameras() -> Result<()> {
    let cameras = list_cameras().context("listing cameras")?;
    if cameras.is_empty() {
        say!("no camera found (V4L2 lists no /dev/video* device)");
    }
    for camera in cameras {
        say!("{}: {} ({})", camera.index, camera.name, camera.description);
    }
    Ok(())
}
