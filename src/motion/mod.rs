//! Motion: optical flow between aligned face crops, optical strain, head-motion compensation and the encoding EPIR was trained on.
