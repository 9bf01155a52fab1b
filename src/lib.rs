//! Glimpse: micro-expression analysis. This crate holds the EPIR model, its
//! training and evaluation, the video pipeline (capture → faces → motion →
//! spotting → classification → session) and the benchmarks; `main.rs` and
//! `cli/` are the command-line edge; `ui` is the desktop app.
//!
//! The model and its training (`model`, with its benchmark, `train`, `device`,
//! `files`, `resources`) need only libtorch; everything that touches video, cameras or
//! a window is behind the default `app` feature.
#![deny(clippy::unwrap_used)]

#[cfg(feature = "app")]
pub mod bench;
#[cfg(feature = "app")]
pub mod capture;
pub mod device;
pub mod error_text;
#[cfg(feature = "app")]
pub mod face;
pub mod files;
pub mod heap;
#[cfg(feature = "app")]
#[doc(hidden)]
pub mod fuzz_checks;
pub mod model;
#[cfg(feature = "app")]
pub mod motion;
#[cfg(feature = "app")]
pub mod pipeline;
pub mod resources;
#[cfg(feature = "app")]
pub mod session;
#[cfg(feature = "app")]
pub mod spotting;
#[cfg(feature = "app")]
pub mod synth;
pub mod train;
#[cfg(feature = "app")]
pub mod ui;
pub mod utc;
