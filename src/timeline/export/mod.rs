//! Session exports: per-frame CSV (OpenFace-like), intervals CSV, JSON, RON,
//! ELAN .eaf and an annotated video. Every file is written atomically.
