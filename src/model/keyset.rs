//! Sets of hashed ids in little more memory than the hashes themselves.
//!
//! Duplicate detection and the reference index remember every id of a run: ten million in a
//! large nightly run. A `HashMap` keeps such a set in a power-of-two table at 44–88 % load
//! and holds the old and the new table at once while it grows, so at its peak it takes two
//! to three times the size of its keys (docs/performance.md measured the two sets at about
//! 140 bytes an operation together). Here the keys, which are uniform hashes, are split by
//! their top bits into buckets of at most [`MAX_AVG`] keys on average, each kept sorted: a
//! lookup is a binary search in one small bucket, an insert moves half a bucket, a bucket
//! grows by an eighth at a time, and when the set doubles every bucket splits in two (its
//! halves are contiguous, since a bucket is sorted). Memory is the keys plus about a tenth.

/// Makes room for one more element in a vector that holds something per operation: by an
/// eighth of its length (at least `min`) instead of doubling. The copies stay cheap for
/// the small buckets here and amortised for longer vectors, and the unused part stays
/// near a tenth of the memory instead of a doubling vector's quarter on average (and half
/// right after it grew).
pub fn grow_by_an_eighth<T>(v: &mut Vec<T>, min: usize) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 8).max(min));
    }
}

/// A key of a [`KeySet`]: a hash whose top bits are uniform.
pub trait Key: Copy + Ord {
    /// The top `bits` bits (0 to 32) as a bucket number.
    fn top(self, bits: u32) -> usize;
}

impl Key for u64 {
    fn top(self, bits: u32) -> usize {
        self.checked_shr(64 - bits).unwrap_or(0) as usize
    }
}

impl Key for u128 {
    fn top(self, bits: u32) -> usize {
        self.checked_shr(128 - bits).unwrap_or(0) as usize
    }
}

/// Average keys per bucket before the buckets double.
const MAX_AVG: usize = 128;
const INITIAL_BITS: u32 = 4;
/// 2^24 buckets hold two billion keys at [`MAX_AVG`]; beyond that buckets just grow.
const MAX_BITS: u32 = 24;

/// A set of hash keys (see the module documentation).
#[derive(Debug, Clone)]
pub struct KeySet<K> {
    buckets: Vec<Vec<K>>,
    bits: u32,
    len: usize,
}

impl<K: Key> Default for KeySet<K> {
    fn default() -> Self {
        KeySet {
            buckets: vec![Vec::new(); 1 << INITIAL_BITS],
            bits: INITIAL_BITS,
            len: 0,
        }
    }
}

impl<K: Key> KeySet<K> {
    /// The number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The least key not below `probe` in `probe`'s bucket, if `matches` accepts it. Keys
    /// that pack a hash above other data (an ordinal in the low bits) are found by probing
    /// with the data bits zero and matching the hash bits.
    pub fn find(&self, probe: K, matches: impl Fn(K) -> bool) -> Option<K> {
        let b = &self.buckets[probe.top(self.bits)];
        let i = b.partition_point(|&k| k < probe);
        b.get(i).copied().filter(|&k| matches(k))
    }

    /// The key whose bits above the low `data_bits` equal `packed`'s: for keys that pack a
    /// hash over other data (an ordinal, a log offset), looked up by the hash alone.
    pub fn find_packed(&self, packed: K, data_bits: u32) -> Option<K>
    where
        K: std::ops::Shr<u32, Output = K> + std::ops::Shl<u32, Output = K>,
    {
        let hash = (packed >> data_bits) << data_bits;
        self.find(hash, |k| (k >> data_bits) << data_bits == hash)
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: K) -> bool {
        self.find(key, |k| k == key).is_some()
    }

    /// Adds `key`; false if it was there already.
    pub fn insert(&mut self, key: K) -> bool {
        let b = &mut self.buckets[key.top(self.bits)];
        let i = b.partition_point(|&k| k < key);
        if b.get(i) == Some(&key) {
            return false;
        }
        grow_by_an_eighth(b, 4);
        b.insert(i, key);
        self.len += 1;
        if self.len > self.buckets.len() * MAX_AVG && self.bits < MAX_BITS {
            self.split();
        }
        true
    }

