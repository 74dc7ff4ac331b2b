//! ECDSA signature verification on brainpoolP512r1 (RFC 5639 §3.7).
//!
//! TSEs may sign with brainpoolP512r1, but no crate implements that curve: RustCrypto ships
//! bp256 and bp384 only. This module does just what verifying needs: decode an uncompressed
//! point and check it lies on the curve (SEC 1 §2.3.4), and verify a signature over a digest
//! (SEC 1 §4.1.4).
//!
//! Verifying is one u1·G + u2·Q, and that is where the time goes. It is computed with
//! interleaved width-w NAFs (a table of odd multiples of G built once per process, one of Q
//! per signature), on the isomorphic twist brainpoolP512t1 where a = −3 makes doublings
//! cheaper, in an eight-word Montgomery field arithmetic of this module's own (`Fe`), and the
//! result's x is compared projectively, without an inversion. crypto-bigint still converts,
//! inverts and does the few operations mod n.
//!
//! Key, digest and signature are public, so the arithmetic is variable-time: branches and
//! table indices depend on the values. That is fine for verifying and would be wrong for
//! signing, which is why nothing here signs outside the tests.

use std::sync::OnceLock;

use crypto_bigint::modular::ConstMontyForm;
use crypto_bigint::{Limb, U512, const_monty_params};

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

/// crypto-bigint's element mod p: only to convert into and out of `Fe` and to invert, which
/// happens a few times per signature.
type FeMonty = ConstMontyForm<FieldModulus, { U512::LIMBS }>;
/// An integer mod n.
type Scalar = ConstMontyForm<OrderModulus, { U512::LIMBS }>;

const P: U512 = *FeMonty::MODULUS.as_ref();
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

/// p as little-endian 64-bit words.
const P_WORDS: [u64; 8] = words_of(&P);
/// −p⁻¹ mod 2^64, the factor of Montgomery reduction.
const P_NEG_INV: u64 = {
    // Newton's iteration for the inverse mod 2^64: each step doubles the correct low bits,
    // and p·p ≡ 1 (mod 8) gives three to start from.
    let p0 = P_WORDS[0];
    let mut inv = p0;
    let mut i = 0;
    while i < 5 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(p0.wrapping_mul(inv)));
        i += 1;
    }
    inv.wrapping_neg()
};

/// The little-endian 64-bit words of v, whatever crypto-bigint's word size.
const fn words_of(v: &U512) -> [u64; 8] {
    let bytes = v.to_le_bytes();
    let bytes = bytes.as_slice();
    let mut words = [0u64; 8];
    let mut i = 0;
    while i < 8 {
        let mut word = [0u8; 8];
        let mut j = 0;
        while j < 8 {
            word[j] = bytes[8 * i + j];
            j += 1;
        }
        words[i] = u64::from_le_bytes(word);
        i += 1;
    }
    words
}

const fn uint_of(words: &[u64; 8]) -> U512 {
    let mut bytes = [0u8; LEN];
    let mut i = 0;
    while i < 8 {
        let word = words[i].to_le_bytes();
        let mut j = 0;
        while j < 8 {
            bytes[8 * i + j] = word[j];
            j += 1;
        }
        i += 1;
    }
    U512::from_le_slice(&bytes)
}

