//! Fiscal blocks of synthetic operations: TSE (Germany), RKSV (Austria), RT (Italy).
//!
//! Counters, document numbers, DSFinV-K processData, the "V0" QR string and the RKSV
//! machine-readable code are built exactly as the specs in /work/shared/spec describe. German
//! TSE transactions are signed for real by a software TSE per register
//! ([`TseSigner`]: start and finish log messages, RFC 6979 so output stays deterministic), and
//! Austrian receipts by a simulated cash box per register ([`Cashbox`]: ES256 signature,
//! chaining value, AES-encrypted turnover counter), so the KassenSichV and RKSV verifiers
//! check them end to end. Italian RT seals still come from [`unsigned_signature_bytes`] and
//! are random (cheap: no signing).
//!
//! With `SynthOptions::placeholder_tse_signatures` (`--placeholder-signatures`) neither TSE
//! logs nor RKSV receipts are signed: ECDSA would dominate generation time for volume
//! benchmarks. Each signature is replaced by deterministic bytes of its size derived from
//! what would have been signed, and everything else (counters, RKSV chaining value over the
//! receipt as written, encrypted turnover counter) stays as real signing would leave it, so
//! the data verifies with `--no-signatures` exactly as signed data does.

use chrono::DateTime;

use super::cart::PaySummary;
use super::rng::Rng;
use super::text::{B64, Sid, TsStyle, base64, civil_from_days, push_amount, timestamp};
use crate::regime::kassensichv::sign::{TseCurve, TseSigner};
use crate::regime::kassensichv::{SignedLog, TimeFormat};
use crate::regime::rksv::sign::{self as at_sign, Cashbox};

/// Placeholder bytes for the cryptographic outputs that have no simulator yet.
///
/// RT seals are drawn here. **The bytes are random: they are not valid signatures**, and a
/// verifier must report them as invalid until the RT signing simulator replaces this
/// function. They come from the register's separate crypto stream, so replacing them changes
/// no business data.
pub(crate) fn unsigned_signature_bytes(crypto: &mut Rng, out: &mut [u8]) {
    crypto.fill(out);
}

/// DSFinV-K Anhang I processType of every TSE transaction the generator writes.
pub(crate) const DE_PROCESS_TYPE: &str = "Kassenbeleg-V1";
/// TSE log time format.
pub(crate) const DE_TIME_FORMAT: &str = "unixTime";

/// Static fiscal identity of one register, from the master data.
#[derive(Clone, Debug, Default)]
pub(crate) struct Identity {
    /// TSE client id (DE).
    pub client_id: String,
    /// TSE serial: hex SHA-256 of the public key (DE).
    pub tse_serial: String,
    /// TSE public key, Base64 (DE).
    pub public_key: String,
    /// The register's software TSE (DE).
    pub tse: Option<TseSigner>,
    /// Placeholder bytes instead of TSE and RKSV signatures
    /// (`SynthOptions::placeholder_tse_signatures`).
    pub placeholder_signatures: bool,
    /// Kassen-ID (AT).
    pub cashbox_id: String,
    /// Certificate serial, hex (AT).
    pub cert_serial: String,
    /// The register's simulated cash box (AT).
    pub cashbox: Option<Cashbox>,
    /// RT matricola (IT).
    pub matricola: String,
    /// RT firmware (IT).
    pub firmware: String,
}

/// Which regime signed an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signed {
    /// No fiscal block.
    None,
    /// TSE transaction.
    De,
    /// RKSV receipt.
    At,
    /// RT document.
    It,
}

/// RKSV receipt kind (rksv.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtKind {
    /// The register's first receipt, on its first operation: amounts and counter zero.
    Start,
    /// A month's first null receipt (Monatsbeleg; the December one is the Jahresbeleg).
    Null,
    /// Ordinary receipt; the turnover counter moves by the amounts.
    Standard,
    /// Reversal: counter field `STO`, counter still moves.
    Storno,
    /// Training: counter field `TRA`, counter unchanged.
    Training,
}

