//! Synthetic micro-expression clips with known ground truth, rendered from a
//! real public-domain face photo (scikit-image's astronaut, fetched at set-up).