/// a + b·c + carry as (low, high) words: the sum is below 2^128, so it never overflows.
#[inline(always)]
fn mac(a: u64, b: u64, c: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(a) + u128::from(b) * u128::from(c) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// An element of the base field: a·2^512 mod p (Montgomery form, the same representation as
/// crypto-bigint's), fully reduced, as little-endian 64-bit words.
///
/// The multiplications of the point arithmetic are nearly all of a verification's time, and
/// crypto-bigint's generic, constant-time `ConstMontyForm` took about 165 ns per product and
/// 50–60 ns per addition here, three times what a fixed eight-word loop does (profiled with
/// `perf record`: mul, square, double_mod and sub_mod together were 95 % of the time). Being
/// public data, the values allow the branches below; a reduction is a comparison and maybe
/// a subtraction instead of a masked one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fe([u64; 8]);

impl Fe {
    const ZERO: Fe = Fe([0; 8]);
    const ONE: Fe = Fe::from_monty(&FeMonty::ONE);

    /// x mod p, for x below p.
    const fn new(x: &U512) -> Fe {
        Fe::from_monty(&FeMonty::new(x))
    }

    const fn from_monty(x: &FeMonty) -> Fe {
        Fe(words_of(x.as_montgomery()))
    }

    const fn to_monty(self) -> FeMonty {
        FeMonty::from_montgomery(uint_of(&self.0))
    }

    #[cfg(test)]
    fn retrieve(self) -> U512 {
        self.to_monty().retrieve()
    }

    fn invert_vartime(self) -> Option<Fe> {
        let inverse = self.to_monty().invert_vartime().into_option()?;
        Some(Fe::from_monty(&inverse))
    }

    /// The value of words (plus 2^512 if carry) minus p if that is not negative: enough to
    /// reduce anything below 2p.
    #[inline(always)]
    fn reduce_once(mut words: [u64; 8], carry: bool) -> Fe {
        if carry || !less_than_p(&words) {
            let mut borrow = false;
            for (w, &p) in words.iter_mut().zip(&P_WORDS) {
                let (d, b1) = w.overflowing_sub(p);
                let (d, b2) = d.overflowing_sub(u64::from(borrow));
                *w = d;
                borrow = b1 | b2;
            }
        }
        Fe(words)
    }

    /// Montgomery multiplication a·b·2^−512 mod p, interleaving the product and the
    /// reduction word by word (CIOS: Koç, Acar and Kaliski, "Analyzing and Comparing
    /// Montgomery Multiplication Algorithms", 1996). p's top word is above 2^63, so the
    /// running sum needs the two extra words t[8] and t[9].
    #[inline(always)]
    fn mul(&self, rhs: &Fe) -> Fe {
        let (a, b) = (&self.0, &rhs.0);
        let mut t = [0u64; 10];
        for &bi in b {
            let mut carry = 0;
            for j in 0..8 {
                (t[j], carry) = mac(t[j], a[j], bi, carry);
            }
            let (sum, overflow) = t[8].overflowing_add(carry);
            t[8] = sum;
            t[9] = u64::from(overflow);
            // m makes t + m·p divisible by 2^64; the division is the shift by one word.
            let m = t[0].wrapping_mul(P_NEG_INV);
            let (_, mut carry) = mac(t[0], m, P_WORDS[0], 0);
            for j in 1..8 {
                (t[j - 1], carry) = mac(t[j], m, P_WORDS[j], carry);
            }
            let (sum, overflow) = t[8].overflowing_add(carry);
            t[7] = sum;
            t[8] = t[9] + u64::from(overflow);
        }
        // t < 2p.
        let mut words = [0u64; 8];
        words.copy_from_slice(&t[..8]);
        Fe::reduce_once(words, t[8] != 0)
    }

    /// a²·2^−512 mod p: the 16-word square with each cross product computed once and doubled
    /// (36 word products instead of 64), then reduced.
    #[inline(always)]
    fn square(&self) -> Fe {
        let a = &self.0;
        let mut w = [0u64; 16];
        for i in 0..7 {
            let mut carry = 0;
            for j in i + 1..8 {
                (w[i + j], carry) = mac(w[i + j], a[i], a[j], carry);
            }
            w[i + 8] = carry;
        }
        w[15] = w[14] >> 63;
        for k in (1..15).rev() {
            w[k] = (w[k] << 1) | (w[k - 1] >> 63);
        }
        w[0] <<= 1;
        let mut carry = 0;
        for i in 0..8 {
            let (lo, hi) = mac(0, a[i], a[i], 0);
            let (sum, c) = mac(w[2 * i], 1, lo, carry);
            w[2 * i] = sum;
            (w[2 * i + 1], carry) = mac(w[2 * i + 1], 1, hi, c);
        }
        Fe::montgomery_reduce(w)
    }

    /// w·2^−512 mod p for w < p·2^512, one word of w cleared per step (the separated
    /// reduction of the same paper's SOS method).
    #[inline(always)]
    fn montgomery_reduce(mut w: [u64; 16]) -> Fe {
        let mut high_carry = 0;
        for i in 0..8 {
            let m = w[i].wrapping_mul(P_NEG_INV);
            let mut carry = 0;
            for j in 0..8 {
                (w[i + j], carry) = mac(w[i + j], m, P_WORDS[j], carry);
            }
            let (sum, c1) = w[i + 8].overflowing_add(carry);
            let (sum, c2) = sum.overflowing_add(high_carry);
            w[i + 8] = sum;
            high_carry = u64::from(c1 | c2);
        }
        // (w + m·p)/2^512 < 2p.
        let mut words = [0u64; 8];
        words.copy_from_slice(&w[8..]);
        Fe::reduce_once(words, high_carry != 0)
    }

    #[inline(always)]
    fn add(&self, rhs: &Fe) -> Fe {
        let mut words = [0u64; 8];
        let mut carry = false;
        for ((w, &a), &b) in words.iter_mut().zip(&self.0).zip(&rhs.0) {
            let (s, c1) = a.overflowing_add(b);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            *w = s;
            carry = c1 | c2;
        }
        Fe::reduce_once(words, carry)
    }

    #[inline(always)]
    fn sub(&self, rhs: &Fe) -> Fe {
        let mut words = [0u64; 8];
        let mut borrow = false;
        for ((w, &a), &b) in words.iter_mut().zip(&self.0).zip(&rhs.0) {
            let (d, b1) = a.overflowing_sub(b);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            *w = d;
            borrow = b1 | b2;
        }
        if borrow {
            // Below zero: add p back, and the carry out cancels the borrow.
            let mut carry = false;
            for (w, &p) in words.iter_mut().zip(&P_WORDS) {
                let (s, c1) = w.overflowing_add(p);
                let (s, c2) = s.overflowing_add(u64::from(carry));
                *w = s;
                carry = c1 | c2;
            }
        }
        Fe(words)
    }

    #[inline(always)]
    fn double(&self) -> Fe {
        self.add(self)
    }
}

#[inline(always)]
fn less_than_p(words: &[u64; 8]) -> bool {
    for (&w, &p) in words.iter().zip(&P_WORDS).rev() {
        if w != p {
            return w < p;
        }
    }
    false
}

impl std::ops::Add for Fe {
    type Output = Fe;
    #[inline(always)]
    fn add(self, rhs: Fe) -> Fe {
        Fe::add(&self, &rhs)
    }
}

impl std::ops::Sub for Fe {
    type Output = Fe;
    #[inline(always)]
    fn sub(self, rhs: Fe) -> Fe {
        Fe::sub(&self, &rhs)
    }
}

impl std::ops::Mul for Fe {
    type Output = Fe;
    #[inline(always)]
    fn mul(self, rhs: Fe) -> Fe {
        Fe::mul(&self, &rhs)
    }
}

impl std::ops::Neg for Fe {
    type Output = Fe;
    #[inline(always)]
    fn neg(self) -> Fe {
        Fe::ZERO.sub(&self)
    }
}

/// RFC 5639's Z for brainpoolP512t1: (x, y) ↦ (x·Z², y·Z³) maps brainpoolP512r1 onto the
/// isomorphic curve y² = x³ − 3x + B·Z⁶ (A·Z⁴ = −3, checked by a test). The scalar
/// multiplication runs there because a = −3 makes doubling cheaper (see `Jacobian::double`);
/// the x-coordinate check maps the result back (`PublicKey::verify_prehash`).
const TWIST_Z: FeMonty = FeMonty::new(&U512::from_be_hex(
    "12EE58E6764838B69782136F0F2D3BA06E27695716054092E60A80BEDB212B64E585D90BCE13761F85C3F1D2A64E3BE8FEA2220F01EBA5EEB0F35DBD29D922AB",
));
const TWIST_Z2: Fe = Fe::from_monty(&TWIST_Z.square());
const TWIST_Z3: Fe = Fe::from_monty(&TWIST_Z.square().mul(&TWIST_Z));

/// wNAF width for u1·G: 2^(w−2) odd multiples in the table, about 512/(w+1) additions. G's
/// table is built once per process, so the widest window the i8 digits allow costs nothing
/// per signature (w = 7 measured about 4 % slower).
const G_WINDOW: u32 = 8;
/// wNAF width for u2·Q. Q's table is built for every signature (2^(w−2) − 1 additions and a
/// batched inversion): w = 4 and w = 6 measured about 7 % and 15 % slower than 5.
const Q_WINDOW: u32 = 5;
const Q_TABLE_LEN: usize = 1 << (Q_WINDOW - 2);
// The digits, below 2^(w−1) in absolute value, are kept in an i8.
const _: () = assert!(G_WINDOW >= 2 && G_WINDOW <= 8 && Q_WINDOW >= 2 && Q_WINDOW <= 8);

/// A finite point (x, y). The point at infinity has no affine form, so it is never one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Affine {
    x: Fe,
    y: Fe,
}

