//! ECDSA signature verification on brainpoolP512r1 (RFC 5639 §3.7).
//!
//! TSEs may sign with brainpoolP512r1, but no crate implements that curve: RustCrypto ships
//! bp256 and bp384 only. This module does just what verifying needs, on crypto-bigint's
//! Montgomery arithmetic: decode an uncompressed point and check it lies on the curve
//! (SEC 1 §2.3.4), and verify a signature over a digest (SEC 1 §4.1.4).
//!
//! Key, digest and signature are public, so the arithmetic is variable-time. That is fine
//! for verifying and would be wrong for signing, which is why nothing here signs outside the
//! tests.

use crypto_bigint::modular::ConstMontyForm;
use crypto_bigint::{U512, const_monty_params};

const_monty_params!(
    FieldModulus,
    U512,
    "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA703308717D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3",
    "The field prime p of brainpoolP512r1."
);
const_monty_params!(
    OrderModulus,
    U512,
    "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069",
    "The group order n of brainpoolP512r1 (cofactor 1)."
);

/// An element of the base field, mod p.
type Fe = ConstMontyForm<FieldModulus, { U512::LIMBS }>;
/// An integer mod n.
type Scalar = ConstMontyForm<OrderModulus, { U512::LIMBS }>;

const P: U512 = *Fe::MODULUS.as_ref();
const N: U512 = *Scalar::MODULUS.as_ref();
const A: Fe = Fe::new(&U512::from_be_hex(
    "7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA",
));
const B: Fe = Fe::new(&U512::from_be_hex(
    "3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723",
));
const G: Affine = Affine {
    x: Fe::new(&U512::from_be_hex(
        "81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098EFF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822",
    )),
    y: Fe::new(&U512::from_be_hex(
        "7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892",
    )),
};

/// Bytes of a field element or scalar: p and n both have 512 bits.
const LEN: usize = 64;

/// A finite point (x, y). The point at infinity has no affine form, so it is never one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Affine {
    x: Fe,
    y: Fe,
}

impl Affine {
    fn is_on_curve(&self) -> bool {
        self.y.square() == (self.x.square() + A) * self.x + B
    }
}

/// (X, Y, Z) for the affine point (X/Z², Y/Z³): adding and doubling without a field
/// inversion per step. Z = 0 is the point at infinity.
#[derive(Debug, Clone, Copy)]
struct Jacobian {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Jacobian {
    const INFINITY: Jacobian = Jacobian {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    fn from_affine(p: &Affine) -> Jacobian {
        Jacobian {
            x: p.x,
            y: p.y,
            z: Fe::ONE,
        }
    }

    fn is_infinity(&self) -> bool {
        self.z == Fe::ZERO
    }

    /// `None` for the point at infinity.
    fn to_affine(self) -> Option<Affine> {
        let z_inv = self.z.invert_vartime().into_option()?;
        let z_inv2 = z_inv.square();
        Some(Affine {
            x: self.x * z_inv2,
            y: self.y * z_inv2 * z_inv,
        })
    }

    fn double(&self) -> Jacobian {
        if self.is_infinity() {
            return *self;
        }
        let xx = self.x.square();
        let yy = self.y.square();
        let zz = self.z.square();
        let s = (self.x * yy).double().double();
        // The a·Z⁴ term stays: brainpool's a is not −3, so the usual shortcut
        // 3·(X − Z²)·(X + Z²) of the NIST curves does not apply.
        let m = xx.double() + xx + A * zz.square();
        let x = m.square() - s.double();
        let y = m * (s - x) - yy.square().double().double().double();
        // Y = 0 (a point of order 2) would give Z = 0, i.e. infinity, as it should; with
        // cofactor 1 and n odd no such point exists anyway.
        let z = (self.y * self.z).double();
        Jacobian { x, y, z }
    }

    /// self + q, with q affine (Z = 1), which saves multiplications on every step of the
    /// scalar multiplication.
    fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_infinity() {
            return Jacobian::from_affine(q);
        }
        let zz = self.z.square();
        let h = q.x * zz - self.x;
        let r = q.y * zz * self.z - self.y;
        if h == Fe::ZERO {
            // Same x: the chord formula would divide by zero. Either the same point, which is
            // a doubling, or its negative, and the sum is infinity.
            return if r == Fe::ZERO {
                self.double()
            } else {
                Jacobian::INFINITY
            };
        }
        let hh = h.square();
        let hhh = hh * h;
        let v = self.x * hh;
        let x = r.square() - hhh - v.double();
        let y = r * (v - x) - self.y * hhh;
        let z = self.z * h;
        Jacobian { x, y, z }
    }
}

/// u1·p + u2·q in one double-and-add pass over both scalars at once (Shamir's trick):
/// about 512 doublings in all instead of 512 per scalar.
fn double_mul(u1: &U512, p: &Affine, u2: &U512, q: &Affine) -> Jacobian {
    // None when q = −p: adding it then adds nothing.
    let p_plus_q = Jacobian::from_affine(p).add_affine(q).to_affine();
    let mut acc = Jacobian::INFINITY;
    for i in (0..u1.bits_vartime().max(u2.bits_vartime())).rev() {
        acc = acc.double();
        match (u1.bit_vartime(i), u2.bit_vartime(i)) {
            (true, true) => {
                if let Some(pq) = &p_plus_q {
                    acc = acc.add_affine(pq);
                }
            }
            (true, false) => acc = acc.add_affine(p),
            (false, true) => acc = acc.add_affine(q),
            (false, false) => {}
        }
    }
    acc
}

/// v mod m for v < 2m.
fn reduce_once(v: U512, m: &U512) -> U512 {
    if v >= *m { v.wrapping_sub(m) } else { v }
}

/// The 64 big-endian bytes as an integer, if below `bound`.
fn integer_below(bytes: &[u8], bound: &U512) -> Option<U512> {
    (bytes.len() == LEN)
        .then(|| U512::from_be_slice(bytes))
        .filter(|v| v < bound)
}

/// The integer e of SEC 1 §4.1.4 step 4: the leftmost 512 bits (the bit length of n) of the
/// digest, so a longer digest is cut and a shorter one (SHA-256/384) is taken whole, mod n.
fn digest_scalar(digest: &[u8]) -> Scalar {
    let digest = &digest[..digest.len().min(LEN)];
    let mut bytes = [0u8; LEN];
    bytes[LEN - digest.len()..].copy_from_slice(digest);
    // e < 2^512 < 2n.
    Scalar::new(&reduce_once(U512::from_be_slice(&bytes), &N))
}

/// A brainpoolP512r1 public key: a point on the curve other than infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    q: Affine,
}

