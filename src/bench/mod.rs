//! `glimpse bench …` of the video pipeline and the window: measured speed,
//! printed as a table and saved as JSON. The model's own benchmark is
//! `model::bench` (it builds without the app).
pub mod pipeline;
pub mod ui;