impl Affine {
    /// On brainpoolP512r1 itself, not on the twist.
    fn is_on_curve(&self) -> bool {
        self.y.square() == (self.x.square() + A) * self.x + B
    }

    /// The image on the twist, where the arithmetic below works.
    fn to_twist(self) -> Affine {
        Affine {
            x: self.x * TWIST_Z2,
            y: self.y * TWIST_Z3,
        }
    }

    fn negate(self) -> Affine {
        Affine {
            x: self.x,
            y: -self.y,
        }
    }
}

/// (X, Y, Z) for the affine point (X/Z², Y/Z³) on the twist (a = −3): adding and doubling
/// without a field inversion per step. Z = 0 is the point at infinity.
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

    /// dbl-2001-b of the Explicit-Formulas Database (shortw-jacobian-3): with a = −3,
    /// 3X² + a·Z⁴ factors as 3·(X − Z²)·(X + Z²), one multiplication instead of the two
    /// squarings and the multiplication by a that brainpoolP512r1's own a would need.
    fn double(&self) -> Jacobian {
        if self.is_infinity() {
            return *self;
        }
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta4 = (self.x * gamma).double().double();
        let t = (self.x - delta) * (self.x + delta);
        let alpha = t.double() + t;
        let x = alpha.square() - beta4.double();
        let z = (self.y + self.z).square() - gamma - delta;
        let y = alpha * (beta4 - x) - gamma.square().double().double().double();
        // Y = 0 (a point of order 2) would give Z = 0, i.e. infinity, as it should; with
        // cofactor 1 and n odd no such point exists anyway.
        Jacobian { x, y, z }
    }

    /// self + q with q affine: madd-2007-bl of the Explicit-Formulas Database (7M + 4S
    /// against 11M + 5S for two Jacobian points), which is why the tables are kept affine.
    fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_infinity() {
            return Jacobian::from_affine(q);
        }
        let z1z1 = self.z.square();
        let h = q.x * z1z1 - self.x;
        let r = q.y * self.z * z1z1 - self.y;
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
        let i = hh.double().double();
        let j = h * i;
        let r = r.double();
        let v = self.x * i;
        let x = r.square() - j - v.double();
        let y = r * (v - x) - (self.y * j).double();
        let z = (self.z + h).square() - z1z1 - hh;
        Jacobian { x, y, z }
    }

    /// self + q: add-2007-bl of the Explicit-Formulas Database, for building the tables only.
    fn add(&self, q: &Jacobian) -> Jacobian {
        if self.is_infinity() {
            return *q;
        }
        if q.is_infinity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = q.z.square();
        let u1 = self.x * z2z2;
        let s1 = self.y * q.z * z2z2;
        let h = q.x * z1z1 - u1;
        let r = q.y * self.z * z1z1 - s1;
        if h == Fe::ZERO {
            return if r == Fe::ZERO {
                self.double()
            } else {
                Jacobian::INFINITY
            };
        }
        let i = h.double().square();
        let j = h * i;
        let r = r.double();
        let v = u1 * i;
        let x = r.square() - j - v.double();
        let y = r * (v - x) - (s1 * j).double();
        let z = ((self.z + q.z).square() - z1z1 - z2z2) * h;
        Jacobian { x, y, z }
    }
}

