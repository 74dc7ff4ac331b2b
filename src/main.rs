//! The `fiskal` binary: parse, dispatch, print the error chain, map the outcome to 0/1/2.

use std::process::ExitCode;

// fiskal builds millions of short-lived strings and rows on every core; with the system
// allocator a third of an export's time went to malloc, free and growing per-thread heaps
// (docs/performance.md). mimalloc keeps per-thread free lists instead.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    #[cfg(feature = "mimalloc")]
    keep_freed_memory();
    fiskal::cli::main()
}

/// Tells mimalloc to hand freed memory back to the system once it has been free for a second.
///
/// A run frees each register's operations and rows and then allocates as much again for the
/// next; returning the pages at once made the kernel zero them again (docs/performance.md),
/// so pages freed and reused within a second stay. Never returning them (the setting before)
/// kept every buffer that a growing index had outgrown: `check` of ten million operations
/// peaked at 1,090 MiB that way and at 940 MiB with the delay, at the same CPU time.
/// Transparent huge pages are off from the start (libmimalloc-sys feature `no_thp`): with
/// them, the kernel zeroed 2 MiB for each first touch and a run's system time swung between
/// 0.1 s and 1 s.
#[cfg(feature = "mimalloc")]
fn keep_freed_memory() {
    // The option id of mimalloc 3's `mi_option_t` (include/mimalloc.h of the linked
    // libmimalloc-sys); the crate does not export it as a constant.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    /// Milliseconds.
    const DELAY: std::os::raw::c_long = 1000;
    // SAFETY: called first thing in `main`, before any thread exists, as mimalloc requires
    // for option changes; the id and value are valid for the linked mimalloc 3.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, DELAY) };
}
