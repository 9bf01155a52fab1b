//! Glimpse: micro-expression analysis. This crate holds the EPIR model, its
//! training and evaluation, and the benchmarks; `main.rs` is the CLI edge.
#![deny(clippy::unwrap_used)]

pub mod bench;
pub mod device;
pub mod io;
pub mod model;
pub mod train;