/// The points in affine form with one field inversion for all of them (Montgomery's
/// simultaneous-inversion trick: invert the product of the Zs, then peel each inverse off
/// with two multiplications). `None` if one is infinity.
fn batch_to_affine<const LEN: usize>(points: &[Jacobian; LEN]) -> Option<[Affine; LEN]> {
    // prefix[i] = Z₀·…·Z_{i−1}.
    let mut prefix = [Fe::ONE; LEN];
    let mut product = Fe::ONE;
    for (p, slot) in points.iter().zip(&mut prefix) {
        *slot = product;
        product = product * p.z;
    }
    // Zero exactly when some Z is.
    let mut inverse = product.invert_vartime()?;
    let mut out = [Affine {
        x: Fe::ZERO,
        y: Fe::ZERO,
    }; LEN];
    for i in (0..LEN).rev() {
        // inverse = (Z₀·…·Z_i)⁻¹ here.
        let z_inv = inverse * prefix[i];
        inverse = inverse * points[i].z;
        let z_inv2 = z_inv.square();
        out[i] = Affine {
            x: points[i].x * z_inv2,
            y: points[i].y * z_inv2 * z_inv,
        };
    }
    Some(out)
}

/// p, 3p, 5p, …, (2·LEN − 1)·p, affine: the table a width-w NAF with LEN = 2^(w−2) reads.
/// `None` if one of them is infinity, which for a point of order n cannot happen.
fn odd_multiples<const LEN: usize>(p: &Affine) -> Option<[Affine; LEN]> {
    let two_p = Jacobian::from_affine(p).double();
    let mut points = [Jacobian::from_affine(p); LEN];
    for i in 1..LEN {
        points[i] = points[i - 1].add(&two_p);
    }
    batch_to_affine(&points)
}

const G_TABLE_LEN: usize = 1 << (G_WINDOW - 2);

/// The odd multiples of G (on the twist), built on first use: about 64 point additions and
/// one inversion, once per process.
fn g_table() -> &'static [Affine; G_TABLE_LEN] {
    static TABLE: OnceLock<[Affine; G_TABLE_LEN]> = OnceLock::new();
    TABLE.get_or_init(|| odd_multiples(&G.to_twist()).expect("G has order n > 2·G_TABLE_LEN"))
}

/// Digits of a width-w NAF of a 512-bit integer: one more than its bits, as a carry out of
/// the top may leave one.
const NAF_LEN: usize = 513;

/// The width-w NAF of k (Hankerson–Menezes–Vanstone, "Guide to Elliptic Curve Cryptography",
/// Alg. 3.35), least significant digit first: every digit zero or odd with |d| < 2^(w−1), and
/// of any w consecutive digits at most one nonzero, so about one addition per w + 1 bits and
/// a table of only the positive odd multiples (negating an affine point is free).
fn wnaf(k: &U512, w: u32) -> [i8; NAF_LEN] {
    // Little-endian 64-bit words plus one for the carry that subtracting a negative digit may
    // produce.
    let mut words = [0u64; 9];
    for (word, bytes) in words.iter_mut().zip(k.to_le_bytes().chunks_exact(8)) {
        *word = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
    }
    let window = 1u64 << w;
    let mut naf = [0i8; NAF_LEN];
    let mut i = 0;
    while words.iter().any(|&word| word != 0) {
        if words[0] & 1 == 1 {
            let low = words[0] & (window - 1);
            // k mods 2^w: the residue of smallest absolute value, so k − d ≡ 0 (mod 2^w) and
            // the next w − 1 digits are zero.
            if low >= window / 2 {
                naf[i] = (low as i64 - window as i64) as i8;
                add_small(&mut words, window - low);
            } else {
                naf[i] = low as i8;
                words[0] -= low;
            }
        }
        for j in 0..words.len() - 1 {
            words[j] = (words[j] >> 1) | (words[j + 1] << 63);
        }
        words[words.len() - 1] >>= 1;
        i += 1;
    }
    naf
}

fn add_small(words: &mut [u64], mut v: u64) {
    for word in words {
        let (sum, carry) = word.overflowing_add(v);
        *word = sum;
        if !carry {
            return;
        }
        v = 1;
    }
}

/// The entry of an odd-multiples table for a nonzero wNAF digit d: |d|·p, negated for d < 0.
fn table_point(table: &[Affine], digit: i8) -> Affine {
    let p = table[usize::from(digit.unsigned_abs() / 2)];
    if digit < 0 { p.negate() } else { p }
}

