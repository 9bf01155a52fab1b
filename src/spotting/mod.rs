//! Spotting: onset → apex → offset of candidate micro-expressions from facial
//! motion against a rolling baseline, with every duration in seconds.

pub mod eval;
