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

/// Tells mimalloc not to hand freed memory back to the system while the run goes on, and not
/// to ask for transparent huge pages for the memory it reserves from then on.
///
/// A run frees each register's operations and rows and then allocates as much again for the
/// next; returning the pages in between made the kernel zero them again, and huge pages made
/// a run's system time swing between 0.1 s and 1 s with the kernel's compaction
/// (docs/performance.md). The memory goes back when the process ends; a run never holds more
/// than its peak.
#[cfg(feature = "mimalloc")]
fn keep_freed_memory() {
    // The option ids of mimalloc 3's `mi_option_t` (include/mimalloc.h of the linked
    // libmimalloc-sys); the crate does not export them as constants.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;
    // SAFETY: called first thing in `main`, before any thread exists, as mimalloc requires
    // for option changes; both ids and values are valid for the linked mimalloc 3.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
    }
}