/// u1·G + u2·Q on the twist, Q given by its odd multiples: both wNAFs interleaved over one
/// chain of doublings (Hankerson–Menezes–Vanstone, Alg. 3.51), so about 512 doublings, 512/9
/// additions for G and 512/6 for Q, against 512 doublings and 384 additions for the joint
/// binary double-and-add.
fn double_mul(u1: &U512, u2: &U512, q_table: &[Affine; Q_TABLE_LEN]) -> Jacobian {
    let g_table = g_table();
    let naf1 = wnaf(u1, G_WINDOW);
    let naf2 = wnaf(u2, Q_WINDOW);
    let mut acc = Jacobian::INFINITY;
    // Doubling infinity is a no-op, so start at the top nonzero digit.
    let Some(top) = (0..NAF_LEN).rev().find(|&i| naf1[i] != 0 || naf2[i] != 0) else {
        return acc;
    };
    for i in (0..=top).rev() {
        acc = acc.double();
        if naf1[i] != 0 {
            acc = acc.add_affine(&table_point(g_table, naf1[i]));
        }
        if naf2[i] != 0 {
            acc = acc.add_affine(&table_point(q_table, naf2[i]));
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
        let Some(q_table) = odd_multiples(&self.q.to_twist()) else {
            return false;
        };
        let sum = double_mul(&u1, &u2, &q_table);
        if sum.is_infinity() {
            return false;
        }
        // The x of u1·G + u2·Q on brainpoolP512r1 is X / (Z²·TWIST_Z²): comparing r·Z²·TWIST_Z²
        // with X instead spares an inversion. x is below p, not n, so x mod n = r also holds
        // for x = r + n when that is below p (p − n is about 2^256: rare, but possible). 2n
        // exceeds 2^512, so r + n may carry out, and is then above p.
        let scale = sum.z.square() * TWIST_Z2;
        if Fe::new(&r) * scale == sum.x {
            return true;
        }
        let (r_plus_n, carry) = r.carrying_add(&N, Limb::ZERO);
        carry == Limb::ZERO && r_plus_n < P && Fe::new(&r_plus_n) * scale == sum.x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// The verifier's former scalar multiplication, kept as an independent reference: binary
    /// joint double-and-add on brainpoolP512r1 itself (general a, no twist, no tables).
    #[derive(Debug, Clone, Copy)]
    struct RefPoint {
        x: Fe,
        y: Fe,
        z: Fe,
    }

    impl RefPoint {
        const INFINITY: RefPoint = RefPoint {
            x: Fe::ONE,
            y: Fe::ONE,
            z: Fe::ZERO,
        };

        fn from_affine(p: &Affine) -> RefPoint {
            RefPoint {
                x: p.x,
                y: p.y,
                z: Fe::ONE,
            }
        }

        fn is_infinity(&self) -> bool {
            self.z == Fe::ZERO
        }

        fn to_affine(self) -> Option<Affine> {
            let z_inv = self.z.invert_vartime()?;
            let z_inv2 = z_inv.square();
            Some(Affine {
                x: self.x * z_inv2,
                y: self.y * z_inv2 * z_inv,
            })
        }

        fn double(&self) -> RefPoint {
            if self.is_infinity() {
                return *self;
            }
            let xx = self.x.square();
            let yy = self.y.square();
            let zz = self.z.square();
            let s = (self.x * yy).double().double();
            let m = xx.double() + xx + A * zz.square();
            let x = m.square() - s.double();
            let y = m * (s - x) - yy.square().double().double().double();
            let z = (self.y * self.z).double();
            RefPoint { x, y, z }
        }

        fn add_affine(&self, q: &Affine) -> RefPoint {
            if self.is_infinity() {
                return RefPoint::from_affine(q);
            }
            let zz = self.z.square();
            let h = q.x * zz - self.x;
            let r = q.y * zz * self.z - self.y;
            if h == Fe::ZERO {
                return if r == Fe::ZERO {
                    self.double()
                } else {
                    RefPoint::INFINITY
                };
            }
            let hh = h.square();
            let hhh = hh * h;
            let v = self.x * hh;
            let x = r.square() - hhh - v.double();
            let y = r * (v - x) - self.y * hhh;
            let z = self.z * h;
            RefPoint { x, y, z }
        }
    }

    fn ref_double_mul(u1: &U512, p: &Affine, u2: &U512, q: &Affine) -> Option<Affine> {
        let p_plus_q = RefPoint::from_affine(p).add_affine(q).to_affine();
        let mut acc = RefPoint::INFINITY;
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
        acc.to_affine()
    }

    /// k·G by the reference; `None` for infinity.
    fn mul_g(k: &U512) -> Option<Affine> {
        ref_double_mul(k, &G, &U512::ZERO, &G)
    }

    /// A point on the twist back on brainpoolP512r1, in affine form; `None` for infinity.
    fn from_twist(p: &Jacobian) -> Option<Affine> {
        let z_inv = (p.z * Fe::from_monty(&TWIST_Z)).invert_vartime()?;
        let z_inv2 = z_inv.square();
        Some(Affine {
            x: p.x * z_inv2,
            y: p.y * z_inv2 * z_inv,
        })
    }

    /// u1·G + u2·q by the verifier's interleaved wNAF, mapped back from the twist.
    fn wnaf_double_mul(u1: &U512, u2: &U512, q: &Affine) -> Option<Affine> {
        from_twist(&double_mul(u1, u2, &odd_multiples(&q.to_twist()).unwrap()))
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
        let r = reduce_once(mul_g(k).unwrap().x.retrieve(), &N);
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
        PublicKey::from_sec1_uncompressed(&encode(&mul_g(&D).unwrap())).unwrap()
    }

    #[test]
    fn the_generator_is_on_the_curve_and_has_order_n() {
        assert!(G.is_on_curve());
        let minus_g = G.negate();
        let n_minus_1 = N.wrapping_sub(&U512::ONE);
        assert_eq!(mul_g(&N), None);
        assert_eq!(mul_g(&n_minus_1), Some(minus_g));
        assert_eq!(mul_g(&U512::ONE), Some(G));
        assert_eq!(mul_g(&U512::ZERO), None);
        // The same through the tables: u1 runs over G's, u2 over Q's.
        for (u1, u2) in [(N, U512::ZERO), (U512::ZERO, N), (U512::ZERO, U512::ZERO)] {
            assert_eq!(wnaf_double_mul(&u1, &u2, &G), None);
        }
        assert_eq!(wnaf_double_mul(&n_minus_1, &U512::ZERO, &G), Some(minus_g));
        assert_eq!(wnaf_double_mul(&U512::ZERO, &n_minus_1, &G), Some(minus_g));
    }

    #[test]
    fn the_twist_has_a_minus_3_and_its_g_table_holds_the_odd_multiples_of_g() {
        let twist_a = A * TWIST_Z2.square();
        assert_eq!(twist_a, -Fe::new(&U512::from_u8(3)));
        let twist_b = B * TWIST_Z3.square();
        let g = G.to_twist();
        assert_eq!(g.y.square(), (g.x.square() + twist_a) * g.x + twist_b);
        assert_eq!(from_twist(&Jacobian::from_affine(&g)), Some(G));
        for (i, entry) in g_table().iter().enumerate() {
            let k = U512::from_u64(2 * i as u64 + 1);
            assert_eq!(
                from_twist(&Jacobian::from_affine(entry)),
                mul_g(&k),
                "{k}·G"
            );
        }
    }

    #[test]
    fn doubling_and_adding_agree_including_equal_and_opposite_points() {
        let g = G.to_twist();
        let two_g = mul_g(&U512::from_u8(2));
        let g_jac = Jacobian::from_affine(&g);
        assert_eq!(from_twist(&g_jac.double()), two_g);
        assert_eq!(from_twist(&g_jac.add_affine(&g)), two_g);
        assert_eq!(from_twist(&g_jac.add(&g_jac)), two_g);
        assert!(g_jac.add_affine(&g.negate()).is_infinity());
        assert!(g_jac.add(&Jacobian::from_affine(&g.negate())).is_infinity());
        assert_eq!(from_twist(&Jacobian::INFINITY.add_affine(&g)), Some(G));
        assert_eq!(from_twist(&Jacobian::INFINITY.add(&g_jac)), Some(G));
        assert_eq!(from_twist(&g_jac.add(&Jacobian::INFINITY)), Some(G));
        assert!(Jacobian::INFINITY.double().is_infinity());
        // Points with Z ≠ 1, and the equal and opposite cases with Z ≠ 1 on either side.
        let three_g = g_jac.double().add_affine(&g);
        // 6G + (2G − G).
        let seven_g = three_g
            .double()
            .add(&g_jac.double().add_affine(&g.negate()));
        assert_eq!(from_twist(&three_g), mul_g(&U512::from_u8(3)));
        assert_eq!(from_twist(&seven_g), mul_g(&U512::from_u8(7)));
        assert_eq!(
            from_twist(&three_g.add(&seven_g)),
            mul_g(&U512::from_u8(10))
        );
        assert_eq!(
            from_twist(&seven_g.add(&seven_g)),
            mul_g(&U512::from_u8(14))
        );
        let minus_seven_g = Jacobian {
            y: -seven_g.y,
            ..seven_g
        };
        assert!(seven_g.add(&minus_seven_g).is_infinity());
        let seven_g_affine = batch_to_affine(&[seven_g]).unwrap()[0];
        assert_eq!(
            from_twist(&Jacobian::from_affine(&seven_g_affine)),
            mul_g(&U512::from_u8(7))
        );
        assert_eq!(
            from_twist(&seven_g.add_affine(&seven_g_affine)),
            mul_g(&U512::from_u8(14))
        );
        assert!(seven_g.add_affine(&seven_g_affine.negate()).is_infinity());
        assert_eq!(batch_to_affine(&[seven_g, Jacobian::INFINITY]), None);
        // u1·G + u2·Q with Q = G and Q = −G (Q's table then holds G's multiples and their
        // negatives, and sums cancel).
        let (a, b) = (U512::from_u64(123_456_789), U512::from_u64(987_654));
        assert_eq!(wnaf_double_mul(&a, &b, &G), mul_g(&a.wrapping_add(&b)));
        assert_eq!(
            wnaf_double_mul(&a, &b, &G.negate()),
            mul_g(&a.wrapping_sub(&b))
        );
        assert_eq!(wnaf_double_mul(&a, &a, &G.negate()), None);
    }

    /// Scalars below n, biased towards the edges: small ones and ones just below n.
    fn scalar() -> impl Strategy<Value = U512> {
        prop_oneof![
            4 => any::<[u8; LEN]>().prop_map(|b| reduce_once(U512::from_be_slice(&b), &N)),
            1 => any::<u64>().prop_map(U512::from_u64),
            1 => any::<u64>().prop_map(|v| N.wrapping_sub(&U512::from_u64(v).wrapping_add(&U512::ONE))),
        ]
    }

    /// Field elements below p, biased towards the edges: 0, 1, p − 1 and the like, and values
    /// whose Montgomery form is small or close to p.
    fn field_element() -> impl Strategy<Value = Fe> {
        prop_oneof![
            4 => any::<[u8; LEN]>().prop_map(|b| Fe::new(&reduce_once(U512::from_be_slice(&b), &P))),
            1 => any::<u64>().prop_map(|v| Fe::new(&U512::from_u64(v))),
            1 => any::<u64>().prop_map(|v| Fe::new(&P.wrapping_sub(&U512::from_u64(v).wrapping_add(&U512::ONE)))),
            1 => any::<u64>().prop_map(|v| Fe(words_of(&U512::from_u64(v)))),
            1 => any::<u64>().prop_map(|v| Fe(words_of(&P.wrapping_sub(&U512::from_u64(v).wrapping_add(&U512::ONE))))),
        ]
    }

    #[test]
    fn field_constants_match_crypto_bigint() {
        assert_eq!(uint_of(&P_WORDS), P);
        assert_eq!(P_WORDS[0].wrapping_mul(P_NEG_INV), u64::MAX);
        assert_eq!(Fe::ONE.retrieve(), U512::ONE);
        assert_eq!(Fe::ZERO.retrieve(), U512::ZERO);
        assert_eq!(Fe::ONE.mul(&Fe::ONE), Fe::ONE);
        let minus_one = Fe::new(&P.wrapping_sub(&U512::ONE));
        assert_eq!(-Fe::ONE, minus_one);
        assert_eq!(minus_one.square(), Fe::ONE);
        assert_eq!(minus_one + Fe::ONE, Fe::ZERO);
        assert_eq!(-Fe::ZERO, Fe::ZERO);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn field_arithmetic_matches_crypto_bigint(a in field_element(), b in field_element()) {
            let (ma, mb) = (a.to_monty(), b.to_monty());
            prop_assert_eq!(Fe::from_monty(&ma), a);
            prop_assert_eq!(a.mul(&b), Fe::from_monty(&(ma * mb)));
            prop_assert_eq!(a.square(), Fe::from_monty(&ma.square()));
            prop_assert_eq!(a + b, Fe::from_monty(&(ma + mb)));
            prop_assert_eq!(a - b, Fe::from_monty(&(ma - mb)));
            prop_assert_eq!(a.double(), Fe::from_monty(&ma.double()));
            prop_assert_eq!(-a, Fe::from_monty(&-ma));
            prop_assert_eq!(Fe::new(&a.retrieve()), a);
            if a != Fe::ZERO {
                prop_assert_eq!(a.invert_vartime().map(|i| i.mul(&a)), Some(Fe::ONE));
            } else {
                prop_assert_eq!(a.invert_vartime(), None);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn wnaf_digits_rebuild_the_scalar_and_are_sparse(
            // All ones carries out of the top: the longest wNAF there is.
            bytes in prop_oneof![8 => any::<[u8; LEN]>(), 1 => Just([0xff; LEN]), 1 => Just([0; LEN])],
            w in 2u32..=8,
        ) {
            let k = U512::from_be_slice(&bytes);
            let naf = wnaf(&k, w);
            // Horner from the top; the intermediate values are the algorithm's own k, never
            // negative, and wrapping arithmetic is exact for a result below 2^512.
            let mut value = U512::ZERO;
            for &d in naf.iter().rev() {
                value = value.wrapping_add(&value);
                let magnitude = U512::from_u8(d.unsigned_abs());
                value = if d < 0 { value.wrapping_sub(&magnitude) } else { value.wrapping_add(&magnitude) };
            }
            prop_assert_eq!(value, k);
            for (i, &d) in naf.iter().enumerate() {
                if d != 0 {
                    prop_assert!(d % 2 != 0 && i32::from(d).abs() < 1 << (w - 1), "digit {} = {}", i, d);
                    let next = &naf[i + 1..NAF_LEN.min(i + w as usize)];
                    prop_assert!(next.iter().all(|&e| e == 0), "two nonzero digits within {} at {}", w, i);
                }
            }
        }
    }

    proptest! {
        // Each case is a few reference multiplications, slow in the unoptimised test build.
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn interleaved_wnaf_agrees_with_binary_double_and_add(
            u1 in scalar(),
            u2 in scalar(),
            d in scalar().prop_filter("a key is not infinity", |d| *d != U512::ZERO),
        ) {
            let q = mul_g(&d).unwrap();
            prop_assert_eq!(wnaf_double_mul(&u1, &u2, &q), ref_double_mul(&u1, &G, &u2, &q));
        }

        #[test]
        fn a_signature_verifies_and_any_tampering_fails(
            d in scalar().prop_filter("a key is not infinity", |d| *d != U512::ZERO),
            k in scalar().prop_filter("a nonce is not zero", |k| *k != U512::ZERO),
            digest in any::<[u8; LEN]>(),
            rs_bit in 0usize..8 * 2 * LEN,
            digest_bit in 0usize..8 * LEN,
            key_bit in 8usize..8 * (2 * LEN + 1),
        ) {
            let point = encode(&mul_g(&d).unwrap());
            let key = PublicKey::from_sec1_uncompressed(&point).unwrap();
            let rs = sign(&d, &k, &digest);
            // s = 0 (probability 2^−512) would be a signature no verifier accepts.
            prop_assume!(rs[LEN..].iter().any(|&b| b != 0));
            prop_assert!(key.verify_prehash(&digest, &rs));
            prop_assert!(!key.verify_prehash(&digest, &flip_bit(&rs, rs_bit)));
            prop_assert!(!key.verify_prehash(&flip_bit(&digest, digest_bit), &rs));
            // Mostly off the curve; if not, another key.
            if let Some(other) = PublicKey::from_sec1_uncompressed(&flip_bit(&point, key_bit)) {
                prop_assert!(!other.verify_prehash(&digest, &rs));
            }
        }
    }

    /// A key under which (r, s) signs `digest` with u1·G + u2·Q = `target`, whatever r is:
    /// Q = u2⁻¹·(target − u1·G). That reaches sums no real signature hits.
    fn key_making_the_sum(target: &Affine, r: &U512, s: &U512, digest: &[u8]) -> PublicKey {
        let w = Scalar::new(s).invert_vartime().unwrap();
        let u1 = digest_scalar(digest) * w;
        let u2 = Scalar::new(r) * w;
        let target_minus_u1_g = ref_double_mul(&U512::ONE, target, &(-u1).retrieve(), &G).unwrap();
        let u2_inv = u2.invert_vartime().unwrap().retrieve();
        let q = ref_double_mul(&u2_inv, &target_minus_u1_g, &U512::ZERO, &G).unwrap();
        PublicKey::from_sec1_uncompressed(&encode(&q)).unwrap()
    }

    /// The first point with x ≥ `from`.
    fn point_from_x(from: U512) -> (U512, Affine) {
        let mut x = from;
        loop {
            let xf = Fe::new(&x);
            // p ≡ 3 (mod 4): a square's square roots are ±v^((p+1)/4).
            let rhs = (xf.square() + A) * xf + B;
            let y = Fe::from_monty(
                &rhs.to_monty()
                    .pow_vartime(&P.wrapping_add(&U512::ONE).shr(2)),
            );
            if y.square() == rhs {
                return (x, Affine { x: xf, y });
            }
            x = x.wrapping_add(&U512::ONE);
        }
    }

    #[test]
    fn an_x_between_n_and_p_verifies_as_x_minus_n() {
        // x mod n = x − n for x in [n, p): such a sum has probability about 2^−256 with real
        // signatures, so only a constructed key reaches that branch.
        let (x, sum) = point_from_x(N.wrapping_add(&U512::ONE));
        assert!(sum.is_on_curve() && x < P);
        let r = x.wrapping_sub(&N);
        let (digest, s) = ([0x42u8; LEN], K);
        let key = key_making_the_sum(&sum, &r, &s, &digest);
        let sig = |r: &U512| [&r.to_be_bytes()[..], &s.to_be_bytes()[..]].concat();
        assert!(key.verify_prehash(&digest, &sig(&r)));
        // x itself is out of range for r, and r ± 1 is another signature.
        assert!(!key.verify_prehash(&digest, &sig(&x)));
        assert!(!key.verify_prehash(&digest, &sig(&r.wrapping_add(&U512::ONE))));
        assert!(!key.verify_prehash(&digest, &sig(&r.wrapping_sub(&U512::ONE))));
    }

    #[test]
    fn r_plus_n_beyond_512_bits_does_not_wrap_onto_x() {
        // r + n − 2^512 = x: r + n truncated to 512 bits would match x, but r + n itself is
        // above p, so x mod n ≠ r and the signature is invalid.
        let two_512_minus_n = U512::ZERO.wrapping_sub(&N);
        let (x, sum) = point_from_x(U512::from_u64(1_000_000));
        let r = x.wrapping_add(&two_512_minus_n);
        assert!(r < N);
        let (digest, s) = ([0x24u8; LEN], D);
        let key = key_making_the_sum(&sum, &r, &s, &digest);
        let sig = |r: &U512| [&r.to_be_bytes()[..], &s.to_be_bytes()[..]].concat();
        assert!(!key.verify_prehash(&digest, &sig(&r)));
        // The same sum does verify with its true r, x itself, under a key made for that r.
        let key = key_making_the_sum(&sum, &x, &s, &digest);
        assert!(key.verify_prehash(&digest, &sig(&x)));
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
        let n_plus_1 = N.wrapping_add(&U512::ONE).to_be_bytes();
        let r_plus_n = U512::from_be_slice(r).wrapping_add(&N).to_be_bytes();
        let s_plus_n = U512::from_be_slice(s).wrapping_add(&N).to_be_bytes();
        for (r, s) in [
            (&zero[..], s),
            (r, &zero[..]),
            (&zero[..], &zero[..]),
            (&n[..], s),
            (r, &n[..]),
            (&n_plus_1[..], s),
            (r, &n_plus_1[..]),
            (&r_plus_n[..], s),
            (r, &s_plus_n[..]),
            (&[0xff; LEN][..], s),
            (r, &[0xff; LEN][..]),
        ] {
            assert!(!key.verify_prehash(&digest, &[r, s].concat()));
        }
        assert!(!key.verify_prehash(&digest, &rs[1..]));
        assert!(!key.verify_prehash(&digest, &[&rs[..], &[0]].concat()));
        assert!(!key.verify_prehash(&digest, &[]));
    }

    #[test]
    fn points_off_the_curve_or_out_of_range_are_rejected() {
        let good = encode(&mul_g(&D).unwrap());
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
            .map(|k| mul_g(&U512::from_u8(k)).unwrap())
            .flat_map(|pt| [pt, pt.negate()])
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
        assert_eq!(encode(&mul_g(&U512::from_be_hex(PY_D)).unwrap()), q);
        let (d512, rs512) = (unhex(PY_SHA512), unhex(PY_RS_SHA512));
        let (d256, rs256) = (unhex(PY_SHA256), unhex(PY_RS_SHA256));
        assert!(key.verify_prehash(&d512, &rs512));
        assert!(key.verify_prehash(&d256, &rs256));
        assert!(!key.verify_prehash(&d256, &rs512));
        assert!(!key.verify_prehash(&d512, &rs256));
        assert!(!key.verify_prehash(&flip_bit(&d512, 100), &rs512));
    }
}
