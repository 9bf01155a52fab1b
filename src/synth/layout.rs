//! A tiny synthetic data set in a licensed set's published folder layout
//! (`train::licensed`), for testing the loader and MOL's preparation end to
//! end without the licensed data: each clip is one synthetic
//! micro-expression of a known class (tight face crop, still head, no
//! blinks), its frames from two before onset to two after offset (SMIC:
//! onset to offset, as its folders hold), and for CASME II and SAMM the
//! coding sheet as CSV with one extra `others` row that the loader drops.
//! Every subject is the same astronaut face; subjects differ by seed.
use std::path::Path;

use opencv::core::Vector;
use opencv::imgcodecs;

use super::{load_astronaut, Framing, Synth, SynthError, SynthSpec, CLASS_NAMES};
use crate::files::write_atomic;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Casme2,
    Samm,
    Smic,
}

/// What was written for one clip (frame numbers as in the file names).
#[derive(Clone, Debug, PartialEq)]
pub struct WrittenClip {
    pub subject: String,
    pub name: String,
    pub class: usize,
    pub onset: u64,
    pub apex: u64,
    pub offset: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct LayoutSpec {
    pub subjects: usize,
    pub clips_per_subject: usize,
    /// Frame width and height (even; 160 x 200 keeps the face well inside
    /// MTCNN's smallest size).
    pub size: (u32, u32),
    /// Peak displacement of each event in pixels.
    pub amplitude_px: f32,
    pub seed: u64,
}

impl Default for LayoutSpec {
    fn default() -> Self {
        Self { subjects: 2, clips_per_subject: 2, size: (160, 200), amplitude_px: 3.0, seed: 1 }
    }
}

fn emotion(layout: Layout, class: usize) -> &'static str {
    match (layout, class) {
        (Layout::Casme2, 0) => "disgust",
        (Layout::Samm, 0) => "Anger",
        (Layout::Casme2, 1) => "happiness",
        (Layout::Samm, 1) => "Happiness",
        (Layout::Samm, _) => "Surprise",
        _ => "surprise",
    }
}

fn io_error(path: &Path, e: std::io::Error) -> SynthError {
    SynthError::BadSpec(format!("{}: {e}", path.display()))
}

/// Writes the layout under `out` (which becomes the `--casme2` / `--samm`
/// / `--smic` folder). Classes cycle over the clips.
pub fn write_layout(
    layout: Layout,
    spec: &LayoutSpec,
    astronaut: &Path,
    out: &Path,
) -> Result<Vec<WrittenClip>, SynthError> {
    let photo = load_astronaut(astronaut)?;
    let mut written = Vec::new();
    let mut sheet = match layout {
        Layout::Casme2 => "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n".to_string(),
        Layout::Samm => "SAMM micro-expressions (synthetic),,,,,,\n\
                         Subject,Filename,Inducement Code,Onset Frame,Apex Frame,Offset Frame,Estimated Emotion\n"
            .to_string(),
        Layout::Smic => String::new(),
    };
    for s in 0..spec.subjects {
        for c in 0..spec.clips_per_subject {
            let k = s * spec.clips_per_subject + c;
            let class = k % CLASS_NAMES.len();
            let clip_spec = SynthSpec {
                width: spec.size.0,
                height: spec.size.1,
                fps: 30.0,
                seconds: 2.2,
                faces: 1,
                events_per_face: 1,
                classes: Some(vec![class]),
                amplitude_px: Some(spec.amplitude_px),
                blinks_per_face: 0,
                head_motion_px: 0.0,
                noise_sigma: 1.0,
                seed: spec.seed.wrapping_mul(1000).wrapping_add(k as u64),
                framing: Framing { tight_crop: true, ..Framing::default() },
                ..SynthSpec::default()
            };
            let synth = Synth::new(&clip_spec, &photo, "layout")?;
            let event = synth.truth.events.first().ok_or_else(|| SynthError::BadSpec("no event planned".into()))?;
            let (onset, apex, offset) = (event.onset_frame, event.apex_frame, event.offset_frame);
            let (first, last) = match layout {
                Layout::Smic => (onset, offset),
                _ => (onset.saturating_sub(2), (offset + 2).min(synth.truth.frames - 1)),
            };
            let (subject, name, folder, file) = match layout {
                Layout::Casme2 => {
                    let subject = format!("sub{:02}", s + 1);
                    let name = format!("EP{:02}_01", c + 1);
                    let folder = out.join("CASME2_RAW_selected").join(&subject).join(&name);
                    (subject, name, folder, Box::new(|n: u64| format!("img{n}.jpg")) as Box<dyn Fn(u64) -> String>)
                }
                Layout::Samm => {
                    let id = format!("{:03}", s + 6);
                    let name = format!("{id}_{}_1", c + 1);
                    let folder = out.join("SAMM").join(&id).join(&name);
                    let prefix = id.clone();
                    (id, name, folder, Box::new(move |n: u64| format!("{prefix}_{n:05}.jpg")) as Box<dyn Fn(u64) -> String>)
                }
                Layout::Smic => {
                    let subject = format!("s{}", s + 1);
                    let abbreviation = ["ne", "po", "sur"][class];
                    let name = format!("{subject}_{abbreviation}_{:02}", c + 1);
                    let folder = out.join("HS").join(&subject).join("micro").join(CLASS_NAMES[class]).join(&name);
                    (subject, name, folder, Box::new(|n: u64| format!("image{n:06}.bmp")) as Box<dyn Fn(u64) -> String>)
                }
            };
            std::fs::create_dir_all(&folder).map_err(|e| io_error(&folder, e))?;
            for n in first..=last {
                let frame = synth.frame(n)?;
                let path = folder.join(file(n));
                if !imgcodecs::imwrite(&path.to_string_lossy(), &frame, &Vector::new())? {
                    return Err(SynthError::BadSpec(format!("{}: OpenCV could not write it", path.display())));
                }
            }
            let label = emotion(layout, class);
            match layout {
                Layout::Casme2 => sheet.push_str(&format!("{:02},{name},{onset},{apex},{offset},4,{label}\n", s + 1)),
                Layout::Samm => sheet.push_str(&format!("{subject},{name},1,{onset},{apex},{offset},{label}\n")),
                Layout::Smic => {}
            }
            written.push(WrittenClip { subject, name, class, onset, apex, offset });
        }
    }
    match layout {
        Layout::Casme2 => {
            sheet.push_str("01,EP99_99,1,2,3,1,others\n");
            write_atomic(&out.join("CASME2-coding.csv"), sheet.as_bytes())?;
        }
        Layout::Samm => {
            sheet.push_str("006,006_9_9,1,1,2,3,Other\n");
            write_atomic(&out.join("SAMM_Micro_FACS_Codes.csv"), sheet.as_bytes())?;
        }
        Layout::Smic => {}
    }
    Ok(written)
}
