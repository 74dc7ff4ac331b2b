//! The generator's own pseudo-random numbers: SplitMix64 seeding xoshiro256**.
//!
//! `fiskal synth` promises byte-identical output for the same options on every machine and
//! with any number of threads, so it cannot depend on the `rand` crate (whose algorithms may
//! change between versions) or on shared state between threads. Every register owns its own
//! streams, derived only from the user's seed, the register index and a purpose constant.

/// Purpose of a stream, mixed into its seed so that streams of one register never overlap.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    /// Business decisions: products, quantities, payments, operation types, times.
    Business = 1,
    /// Placeholder bytes for signatures and other cryptographic outputs. Kept apart so that
    /// replacing them with real signing later leaves every business decision unchanged.
    Crypto = 2,
    /// Master data: serial numbers, keys, tax identifiers.
    Master = 3,
}

/// SplitMix64 (Steele, Lea, Flood 2014); used only to expand a 64-bit seed into state.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** 1.0 (Blackman, Vigna 2018).
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The stream for `purpose` of register `register_idx` under the user's `seed`.
    pub(crate) fn stream(seed: u64, register_idx: u64, purpose: Stream) -> Rng {
        // Each input passes through SplitMix64 on its own before mixing, so that nearby seeds
        // and indices give unrelated states.
        let mut sm = seed;
        let a = splitmix64(&mut sm);
        let mut sm = register_idx ^ 0xD1B5_4A32_D192_ED03;
        let b = splitmix64(&mut sm);
        let mut sm = (purpose as u64).wrapping_mul(0xA24B_AED4_963E_E407);
        let c = splitmix64(&mut sm);
        let mut state = a ^ b.rotate_left(21) ^ c.rotate_left(42);
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = splitmix64(&mut state);
        }
        // The all-zero state is the one fixed point of xoshiro; SplitMix64 output never gives
        // four zeros in a row, but guard anyway.
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (multiply-shift; the bias for small `n` is far below anything visible).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `permille / 1000`.
    pub(crate) fn chance(&mut self, permille: u32) -> bool {
        self.below(1000) < u64::from(permille)
    }

    /// Index chosen by integer weights.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        weights.len() - 1
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// A copy of one element of a non-empty slice.
    pub(crate) fn one<T: Copy>(&mut self, xs: &[T]) -> T {
        *self.pick(xs)
    }

    /// Fills `buf` with random bytes.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_matches_reference_output() {
        // Reference: xoshiro256starstar.c with s = {1, 2, 3, 4}.
        let mut r = Rng { s: [1, 2, 3, 4] };
        assert_eq!(r.next_u64(), 11520);
        assert_eq!(r.next_u64(), 0);
        assert_eq!(r.next_u64(), 1509978240);
        assert_eq!(r.next_u64(), 1215971899390074240);
    }

    #[test]
    fn streams_differ_by_register_and_purpose() {
        let a = Rng::stream(7, 0, Stream::Business).next_u64();
        let b = Rng::stream(7, 1, Stream::Business).next_u64();
        let c = Rng::stream(7, 0, Stream::Crypto).next_u64();
        let d = Rng::stream(8, 0, Stream::Business).next_u64();
        assert!(a != b && a != c && a != d && b != c);
        assert_eq!(a, Rng::stream(7, 0, Stream::Business).next_u64());
    }

    #[test]
    fn below_and_range_stay_in_bounds() {
        let mut r = Rng::stream(1, 2, Stream::Business);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let x = r.range(-3, 3);
            assert!((-3..=3).contains(&x));
        }
        assert_eq!(r.weighted(&[0, 5, 0]), 1);
    }
}
