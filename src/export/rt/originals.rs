//! The split per key of every sale document, kept for the annulli that may cancel it.
//!
//! An annullo cancels its original's gross per key, so the writer must know that split
//! whenever an annullo comes, and any sale may be the one. Kept in memory it cost about 80
//! bytes an Italian sale (a hash-table slot and a slice of keys and amounts), some 250 MB at
//! ten million operations, for annulli that are rare. Here memory holds 17 bytes a sale, the
//! id hash and where its split is in a temporary file ([`TempLog`]); an annullo costs a read.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{Key, Split};
use crate::model::keyset::KeySet;
use crate::model::templog::TempLog;

/// Sale documents' splits by id hash (see the module documentation).
pub(super) struct Originals {
    /// The id hash in the top 64 bits, the record's offset in `log` below.
    index: KeySet<u128>,
    /// Per sale a record: length (u32) and `key=amount` pairs separated by `;`, in the text
    /// forms the nightly carry uses ([`Key::to_text`], the decimal as written).
    log: TempLog,
    record: Vec<u8>,
}

impl Default for Originals {
    fn default() -> Self {
        Originals {
            index: KeySet::default(),
            log: TempLog::new("the VAT splits of Italian sale documents"),
            record: Vec::new(),
        }
    }
}

impl Originals {
    /// Keeps `split` as the sale with id hash `hash`'s, replacing one kept before.
    pub fn insert<'a>(
        &mut self,
        hash: u64,
        split: impl IntoIterator<Item = (&'a Key, &'a Decimal)>,
    ) {
        let mut text = String::new();
        for (key, gross) in split {
            if !text.is_empty() {
                text.push(';');
            }
            text.push_str(&key.to_text());
            text.push('=');
            text.push_str(&gross.to_string());
        }
        self.record.clear();
        self.record
            .extend_from_slice(&(text.len() as u32).to_le_bytes());
        self.record.extend_from_slice(text.as_bytes());
        let at = self.log.append(&self.record);
        if let Some(old) = self.index.find_packed(u128::from(hash) << 64, 64) {
            self.index.remove(old);
        }
        self.index.insert(u128::from(hash) << 64 | u128::from(at));
    }

    /// The split of the sale with id hash `hash`: `None` if there is none, or if the temporary
    /// file lost it (its one message has said so; the annullo is then left out as one whose
    /// original is unknown, never added with a wrong split).
    pub fn get(&mut self, hash: u64) -> Option<Split> {
        let at = self.index.find_packed(u128::from(hash) << 64, 64)? as u64;
        self.read(at)
    }

    fn read(&mut self, at: u64) -> Option<Split> {
        let mut len = [0u8; 4];
        if !self.log.read_at(at, &mut len) {
            return None;
        }
        let mut text = vec![0; u32::from_le_bytes(len) as usize];
        if !self.log.read_at(at + 4, &mut text) {
            return None;
        }
        let text = String::from_utf8(text).ok()?;
        let mut split = Split::new();
        for pair in text.split(';').filter(|p| !p.is_empty()) {
            let (key, gross) = pair.split_once('=')?;
            split.insert(Key::from_text(key)?, gross.parse().ok()?);
        }
        Some(split)
    }

    /// Every split kept, for the nightly carry (a split the temporary file lost is left out).
    pub fn into_carry(mut self) -> BTreeMap<u64, BTreeMap<String, Decimal>> {
        let entries: Vec<u128> = self.index.iter().collect();
        let mut out = BTreeMap::new();
        for e in entries {
            if let Some(split) = self.read(e as u64) {
                let split = split.iter().map(|(k, v)| (k.to_text(), *v)).collect();
                out.insert((e >> 64) as u64, split);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("a decimal")
    }

    #[test]
    fn splits_read_back_as_kept_and_a_later_one_replaces() {
        let mut o = Originals::default();
        let a: Split = [
            (Key::Rate(Reverse(dec("22.00"))), dec("12.20")),
            (Key::Rate(Reverse(dec("4.00"))), dec("1.040")),
            (Key::Natura("N2".into()), dec("-0.50")),
        ]
        .into_iter()
        .collect();
        let b: Split = [(Key::Rate(Reverse(dec("10.00"))), dec("5.5"))]
            .into_iter()
            .collect();
        o.insert(1, &a);
        o.insert(u64::MAX, &b);
        let back = o.get(1).expect("kept");
        assert_eq!(back, a);
        // Scales survive: the XML writes the rate as the split states it.
        let texts: Vec<String> = back.keys().map(Key::to_text).collect();
        assert_eq!(texts, ["22.00", "4.00", "N2"]);
        assert_eq!(
            back.values().map(|v| v.to_string()).collect::<Vec<_>>(),
            ["12.20", "1.040", "-0.50"]
        );
        assert_eq!(o.get(u64::MAX), Some(b.clone()));
        assert_eq!(o.get(2), None);
        o.insert(1, &b);
        assert_eq!(o.get(1), Some(b.clone()));
        let carry = o.into_carry();
        assert_eq!(carry.len(), 2);
        assert_eq!(
            carry[&1],
            BTreeMap::from([("10.00".to_string(), dec("5.5"))])
        );
    }
}