/// Running fiscal counters of one register.
#[derive(Clone, Debug, Default)]
pub(crate) struct FiscalState {
    /// TSE transaction number of the last transaction.
    pub tx: u64,
    /// TSE signature counter of the last signature.
    pub sig_counter: u64,
    /// RKSV receipt number of the last receipt.
    pub receipt_no: u64,
    /// RKSV chaining value and turnover counter.
    pub at_chain: at_sign::Chain,
    /// RT daily closing number (Z) of the current day.
    pub z: u32,
    /// RT progressive number of the last document of the day.
    pub progressive: u32,
    /// RT: a new day began and its first document moves the daily closing number on.
    pub z_due: bool,
    /// Set by the fiscal-counter-gap anomaly: the next signed operation skips one number.
    pub skip_next: bool,
    /// Set by the bad-signature anomaly: the next TSE finish signature is corrupted.
    pub corrupt_signature_next: bool,
    /// Set by the wrong-process-data anomaly: the next TSE finish signs amounts 1.00 higher
    /// than the operation's.
    pub inflate_process_data_next: bool,
}

/// The fiscal output of one operation, reused between operations.
#[derive(Clone, Debug)]
pub(crate) struct FiscalOut {
    /// Who signed.
    pub signed: Signed,
    /// Document type (DE Vorgangstyp, AT receipt kind, IT VENDITA/RESO/ANNULLO).
    pub doc_type: &'static str,
    /// Document number.
    pub doc_number: Sid,
    /// DE transaction number, AT receipt number, IT progressive number.
    pub counter: u64,
    /// DE: signature counter of the finish signature.
    pub sig_counter: u64,
    /// DE: start signature.
    pub start_sig: B64,
    /// Finish / receipt / document signature.
    pub end_sig: B64,
    /// DE: whether the transaction was finished (an open operation has only a start).
    pub finished: bool,
    /// Start and end times (epoch seconds).
    pub start_secs: i64,
    /// See `start_secs`.
    pub end_secs: i64,
    /// DE processData of the finish.
    pub process_data: String,
    /// DE "V0" QR string or AT machine-readable code.
    pub qr: String,
    /// AT turnover counter after this receipt, cents.
    pub turnover: i64,
    /// IT daily closing number.
    pub z: u32,
    /// IT: when the day's closing reached the tax agency (epoch seconds).
    pub transmitted: Option<i64>,
    /// The counter value that was skipped by the fiscal-counter-gap anomaly, if it hit here.
    pub skipped: Option<u64>,
}

impl Default for FiscalOut {
    fn default() -> Self {
        FiscalOut {
            signed: Signed::None,
            doc_type: "",
            doc_number: Sid::new(),
            counter: 0,
            sig_counter: 0,
            start_sig: B64::new(),
            end_sig: B64::new(),
            finished: false,
            start_secs: 0,
            end_secs: 0,
            process_data: String::with_capacity(128),
            qr: String::with_capacity(384),
            turnover: 0,
            z: 0,
            transmitted: None,
            skipped: None,
        }
    }
}

fn placeholder_b64<const N: usize>(crypto: &mut Rng) -> B64 {
    let mut bytes = [0u8; N];
    unsigned_signature_bytes(crypto, &mut bytes);
    base64(&bytes)
}

/// The amounts of the wrong-process-data anomaly: 1.00 more in the first used VAT slot and in
/// the first payment type, so the signed data stays plausible (it still balances) but is not
/// what the operation's lines and payments say.
fn inflated(buckets: &[i64; 5], pays: Option<PaySummary>) -> ([i64; 5], Option<PaySummary>) {
    let mut b = *buckets;
    let slot = b.iter().position(|x| *x != 0).unwrap_or(0);
    b[slot] += 100;
    let p = pays.map(|mut p| {
        if p.unbar != 0 && p.bar_eur == 0 {
            p.unbar += 100;
        } else {
            p.bar_eur += 100;
        }
        p
    });
    (b, p)
}

/// The signature with one bit of its first byte flipped (bad-signature anomaly).
fn corrupted(sig: &B64) -> B64 {
    use base64::Engine;
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(sig.as_str())
        .unwrap_or_default();
    if let Some(b) = bytes.first_mut() {
        *b ^= 0x01;
    }
    base64(&bytes)
}

/// Appends the five amounts joined by `_` with `sep` as the decimal separator.
fn push_buckets(out: &mut String, buckets: &[i64; 5], sep: char) {
    for (i, &b) in buckets.iter().enumerate() {
        if i > 0 {
            out.push('_');
        }
        push_amount(out, b, sep);
    }
}

