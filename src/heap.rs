//! Where the process's memory is: bytes Rust holds now (counted by the global
//! allocator) and bytes the C libraries (OpenCV, libtorch, FFmpeg) hold in
//! glibc's malloc. Resident memory alone cannot tell a session that grows with
//! the video (expected) from a leak; these two columns of `analyze
//! --memory-log` can.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

static RUST_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Wraps an allocator and keeps the number of bytes allocated through it and
/// not yet freed. One relaxed atomic add per call: within the noise of
/// `bench pipeline`.
pub struct Counting<A>(pub A);

// SAFETY: every call is forwarded unchanged to the wrapped allocator; the
// counter only observes sizes.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { self.0.alloc(layout) };
        if !ptr.is_null() {
            RUST_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { self.0.alloc_zeroed(layout) };
        if !ptr.is_null() {
            RUST_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.0.dealloc(ptr, layout) };
        RUST_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            RUST_BYTES.fetch_add(new_size, Ordering::Relaxed);
            RUST_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

/// Bytes allocated through a [`Counting`] global allocator and not freed, in
/// MiB; `None` when the program does not count (tests, other binaries).
pub fn rust_heap_mib() -> Option<f64> {
    let bytes = RUST_BYTES.load(Ordering::Relaxed);
    (bytes > 0).then(|| bytes as f64 / (1024.0 * 1024.0))
}

/// Bytes in use in glibc's malloc (small blocks plus mmapped large ones), MiB:
/// what OpenCV, libtorch and FFmpeg hold. Freed memory glibc keeps is not in it.
pub fn c_heap_mib() -> Option<f64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks + info.hblkhd) as f64 / (1024.0 * 1024.0))
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_allocations_and_frees_through_the_wrapper() {
        let counting = Counting(std::alloc::System);
        let before = RUST_BYTES.load(Ordering::Relaxed);
        let layout = Layout::from_size_align(3 << 20, 8).expect("layout");
        // SAFETY: a valid non-zero layout, freed with the same layout.
        unsafe {
            let ptr = counting.alloc(layout);
            assert!(!ptr.is_null());
            assert_eq!(RUST_BYTES.load(Ordering::Relaxed) - before, 3 << 20);
            let grown = counting.realloc(ptr, layout, 5 << 20);
            assert_eq!(RUST_BYTES.load(Ordering::Relaxed) - before, 5 << 20);
            counting.dealloc(grown, Layout::from_size_align(5 << 20, 8).expect("layout"));
        }
        assert_eq!(RUST_BYTES.load(Ordering::Relaxed), before);
    }

    #[test]
    fn glibc_reports_a_large_block_held_by_c_code() {
        let before = c_heap_mib().expect("glibc");
        // SAFETY: malloc/free of a plain block; 64 MiB goes to mmap, counted in hblkhd.
        let block = std::hint::black_box(unsafe { libc::malloc(64 << 20) });
        assert!(!block.is_null());
        // SAFETY: the first byte of the block just allocated.
        unsafe { std::ptr::write_volatile(block.cast::<u8>(), 1) };
        let during = c_heap_mib().expect("glibc");
        unsafe { libc::free(std::hint::black_box(block)) };
        let after = c_heap_mib().expect("glibc");
        assert!(during - before >= 63.9, "{before} -> {during}");
        assert!(during - after >= 63.9, "{during} -> {after}");
    }
}
