//! `glimpse bench …`: measured speed, printed as a table and saved as JSON.
pub mod model;
pub mod pipeline;
pub mod ui;
