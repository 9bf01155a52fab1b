//! Spotting: onset → apex → offset of candidate micro-expressions from facial
//! motion against a rolling baseline, with every duration in seconds so it
//! works at any frame rate.
mod detector;
pub mod eval;
mod signal;

pub use detector::{Rejection, SpottedInterval, Spotter, SpottingOptions};
pub use signal::{MotionSample, TwoSidedSignal};