/// DSFinV-K Anhang I `Kassenbeleg-V1` processData:
/// `<Vorgangstyp>^<5 gross amounts>^<payments>` (dsfinvk.md §5.1). Payments: cash EUR, cash
/// in foreign currency (code appended), non-cash; zero entries omitted.
pub(crate) fn process_data(
    out: &mut String,
    vorgang: &str,
    buckets: &[i64; 5],
    pays: Option<PaySummary>,
) {
    out.clear();
    out.push_str(vorgang);
    out.push('^');
    push_buckets(out, buckets, '.');
    out.push('^');
    if let Some(p) = pays {
        let mut first = true;
        for (amount, suffix) in [
            (p.bar_eur, ":Bar"),
            (p.bar_chf, ":Bar:CHF"),
            (p.unbar, ":Unbar"),
        ] {
            if amount == 0 {
                continue;
            }
            if !first {
                out.push('_');
            }
            first = false;
            push_amount(out, amount, '.');
            out.push_str(suffix);
        }
    }
}

impl Identity {
    /// The TSE's signature algorithm name (DE).
    pub(crate) fn tse_algorithm(&self) -> &'static str {
        self.tse.as_ref().map_or("", |t| t.algorithm().name())
    }
}

/// Signs one TSE log message with the register's software TSE; Base64 of r‖s.
#[allow(clippy::too_many_arguments)]
fn tse_sign(
    id: &Identity,
    operation_type: &str,
    process_data: &str,
    transaction_number: u64,
    signature_counter: u64,
    log_time: i64,
) -> B64 {
    let Some(tse) = &id.tse else {
        return B64::new();
    };
    let log = SignedLog {
        operation_type: operation_type.to_string(),
        client_id: id.client_id.clone(),
        process_type: DE_PROCESS_TYPE.to_string(),
        process_data: process_data.to_string(),
        transaction_number,
        signature_counter,
        log_time: DateTime::from_timestamp(log_time, 0).unwrap_or_default(),
        algorithm: tse.algorithm(),
        time_format: TimeFormat::UnixTime,
        signature: Vec::new(),
        public_key: Vec::new(),
        stated_serial: None,
    };
    if id.placeholder_signatures {
        return base64(&placeholder_signature(&log, tse.curve()));
    }
    base64(&tse.sign(&log))
}

/// Bytes of a signature's size derived from the log message, so that placeholder output is
/// as deterministic as signed output and differs per transaction.
fn placeholder_signature(log: &SignedLog, curve: TseCurve) -> Vec<u8> {
    use sha2::Digest as _;
    let seed = sha2::Sha512::digest(format!(
        "{}|{}|{}|{}|{}",
        log.operation_type,
        log.client_id,
        log.process_data,
        log.transaction_number,
        log.signature_counter
    ));
    let size = match curve {
        TseCurve::P256 => 64,
        TseCurve::BrainpoolP384r1 => 96,
    };
    seed.iter().copied().cycle().take(size).collect()
}

impl FiscalState {
    fn take_skip(&mut self) -> bool {
        std::mem::take(&mut self.skip_next)
    }

