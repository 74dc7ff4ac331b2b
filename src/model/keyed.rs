//! Sums by key in a sorted vector: the per-day and per-closing maps of the report and the
//! exports' closing totals, of which a large history holds hundreds of thousands.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

/// Sums by key: a sorted vector of (key, sums), grown one entry at a time.
///
/// A report's day or a closing holds a few VAT rates and payment methods, and there is one
/// per register-day: 200,000 at ten million operations. A `BTreeMap` gave each a node of
/// about 800 bytes, and a vector grown by doubling leaves up to half of it unused; here a key
/// costs its string and its sums. Serialised as a map in key order, as the `BTreeMap` was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedSums<V>(Vec<(String, V)>);

impl<V> Default for KeyedSums<V> {
    fn default() -> Self {
        KeyedSums(Vec::new())
    }
}

impl<V: Default> KeyedSums<V> {
    /// The sums of `key`, added (zero) where missing.
    pub fn slot(&mut self, key: &str) -> &mut V {
        let i = match self.position(key) {
            Ok(i) => i,
            Err(i) => {
                // A handful of keys, each added once: exact growth costs a copy of a few
                // entries and leaves no slack.
                self.0.reserve_exact(1);
                self.0.insert(i, (key.to_string(), V::default()));
                i
            }
        };
        &mut self.0[i].1
    }
}

impl<V> KeyedSums<V> {
    /// Where `key` is, or where it would go.
    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// (key, sums) in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The sums in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a, V> IntoIterator for &'a KeyedSums<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, V)>,
        fn(&'a (String, V)) -> (&'a String, &'a V),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<V> std::ops::Index<&str> for KeyedSums<V> {
    type Output = V;
    fn index(&self, key: &str) -> &V {
        let i = self
            .position(key)
            .unwrap_or_else(|_| panic!("no key {key}"));
        &self.0[i].1
    }
}

impl<V: Clone> From<&KeyedSums<V>> for BTreeMap<String, V> {
    fn from(s: &KeyedSums<V>) -> Self {
        s.0.iter().cloned().collect()
    }
}

impl<V: Serialize> Serialize for KeyedSums<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for KeyedSums<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, V>::deserialize(d)?;
        Ok(KeyedSums(map.into_iter().collect()))
    }
}

impl<V> From<BTreeMap<String, V>> for KeyedSums<V> {
    fn from(m: BTreeMap<String, V>) -> Self {
        KeyedSums(m.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_sorted_and_grow_without_slack() {
        let mut k: KeyedSums<u32> = KeyedSums::default();
        for key in ["cash", "card", "voucher", "card", "other:x"] {
            *k.slot(key) += 1;
        }
        assert_eq!(
            k.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>(),
            [("card", 2), ("cash", 1), ("other:x", 1), ("voucher", 1)]
        );
        assert_eq!(k.0.capacity(), 4);
        assert_eq!(k["card"], 2);
    }

    #[test]
    fn converts_from_and_to_the_map() {
        let m = BTreeMap::from([("0.19".to_string(), 3u32), ("0.07".to_string(), 1)]);
        let k = KeyedSums::from(m.clone());
        assert_eq!(k.keys().collect::<Vec<_>>(), ["0.07", "0.19"]);
        assert_eq!(BTreeMap::from(&k), m);
    }
}