impl PublicKey {
    /// Decodes an uncompressed SEC1 point 04‖X‖Y (129 bytes); `None` unless both coordinates
    /// are below p and the point is on the curve. Infinity has no such encoding.
    pub fn from_sec1_uncompressed(point: &[u8]) -> Option<PublicKey> {
        let (&tag, xy) = point.split_first()?;
        if tag != 0x04 || xy.len() != 2 * LEN {
            return None;
        }
        let (x, y) = xy.split_at(LEN);
        let q = Affine {
            x: Fe::new(&integer_below(x, &P)?),
            y: Fe::new(&integer_below(y, &P)?),
        };
        q.is_on_curve().then_some(PublicKey { q })
    }

    /// Whether `rs` (r‖s, 64 bytes each) is a valid ECDSA signature over `digest` (SEC 1
    /// §4.1.4). High s is accepted: ECDSA does not forbid it, and TSEs do not normalise.
    pub fn verify_prehash(&self, digest: &[u8], rs: &[u8]) -> bool {
        if rs.len() != 2 * LEN {
            return false;
        }
        let (r, s) = rs.split_at(LEN);
        let (Some(r), Some(s)) = (integer_below(r, &N), integer_below(s, &N)) else {
            return false;
        };
        if r == U512::ZERO || s == U512::ZERO {
            return false;
        }
        // n is prime and 0 < s < n, so the inverse exists; no unwrap all the same.
        let Some(w) = Scalar::new(&s).invert_vartime().into_option() else {
            return false;
        };
        let u1 = (digest_scalar(digest) * w).retrieve();
        let u2 = (Scalar::new(&r) * w).retrieve();
        match double_mul(&u1, &G, &u2, &self.q).to_affine() {
            // x < p < 2n.
            Some(point) => reduce_once(point.x.retrieve(), &N) == r,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::Limb;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    fn mul_g(k: &U512) -> Jacobian {
        double_mul(k, &G, &U512::ZERO, &G)
    }

    fn encode(p: &Affine) -> Vec<u8> {
        [
            &[0x04][..],
            &p.x.retrieve().to_be_bytes()[..],
            &p.y.retrieve().to_be_bytes()[..],
        ]
        .concat()
    }

    /// Textbook ECDSA signing with a given nonce, only to have signatures to verify.
    fn sign(d: &U512, k: &U512, digest: &[u8]) -> Vec<u8> {
        let r = reduce_once(mul_g(k).to_affine().unwrap().x.retrieve(), &N);
        let s = Scalar::new(k).invert_vartime().unwrap()
            * (digest_scalar(digest) + Scalar::new(&r) * Scalar::new(d));
        [&r.to_be_bytes()[..], &s.retrieve().to_be_bytes()[..]].concat()
    }

    fn flip_bit(bytes: &[u8], bit: usize) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out[bit / 8] ^= 0x80 >> (bit % 8);
        out
    }

    const D: U512 = U512::from_be_hex(
        "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
    );
    const K: U512 = U512::from_be_hex(
        "13579BDF02468ACE13579BDF02468ACE13579BDF02468ACE13579BDF02468ACE13579BDF02468ACE13579BDF02468ACE13579BDF02468ACE13579BDF02468ACE",
    );

    fn test_key() -> PublicKey {
        PublicKey::from_sec1_uncompressed(&encode(&mul_g(&D).to_affine().unwrap())).unwrap()
    }

    #[test]
    fn the_generator_is_on_the_curve_and_has_order_n() {
        assert!(G.is_on_curve());
        assert!(mul_g(&N).is_infinity());
        let minus_g = Affine { x: G.x, y: -G.y };
        assert_eq!(
            mul_g(&N.wrapping_sub(&U512::ONE)).to_affine(),
            Some(minus_g)
        );
        assert_eq!(mul_g(&U512::ONE).to_affine(), Some(G));
        assert!(mul_g(&U512::ZERO).is_infinity());
    }

    #[test]
    fn doubling_and_adding_agree_including_equal_and_opposite_points() {
        let two_g = Jacobian::from_affine(&G).double().to_affine().unwrap();
        assert!(two_g.is_on_curve());
        assert_eq!(
            Jacobian::from_affine(&G).add_affine(&G).to_affine(),
            Some(two_g)
        );
        assert_eq!(mul_g(&U512::from_u8(2)).to_affine(), Some(two_g));
        // u1·G + u2·G with p == q, and with q == −p (p + q is infinity).
        let (a, b) = (U512::from_u64(123_456_789), U512::from_u64(987_654));
        assert_eq!(
            double_mul(&a, &G, &b, &G).to_affine(),
            mul_g(&a.wrapping_add(&b)).to_affine()
        );
        let minus_g = Affine { x: G.x, y: -G.y };
        assert_eq!(
            double_mul(&a, &G, &b, &minus_g).to_affine(),
            mul_g(&a.wrapping_sub(&b)).to_affine()
        );
        assert!(double_mul(&a, &G, &a, &minus_g).is_infinity());
    }

    #[test]
    fn a_signature_made_here_verifies_and_any_flipped_bit_fails() {
        let key = test_key();
        let digest = unhex(&"5a".repeat(64));
        let rs = sign(&D, &K, &digest);
        assert!(key.verify_prehash(&digest, &rs));
        for bit in [0, 255, 511] {
            assert!(
                !key.verify_prehash(&flip_bit(&digest, bit), &rs),
                "e bit {bit}"
            );
        }
        for bit in [7, 300, 511, 512, 800, 1023] {
            assert!(
                !key.verify_prehash(&digest, &flip_bit(&rs, bit)),
                "rs bit {bit}"
            );
        }
        let other = PublicKey::from_sec1_uncompressed(&encode(&G)).unwrap();
        assert!(!other.verify_prehash(&digest, &rs));
    }

    #[test]
    fn digests_are_cut_to_512_bits_and_short_ones_taken_whole() {
        let key = test_key();
        let long: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
        let rs = sign(&D, &K, &long);
        assert!(key.verify_prehash(&long, &rs));
        assert!(key.verify_prehash(&long[..64], &rs));
        assert!(!key.verify_prehash(&long[16..], &rs));

        // Above n: reduced, not rejected.
        let ones = [0xff; 64];
        assert!(U512::from_be_slice(&ones) > N);
        assert!(key.verify_prehash(&ones, &sign(&D, &K, &ones)));

        let short = unhex(&"01".repeat(32));
        let rs = sign(&D, &K, &short);
        assert!(key.verify_prehash(&short, &rs));
        let mut padded = vec![0; 32];
        padded.extend(&short);
        assert!(key.verify_prehash(&padded, &rs));
        assert!(!key.verify_prehash(&short[..31], &rs));
    }

    #[test]
    fn out_of_range_r_and_s_are_rejected() {
        let key = test_key();
        let digest = [0x11; 64];
        let rs = sign(&D, &K, &digest);
        let (r, s) = rs.split_at(LEN);
        let zero = [0u8; LEN];
        let n = N.to_be_bytes();
        let r_plus_n = U512::from_be_slice(r).wrapping_add(&N).to_be_bytes();
        for (r, s) in [
            (&zero[..], s),
            (r, &zero[..]),
            (&n[..], s),
            (r, &n[..]),
            (&r_plus_n[..], s),
            (&[0xff; LEN][..], s),
        ] {
            assert!(!key.verify_prehash(&digest, &[r, s].concat()));
        }
        assert!(!key.verify_prehash(&digest, &rs[1..]));
        assert!(!key.verify_prehash(&digest, &[&rs[..], &[0]].concat()));
        assert!(!key.verify_prehash(&digest, &[]));
    }

    #[test]
    fn points_off_the_curve_or_out_of_range_are_rejected() {
        let good = encode(&mul_g(&D).to_affine().unwrap());
        assert!(PublicKey::from_sec1_uncompressed(&good).is_some());
        assert!(PublicKey::from_sec1_uncompressed(&flip_bit(&good, 1031)).is_none());
        let mut compressed = good[..65].to_vec();
        compressed[0] = 0x02;
        let mut wrong_tag = good.clone();
        wrong_tag[0] = 0x06;
        let mut x_is_p = good.clone();
        x_is_p[1..65].copy_from_slice(&P.to_be_bytes());
        // (x, y + p) satisfies the curve equation mod p: only the range check rejects it.
        let y_plus_p = (1u8..)
            .map(|k| mul_g(&U512::from_u8(k)).to_affine().unwrap())
            .flat_map(|pt| [pt, Affine { x: pt.x, y: -pt.y }])
            .find_map(|pt| {
                let (y, carry) = pt.y.retrieve().carrying_add(&P, Limb::ZERO);
                (carry == Limb::ZERO).then(|| [&encode(&pt)[..65], &y.to_be_bytes()[..]].concat())
            })
            .unwrap();
        let too_long = [&good[..], &[0]].concat();
        for bad in [
            &[][..],
            &[0x00][..],
            &compressed[..],
            &wrong_tag[..],
            &x_is_p[..],
            &y_plus_p[..],
            &good[..128],
            &too_long[..],
            &[0x04; 129][..],
        ] {
            assert!(PublicKey::from_sec1_uncompressed(bad).is_none());
        }
    }

    /// Produced once with Python `cryptography` 48 (OpenSSL): a random brainpoolP512r1 key,
    /// the message `fiskal bp512 cross-check` signed with ECDSA-SHA512 and ECDSA-SHA256, the
    /// DER signatures converted to r‖s.
    const PY_D: &str = "1f93cab35df2cb34461e1d81b18976c5eaeb0ea5894853a9d919da2c89d56a3ce7408ffe0a19861489b304dd34feed045e8b39619fcfbe5c7cdac5e2310a38c0";
    const PY_Q: &str = "04248987b090e5f60d8ec3ae700e01c0b1fdb39a45d92adf0d19693495f0519e1720daae0f2c5e0959e461779b49e7e524eb2febdbf194aef50f6b0d829f96393598b1dd5906dc7c6defefb9ef91965ec823142acd149f25069e42437e43e8a4b4587cd5612a1bc87eb1639b8a34508a45ba13126063a82dd4b0b7bfcde88f54f1";
    const PY_SHA512: &str = "bc5a0b8e6899ef3124bad34b95c24edb44b1d8f5642cfebe5e335ef3084722535453b745f997114f0384aa4e691a6d6ec08413797b7fda39a066ae4a998cbe50";
    const PY_RS_SHA512: &str = "3e4ef5e47bee319f8caf8c1451e264192bcc06b580fb645d0b5c4dd3d97ce14b82e2a97bc3f4bcc4778988955a6f664c6284f890ad0a6c906cfcda86bc101ba95b414915f9f4497ad31747786621fb632dd704fd1db6f98648f5c40a647a5bc1dc805c5e4af6bd54c115b404b46d530bf6281f6b0092ebbd8ca4a68909ae60d7";
    const PY_SHA256: &str = "699860ef5d75f5bf3d6d0445a2c039eb93529b433ecef8066dffb5c0ed269247";
    const PY_RS_SHA256: &str = "7efbfaa7de554e36547ecdc9221a5f1ac0b8b11a5221541f1685911348f86086426949e0959b7ad5a870c26c211acec9b3668bdc49b1887db9a2c25672145f169515f81305941d84718b2fd084e20657537669fb2f4ba4c43251264133cf8a746ac80cc36573cc159cb3006df1725529636f6532c79341e502ffd212533715e2";

    #[test]
    fn agrees_with_openssl() {
        let q = unhex(PY_Q);
        let key = PublicKey::from_sec1_uncompressed(&q).unwrap();
        assert_eq!(
            encode(&mul_g(&U512::from_be_hex(PY_D)).to_affine().unwrap()),
            q
        );
        let (d512, rs512) = (unhex(PY_SHA512), unhex(PY_RS_SHA512));
        let (d256, rs256) = (unhex(PY_SHA256), unhex(PY_RS_SHA256));
        assert!(key.verify_prehash(&d512, &rs512));
        assert!(key.verify_prehash(&d256, &rs256));
        assert!(!key.verify_prehash(&d256, &rs512));
        assert!(!key.verify_prehash(&d512, &rs256));
        assert!(!key.verify_prehash(&flip_bit(&d512, 100), &rs512));
    }
}
