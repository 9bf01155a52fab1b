//! The analysis pipeline: frames → faces → aligned crops → flow → spotting → EPIR per event → session.
