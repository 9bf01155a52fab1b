//! The frames an AVI file still holds, from its index (`idx1`).
//!
//! FFmpeg's AVI reader numbers frames by the chunks it finds: when damage
//! in the middle of a file destroys chunks, it resynchronises on the next
//! intact one and numbers it as if nothing were missing, so every later
//! frame would be stamped early by the lost frames' time. The index at the
//! end of the file lists every frame's chunk by position; the chunks that
//! are no longer there (their header or the JPEG start marker overwritten)
//! are the lost frames, and the decoded frames are the others, in order.
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// What became of one frame period of the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AviFrame {
    /// Its chunk is there and whole: it decodes.
    Intact,
    /// A zero-length chunk: the writer dropped the frame (variable rate),
    /// the previous one stays on screen; nothing to decode.
    Dropped,
    /// Its chunk was overwritten: lost to damage.
    Lost,
}

/// Per frame period of the index, what is left of it.
#[derive(Clone, Debug, PartialEq)]
pub struct AviFrames {
    pub frames: Vec<AviFrame>,
}

impl AviFrames {
    /// Source frame numbers of the frames that decode, in order.
    pub fn intact_numbers(&self) -> Vec<u64> {
        self.frames.iter().enumerate().filter(|(_, f)| **f == AviFrame::Intact).map(|(i, _)| i as u64).collect()
    }

    /// Whether every frame period holds a frame that decodes.
    pub fn is_whole(&self) -> bool {
        self.frames.iter().all(|f| *f == AviFrame::Intact)
    }

    /// The warning for frames lost to damage: how many and which (the
    /// first five runs); `None` when none were.
    pub fn loss_warning(&self, path: &Path) -> Option<String> {
        let runs = self.lost_runs();
        let lost: u64 = runs.iter().map(|(a, b)| b - a + 1).sum();
        if lost == 0 {
            return None;
        }
        let listed: Vec<String> =
            runs.iter().take(5).map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
        Some(format!(
            "{}: {lost} frames damaged and skipped (source frames {}{}); the frames after them keep their own times",
            path.display(),
            listed.join(", "),
            if runs.len() > 5 { ", ..." } else { "" }
        ))
    }

    /// Runs of lost frames as (first, last) source frame numbers.
    pub fn lost_runs(&self) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for (i, f) in self.frames.iter().enumerate() {
            let i = i as u64;
            if *f != AviFrame::Lost {
                continue;
            }
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == i => *last = i,
                _ => runs.push((i, i)),
            }
        }
        runs
    }
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads the index of the AVI at `path`: `None` when it is not a RIFF AVI
/// with an `idx1` index (OpenDML files index elsewhere) or the index
/// cannot be made sense of.
pub fn read_avi_frames(path: &Path) -> Option<AviFrames> {
    let mut file = std::fs::File::open(path).ok()?;
    let length = file.metadata().ok()?.len();
    let mut header = [0u8; 12];
    file.read_exact(&mut header).ok()?;
    if &header[0..4] != b"RIFF" || &header[8..12] != b"AVI " {
        return None;
    }
    // Top-level chunks: find the 'movi' list and the 'idx1' index.
    let (mut movi, mut idx1) = (None, None);
    let mut at = 12u64;
    while at + 12 <= length {
        let mut chunk = [0u8; 12];
        file.seek(SeekFrom::Start(at)).ok()?;
        file.read_exact(&mut chunk).ok()?;
        let size = u64::from(u32_le(&chunk[4..8]));
        match (&chunk[0..4], &chunk[8..12]) {
            (b"LIST", b"movi") => movi = Some(at + 8),
            (b"idx1", _) => idx1 = Some((at + 8, size)),
            _ => {}
        }
        // Damage can break the walk (a size of zeroes): jump to the index,
        // which writers put last, by searching for it from the end.
        if size == 0 || at + 8 + size > length {
            break;
        }
        at += 8 + size + (size & 1);
    }
    let movi = movi?;
    let (index_at, index_len) = match idx1 {
        Some(found) => found,
        None => find_idx1_from_end(&mut file, length)?,
    };
    let mut index = vec![0u8; usize::try_from(index_len.min(length - index_at)).ok()?];
    file.seek(SeekFrom::Start(index_at)).ok()?;
    file.read_exact(&mut index).ok()?;
    let entries: Vec<(&[u8], u64, u64)> = index
        .chunks_exact(16)
        .map(|e| (&e[0..4], u64::from(u32_le(&e[8..12])), u64::from(u32_le(&e[12..16]))))
        .collect();
    // The video stream: the first chunk id ending in 'dc' (compressed) or
    // 'db' (raw frames).
    let video = entries.iter().map(|e| e.0).find(|id| &id[2..4] == b"dc" || &id[2..4] == b"db")?.to_vec();
    let frames: Vec<(u64, u64)> = entries.iter().filter(|e| e.0 == video.as_slice()).map(|e| (e.1, e.2)).collect();
    // Offsets count from the 'movi' fourcc, or (some writers) from the file's start.
    let (first_offset, _) = *frames.first()?;
    let relative = chunk_matches(&mut file, movi + first_offset, &video, None);
    let base = if relative { movi } else { 0 };
    let frames: Vec<AviFrame> = frames
        .iter()
        .map(|&(offset, size)| match chunk_matches(&mut file, base + offset, &video, Some(size)) {
            true if size == 0 => AviFrame::Dropped,
            true => AviFrame::Intact,
            false => AviFrame::Lost,
        })
        .collect();
    if !frames.contains(&AviFrame::Intact) {
        return None;
    }
    Some(AviFrames { frames })
}

