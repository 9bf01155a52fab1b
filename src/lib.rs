//! Glimpse: micro-expression analysis. This crate holds the EPIR model, its
//! training and evaluation, the video pipeline (capture → faces → motion →
//! spotting → classification → timeline) and the benchmarks; `main.rs` is
//! the CLI edge; `ui` is the desktop app.
#![deny(clippy::unwrap_used)]

pub mod bench;
pub mod capture;
pub mod device;
pub mod face;
#[doc(hidden)]
pub mod fuzz_checks;
pub mod io;
pub mod model;
pub mod motion;
pub mod pipeline;
pub mod spotting;
pub mod synth;
pub mod timeline;
pub mod train;
pub mod ui;
pub mod utc;
