//! Fuzzes the whole record path: container detection, gzip, shape detection, both wire shapes,
//! list pages and duplicate ids. Any panic is a bug: bad input must become a rejection.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fiskal::ingest::read_bytes("fuzz", data, &mut |_| {});
});