/// Whether a chunk `id` (of `size`, when given) starts at `at`, and for a
/// compressed frame its data starts as a JPEG does (the MJPEG Glimpse and
/// webcams write).
fn chunk_matches(file: &mut std::fs::File, at: u64, id: &[u8], size: Option<u64>) -> bool {
    let mut head = [0u8; 10];
    if file.seek(SeekFrom::Start(at)).is_err() || file.read_exact(&mut head).is_err() {
        return false;
    }
    let declared = u64::from(u32_le(&head[4..8]));
    if &head[0..4] != id || size.is_some_and(|s| s != declared) {
        return false;
    }
    if &id[2..4] != b"dc" || declared == 0 {
        return true;
    }
    if declared < 4 {
        return false;
    }
    // A JPEG starts with FFD8 and ends with FFD9 (writers may pad a few
    // bytes after it): a frame whose tail was overwritten does not decode.
    let tail_len = declared.min(16);
    let mut tail = vec![0u8; tail_len as usize];
    let tail_at = at + 8 + declared - tail_len;
    let ends = file.seek(SeekFrom::Start(tail_at)).is_ok()
        && file.read_exact(&mut tail).is_ok()
        && tail.windows(2).any(|w| w == [0xFF, 0xD9]);
    head[8..10] == [0xFF, 0xD8] && ends
}

/// The `idx1` chunk searched for backwards from the end of the file.
fn find_idx1_from_end(file: &mut std::fs::File, length: u64) -> Option<(u64, u64)> {
    let window = length.min(64 << 20);
    let mut tail = vec![0u8; usize::try_from(window).ok()?];
    file.seek(SeekFrom::Start(length - window)).ok()?;
    file.read_exact(&mut tail).ok()?;
    let at = tail.windows(4).rposition(|w| w == b"idx1")?;
    let size = u64::from(u32_le(tail.get(at + 4..at + 8)?));
    Some((length - window + at as u64 + 8, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_lost_frames() {
        use AviFrame::{Dropped, Intact, Lost};
        let frames = AviFrames { frames: vec![Intact, Lost, Lost, Intact, Dropped, Lost, Intact] };
        assert_eq!(frames.intact_numbers(), vec![0, 3, 6]);
        assert_eq!(frames.lost_runs(), vec![(1, 2), (5, 5)]);
        assert!(!frames.is_whole());
    }

    #[test]
    fn not_an_avi_gives_none() {
        let path = std::env::temp_dir().join(format!("glimpse-avi-index-{}.bin", std::process::id()));
        std::fs::write(&path, b"RIFF\0\0\0\0WAVEfmt ").expect("write");
        assert_eq!(read_avi_frames(&path), None);
        std::fs::remove_file(&path).expect("cleanup");
    }
}