    /// Signs a TSE transaction started at `start` and, unless `end` is `None` (the operation
    /// is still open), finished at `end` with processData built from `vorgang`, `buckets` and
    /// `pays` (`None`: no payment part, as for AVTraining and AVBelegabbruch).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sign_de(
        &mut self,
        id: &Identity,
        out: &mut FiscalOut,
        vorgang: &'static str,
        buckets: &[i64; 5],
        pays: Option<PaySummary>,
        start: i64,
        end: Option<i64>,
    ) {
        out.signed = Signed::De;
        out.skipped = None;
        if self.take_skip() {
            out.skipped = Some(self.tx + 1);
            self.tx += 1;
            self.sig_counter += 2;
        }
        self.tx += 1;
        out.counter = self.tx;
        out.doc_type = vorgang;
        out.doc_number = Sid::new();
        let (year, _, _) = civil_from_days(start.div_euclid(86_400));
        out.doc_number
            .push_num(year as u64, 4)
            .push_byte(b'-')
            .push_num(self.tx, 6);
        out.start_secs = start;
        self.sig_counter += 1;
        out.start_sig = tse_sign(id, "StartTransaction", "", self.tx, self.sig_counter, start);
        out.qr.clear();
        out.process_data.clear();
        match end {
            None => {
                out.finished = false;
                out.end_secs = start;
                out.sig_counter = self.sig_counter;
            }
            Some(end) => {
                out.finished = true;
                out.end_secs = end;
                self.sig_counter += 1;
                out.sig_counter = self.sig_counter;
                if std::mem::take(&mut self.inflate_process_data_next) {
                    let (b, p) = inflated(buckets, pays);
                    process_data(&mut out.process_data, vorgang, &b, p);
                } else {
                    process_data(&mut out.process_data, vorgang, buckets, pays);
                }
                out.end_sig = tse_sign(
                    id,
                    "FinishTransaction",
                    &out.process_data,
                    self.tx,
                    self.sig_counter,
                    end,
                );
                if std::mem::take(&mut self.corrupt_signature_next) {
                    out.end_sig = corrupted(&out.end_sig);
                }
                // kassensichv.md §3.1: V0;clientId;processType;processData;transactionNumber;
                // signatureCounter;startTime;logTime;sigAlg;logTimeFormat;signature;publicKey
                let q = &mut out.qr;
                q.push_str("V0;");
                q.push_str(&id.client_id);
                q.push(';');
                q.push_str(DE_PROCESS_TYPE);
                q.push(';');
                q.push_str(&out.process_data);
                q.push(';');
                let mut n = Sid::new();
                n.push_num(self.tx, 1)
                    .push_byte(b';')
                    .push_num(self.sig_counter, 1)
                    .push_byte(b';');
                q.push_str(n.as_str());
                q.push_str(timestamp(start, 0, TsStyle::UtcMillis).as_str());
                q.push(';');
                q.push_str(timestamp(end, 0, TsStyle::UtcMillis).as_str());
                q.push(';');
                q.push_str(id.tse_algorithm());
                q.push(';');
                q.push_str(DE_TIME_FORMAT);
                q.push(';');
                q.push_str(out.end_sig.as_str());
                q.push(';');
                q.push_str(&id.public_key);
            }
        }
    }

    /// Signs an RKSV receipt at `at` (epoch seconds; `offset` is the local UTC offset) with the
    /// five gross amounts Normal, Ermaessigt-1, Ermaessigt-2, Null, Besonders.
    pub(crate) fn sign_at(
        &mut self,
        id: &Identity,
        out: &mut FiscalOut,
        kind: AtKind,
        amounts: &[i64; 5],
        at: i64,
        offset: i32,
    ) {
        out.signed = Signed::At;
        out.skipped = None;
        if self.take_skip() {
            out.skipped = Some(self.receipt_no + 1);
            self.receipt_no += 1;
        }
        self.receipt_no += 1;
        out.counter = self.receipt_no;
        out.doc_number = Sid::new();
        out.doc_number.push_num(self.receipt_no, 1);
        out.doc_type = match kind {
            AtKind::Start => "Startbeleg",
            AtKind::Null => "Nullbeleg",
            AtKind::Standard => "Standardbeleg",
            AtKind::Storno => "Stornobeleg",
            AtKind::Training => "Trainingsbeleg",
        };
        out.start_secs = at;
        out.end_secs = at;
        out.finished = true;
        let cashbox = id
            .cashbox
            .as_ref()
            .expect("Austrian registers have a cash box");
        let date = DateTime::from_timestamp(at + i64::from(offset), 0)
            .expect("simulated times are in range")
            .naive_utc();
        let input = at_sign::Input {
            kind: match kind {
                AtKind::Start => at_sign::Kind::Start,
                AtKind::Null => at_sign::Kind::Null,
                AtKind::Standard => at_sign::Kind::Standard,
                AtKind::Storno => at_sign::Kind::Storno,
                AtKind::Training => at_sign::Kind::Training,
            },
            receipt_id: out.doc_number.as_str(),
            date,
            amounts: *amounts,
            device_failed: false,
        };
        let signed = if id.placeholder_signatures {
            cashbox.sign_placeholder(&mut self.at_chain, &input)
        } else {
            cashbox.sign(&mut self.at_chain, &input)
        };
        out.turnover = i64::try_from(signed.counter).expect("simulated turnover fits in i64");
        out.end_sig = B64::from_str(signed.qr.rsplit('_').next().unwrap_or_default());
        out.qr.clear();
        out.qr.push_str(&signed.qr);
        out.process_data.clear();
    }

    /// Starts a new RT business day: documents restart at 1, and the day's first document
    /// moves the daily closing number on. A day without documents (only training or cancelled
    /// sales) has no closing of its own, so Z never skips a number.
    pub(crate) fn it_new_day(&mut self) {
        self.z_due = true;
        self.progressive = 0;
    }

    /// Issues an RT document (documento commerciale) of `doc_type` at `at`.
    pub(crate) fn sign_it(
        &mut self,
        out: &mut FiscalOut,
        crypto: &mut Rng,
        doc_type: &'static str,
        at: i64,
        transmitted: Option<i64>,
    ) {
        out.signed = Signed::It;
        out.skipped = None;
        if std::mem::take(&mut self.z_due) {
            self.z += 1;
        }
        if self.take_skip() {
            out.skipped = Some(u64::from(self.progressive) + 1);
            self.progressive += 1;
        }
        self.progressive += 1;
        out.counter = u64::from(self.progressive);
        out.z = self.z;
        out.doc_type = doc_type;
        // rt.md §2.1: ZZZZ-NNNN.
        out.doc_number = Sid::new();
        out.doc_number
            .push_num(u64::from(self.z), 4)
            .push_byte(b'-')
            .push_num(u64::from(self.progressive), 4);
        out.start_secs = at;
        out.end_secs = at;
        out.finished = true;
        out.transmitted = transmitted;
        out.end_sig = placeholder_b64::<64>(crypto);
        out.qr.clear();
        out.process_data.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::kassensichv::sign::TseCurve;
    use crate::synth::rng::Stream;

    #[test]
    fn process_data_follows_anhang_i() {
        let mut s = String::new();
        let pays = PaySummary {
            bar_eur: 1000,
            bar_chf: 500,
            unbar: 6430,
        };
        process_data(&mut s, "Beleg", &[7533, 799, 0, 0, 0], Some(pays));
        assert_eq!(
            s,
            "Beleg^75.33_7.99_0.00_0.00_0.00^10.00:Bar_5.00:Bar:CHF_64.30:Unbar"
        );
        process_data(&mut s, "AVBelegabbruch", &[0; 5], None);
        assert_eq!(s, "AVBelegabbruch^0.00_0.00_0.00_0.00_0.00^");
        process_data(
            &mut s,
            "Beleg",
            &[-2000, 0, 0, 0, 0],
            Some(PaySummary {
                unbar: -2000,
                ..Default::default()
            }),
        );
        assert_eq!(s, "Beleg^-20.00_0.00_0.00_0.00_0.00^-20.00:Unbar");
    }

    #[test]
    fn qr_v0_has_twelve_fields_counters_advance_and_signatures_verify() {
        use crate::regime::kassensichv::{Verdict, parse_qr, verify};
        let signer = TseSigner::from_seed(TseCurve::BrainpoolP384r1, b"test register");
        let id = Identity {
            client_id: "KASSE-DE01".into(),
            public_key: base64(signer.public_key()).as_str().to_string(),
            tse: Some(signer),
            ..Default::default()
        };
        let mut st = FiscalState::default();
        let mut out = FiscalOut::default();
        st.sign_de(
            &id,
            &mut out,
            "Beleg",
            &[119, 0, 0, 0, 0],
            Some(PaySummary {
                bar_eur: 119,
                ..Default::default()
            }),
            1_772_439_307,
            Some(1_772_439_367),
        );
        let f: Vec<&str> = out.qr.split(';').collect();
        assert_eq!(f.len(), 12);
        assert_eq!(
            &f[..6],
            &[
                "V0",
                "KASSE-DE01",
                "Kassenbeleg-V1",
                "Beleg^1.19_0.00_0.00_0.00_0.00^1.19:Bar",
                "1",
                "2"
            ]
        );
        assert_eq!(f[6], "2026-03-02T08:15:07.000Z");
        assert_eq!(f[7], "2026-03-02T08:16:07.000Z");
        assert_eq!(f[8], "ecdsa-plain-SHA384");
        assert_eq!(out.doc_number.as_str(), "2026-000001");
        assert_eq!(verify(&parse_qr(&out.qr).unwrap()).verdict, Verdict::Valid);

        // The start log: signature counter 1, empty processData, logged at the start time.
        let mut start = parse_qr(&out.qr).unwrap();
        start.operation_type = "StartTransaction".into();
        start.process_data.clear();
        start.signature_counter = 1;
        start.log_time = DateTime::from_timestamp(1_772_439_307, 0).unwrap();
        start.signature = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            out.start_sig.as_str(),
        )
        .unwrap();
        assert_eq!(verify(&start).verdict, Verdict::Valid);

        st.skip_next = true;
        st.corrupt_signature_next = true;
        st.sign_de(
            &id,
            &mut out,
            "Beleg",
            &[0; 5],
            None,
            1_772_439_400,
            Some(1_772_439_401),
        );
        assert_eq!(out.counter, 3);
        assert_eq!(out.skipped, Some(2));
        assert_eq!(
            verify(&parse_qr(&out.qr).unwrap()).verdict,
            Verdict::Invalid
        );

        st.inflate_process_data_next = true;
        st.sign_de(
            &id,
            &mut out,
            "Beleg",
            &[0, 250, 0, 0, 0],
            Some(PaySummary {
                unbar: 250,
                ..Default::default()
            }),
            1_772_439_500,
            Some(1_772_439_501),
        );
        // A valid signature over amounts the operation does not have.
        assert_eq!(
            out.process_data,
            "Beleg^0.00_3.50_0.00_0.00_0.00^3.50:Unbar"
        );
        assert_eq!(verify(&parse_qr(&out.qr).unwrap()).verdict, Verdict::Valid);
    }

    #[test]
    fn rksv_receipts_are_signed_chained_and_counted() {
        let cashbox = Cashbox::from_seed("AT-KASSE-01", b"seed", [3; 32]);
        let id = Identity {
            cashbox_id: "AT-KASSE-01".into(),
            cert_serial: cashbox.serial().into(),
            cashbox: Some(cashbox.clone()),
            ..Default::default()
        };
        let mut st = FiscalState::default();
        let mut out = FiscalOut::default();
        let mut codes = Vec::new();
        let mut sign = |kind, amounts: &[i64; 5], at| {
            st.sign_at(&id, &mut out, kind, amounts, at, 3600);
            codes.push(out.qr.clone());
            out.turnover
        };
        assert_eq!(sign(AtKind::Start, &[0; 5], 1_772_439_000), 0);
        assert_eq!(
            sign(AtKind::Standard, &[1200, 0, 5, 0, 0], 1_772_439_307),
            1205
        );
        assert_eq!(
            sign(AtKind::Training, &[999, 0, 0, 0, 0], 1_772_439_400),
            1205
        );
        assert_eq!(sign(AtKind::Storno, &[-1200, 0, 0, 0, 0], 1_772_439_500), 5);
        assert_eq!(sign(AtKind::Null, &[0; 5], 1_772_439_600), 5);
        let f: Vec<&str> = codes[1][1..].split('_').collect();
        assert_eq!(f.len(), 13);
        assert_eq!(
            &f[..9],
            &[
                "R1-AT100",
                "AT-KASSE-01",
                "2",
                "2026-03-02T09:15:07",
                "12,00",
                "0,00",
                "0,05",
                "0,00",
                "0,00"
            ]
        );
        assert!(codes[2].contains("_VFJB_") && codes[3].contains("_U1RP_"));
        // The receipts pass the DEP7 verifier: signatures, chain, counter.
        let mut keys = crate::regime::rksv::dep::KeyMaterial::default();
        keys.aes_key = Some([3; 32]);
        keys.insert(
            cashbox.serial(),
            crate::regime::rksv::crypto::PublicKey::from_sec1(cashbox.public_key()).unwrap(),
        );
        let jws: Vec<String> = codes
            .iter()
            .map(|q| {
                crate::regime::rksv::receipt::to_jws(
                    &crate::regime::rksv::receipt::parse_qr(q).unwrap(),
                )
            })
            .collect();
        let mut findings = Vec::new();
        let mut sink = |f| findings.push(f);
        let mut v = crate::regime::rksv::dep::Verifier::new(&keys, &mut sink);
        v.receipts_at("t", 0, &jws);
        let summary = v.finish();
        assert_eq!((summary.signatures_valid, summary.final_counter), (5, 5));
        assert_eq!(findings, []);
    }

    #[test]
    fn rt_document_numbers_restart_each_day() {
        let mut st = FiscalState {
            z: 41,
            ..Default::default()
        };
        let mut out = FiscalOut::default();
        let mut crypto = Rng::stream(1, 0, Stream::Crypto);
        st.it_new_day();
        st.sign_it(&mut out, &mut crypto, "VENDITA", 0, None);
        st.sign_it(&mut out, &mut crypto, "VENDITA", 0, None);
        assert_eq!(out.doc_number.as_str(), "0042-0002");
        st.it_new_day();
        st.sign_it(&mut out, &mut crypto, "RESO", 0, None);
        assert_eq!(out.doc_number.as_str(), "0043-0001");
    }
}
