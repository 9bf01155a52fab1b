//! The command line's subcommands, one file each; `main.rs` holds the
//! process set-up and the dispatch. Each subcommand parses its arguments,
//! calls the library and reports; errors get their context here (`anyhow`).
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use glimpse::files::write_atomic;
use glimpse::resources::Resource;

/// `println!` that a closed stdout (`glimpse analyze a.mp4 b.mp4 | head -1`)
/// cannot stop: the analyses and their files matter more than the
/// printout, so a failed write is dropped instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[cfg(feature = "app")]
pub mod analyze;
#[cfg(feature = "app")]
pub mod app;
pub mod bench;
#[cfg(feature = "app")]
pub mod classify;
pub mod compare;
pub mod ensemble;
pub mod eval;
#[cfg(feature = "app")]
pub mod live;
#[cfg(feature = "app")]
pub mod pipeline_args;
#[cfg(feature = "app")]
pub mod synth;
pub mod train;

pub const DEFAULT_DATA: &str = "../shared/data/megc2019-composite";

/// Writes `value` as pretty JSON, atomically, and says so.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let json = serde_json::to_string_pretty(value).context("serialising JSON")?;
    write_atomic(path, json.as_bytes())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not {what}", path.display()))
}

/// The file the user named, else `resource` where `glimpse::resources`
/// finds it (never in the working folder).
pub fn given_or_located(given: Option<PathBuf>, resource: Resource) -> Result<PathBuf> {
    match given {
        Some(path) => Ok(path),
        None => Ok(glimpse::resources::locate(resource)?),
    }
}

/// The command as a user would retype it (program name without its path).
pub fn command_line() -> String {
    std::iter::once("glimpse".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ")
}

/// `WIDTHxHEIGHT`, both positive.
#[cfg(feature = "app")]
pub fn parse_size(text: &str) -> Result<(u32, u32)> {
    let parsed = text.split_once(['x', 'X']).and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
    match parsed {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => anyhow::bail!("--size must be WIDTHxHEIGHT, e.g. 1280x720, got {text:?}"),
    }
}