    /// Removes `key`; false if it was not there.
    pub fn remove(&mut self, key: K) -> bool {
        let b = &mut self.buckets[key.top(self.bits)];
        let i = b.partition_point(|&k| k < key);
        if b.get(i) != Some(&key) {
            return false;
        }
        b.remove(i);
        self.len -= 1;
        true
    }

    /// Doubles the buckets: each splits where the next bit of its keys turns to one.
    fn split(&mut self) {
        let bits = self.bits + 1;
        let mut next = Vec::with_capacity(self.buckets.len() * 2);
        for mut lo in std::mem::take(&mut self.buckets) {
            let cut = lo.partition_point(|&k| k.top(bits) & 1 == 0);
            let hi = lo[cut..].to_vec();
            lo.truncate(cut);
            lo.shrink_to_fit();
            next.push(lo);
            next.push(hi);
        }
        self.buckets = next;
        self.bits = bits;
    }

    /// Every key, in order.
    pub fn iter(&self) -> impl Iterator<Item = K> + '_ {
        self.buckets.iter().flatten().copied()
    }
}

impl<K: Key> PartialEq for KeySet<K> {
    /// The same keys, however the buckets happen to be split.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<K: Key> Eq for KeySet<K> {}

impl<K: Key> FromIterator<K> for KeySet<K> {
    fn from_iter<I: IntoIterator<Item = K>>(keys: I) -> Self {
        let mut set = KeySet::default();
        for k in keys {
            set.insert(k);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn mix(x: u64) -> u64 {
        // splitmix64's finaliser: uniform top bits, as the real keys (hashes) have.
        let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn holds_what_was_inserted_across_many_splits() {
        let mut s = KeySet::<u64>::default();
        for i in 0..100_000u64 {
            assert!(s.insert(mix(i)));
        }
        assert_eq!(s.len(), 100_000);
        // 100,000 keys at no more than 128 a bucket on average: 1,024 buckets.
        assert_eq!(s.buckets.len(), 1 << 10);
        assert!((0..100_000u64).all(|i| s.contains(mix(i))));
        assert!(!(100_000..101_000u64).any(|i| s.contains(mix(i))));
        assert!(!s.insert(mix(42)));
        assert_eq!(s.len(), 100_000);
        let keys: Vec<u64> = s.iter().collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let slack: usize = s.buckets.iter().map(|b| b.capacity() - b.len()).sum();
        assert!(slack < 100_000 / 4, "{slack} unused slots");
    }

    #[test]
    fn finds_a_packed_hash_by_its_high_bits() {
        let mut s = KeySet::<u128>::default();
        let h = u128::from(mix(7)) << 64 | u128::from(mix(8));
        let packed = |h: u128, ord: u32| (h >> 32) << 32 | u128::from(ord);
        s.insert(packed(h, 17));
        assert_eq!(s.find_packed(packed(h, 0), 32), Some(packed(h, 17)));
        assert_eq!(s.find_packed(packed(h, 99), 32), Some(packed(h, 17)));
        assert_eq!(s.find_packed(packed(h ^ (1 << 100), 0), 32), None);
    }

    proptest! {
        #[test]
        fn behaves_as_a_btree_set(keys in prop::collection::vec(any::<u64>(), 0..3000),
                                  probes in prop::collection::vec(any::<u64>(), 0..200)) {
            let mut s = KeySet::<u64>::default();
            let mut model = BTreeSet::new();
            for k in keys {
                prop_assert_eq!(s.insert(k), model.insert(k));
            }
            prop_assert_eq!(s.len(), model.len());
            prop_assert_eq!(s.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            for &p in &probes {
                prop_assert_eq!(s.contains(p), model.contains(&p));
            }
            // Removing what is there and what is not, then inserting again.
            let present: Vec<u64> = model.iter().copied().step_by(3).collect();
            for k in present.iter().chain(&probes) {
                prop_assert_eq!(s.remove(*k), model.remove(k));
            }
            prop_assert_eq!(s.len(), model.len());
            prop_assert_eq!(s.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            for k in present {
                prop_assert_eq!(s.insert(k), model.insert(k));
            }
            prop_assert_eq!(s.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
        }
    }
}
