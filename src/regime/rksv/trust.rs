//! Certificate trust for the DEP7 verifier: whether a certificate that verifies receipts
//! chains to a trust anchor the auditor chose (shared spec rksv.md §4.5, §7 D10, §10.2).
//!
//! Neither the BMF's Prüftool nor FinanzOnline validate certificate paths: the registration
//! of the signature device in FinanzOnline is what makes a key legitimate. The ztp verifier
//! can check a chain against its key store, and an auditor who holds the trust service's CA
//! certificates may want the same. So trust is opt-in: the verifier asks a [`TrustStore`]
//! only when one is given. A chain is built by names (a certificate's issuer Name equals the
//! next one's subject Name) and each link's signature is verified; validity periods,
//! extensions and revocation are not looked at, as no RKSV checker does.

use std::collections::HashSet;

use super::crypto::{self, CertificateKey};
use crate::regime::pem;

/// Longest chain followed from a certificate to an anchor. Trust services issue through one
/// or two intermediates; the limit only stops a crafted ring of certificates.
const MAX_DEPTH: usize = 8;

/// The certificates an auditor trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<CertificateKey>,
}

/// Why a certificate is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distrust {
    /// No chain of known certificates leads from it to an anchor.
    Untrusted {
        /// The certificate's serial (hex).
        serial: String,
    },
    /// A certificate on the way names an issuer that is known by name, but the issuer's key
    /// does not verify its signature.
    ChainBroken {
        /// The certificate whose signature fails.
        serial: String,
        /// The issuer by name.
        issuer: String,
        /// Why: a signature that does not verify, or one that cannot be checked.
        reason: String,
    },
    /// A certificate on the way has an anchor's serial but is another certificate.
    SerialCollision {
        /// The serial both carry.
        serial: String,
    },
}

/// How one step of the search ended.
enum Walk {
    Trusted,
    Dead,
    Broken(Distrust),
    Collision(Distrust),
}

impl TrustStore {
    /// A store of these anchors.
    pub fn new(anchors: Vec<CertificateKey>) -> TrustStore {
        TrustStore { anchors }
    }

    /// The anchors.
    pub fn anchors(&self) -> &[CertificateKey] {
        &self.anchors
    }

    /// Checks `cert` against the anchors; `pool` holds the other certificates known (the
    /// group's Zertifizierungsstellen, the DEP's other certificates, the crypto container's)
    /// that may stand between it and an anchor.
    pub fn check(&self, cert: &CertificateKey, pool: &[&CertificateKey]) -> Result<(), Distrust> {
        let mut seen = HashSet::new();
        match self.walk(cert, pool, 0, &mut seen) {
            Walk::Trusted => Ok(()),
            Walk::Dead => Err(Distrust::Untrusted {
                serial: cert.serial_hex.clone(),
            }),
            Walk::Broken(d) | Walk::Collision(d) => Err(d),
        }
    }

    /// Depth-first search from `cert` towards an anchor. Any path to an anchor wins; failing
    /// that, the first broken link found is the reason, since it is what an auditor must look
    /// at, and only when there is none is the certificate merely unknown. Each certificate is
    /// entered once (`seen`), so a crafted pool of look-alike names costs at most one
    /// signature check per pair, and rings end.
    fn walk(
        &self,
        cert: &CertificateKey,
        pool: &[&CertificateKey],
        depth: usize,
        seen: &mut HashSet<[u8; 32]>,
    ) -> Walk {
        if let Some(verdict) = self.as_anchor(cert) {
            return verdict;
        }
        if depth >= MAX_DEPTH || !seen.insert(cert.fingerprint) {
            return Walk::Dead;
        }
        let mut broken = None;
        // The chain the DEP carries first, as ztp walks it, so that a look-alike of an anchor
        // in it is found; then the anchors, which may have signed the certificate directly.
        let issuers = pool
            .iter()
            .map(|c| (*c, false))
            .chain(self.anchors.iter().map(|a| (a, true)))
            .filter(|(c, _)| c.subject_der == cert.issuer_der && c.fingerprint != cert.fingerprint);
        for (issuer, is_anchor) in issuers {
            let verdict = match crypto::issued_by(cert, issuer) {
                Ok(true) if is_anchor => Walk::Trusted,
                Ok(true) => self.walk(issuer, pool, depth + 1, seen),
                Ok(false) => Walk::Broken(broken_link(
                    cert,
                    issuer,
                    "the issuer's key does not verify the signature".into(),
                )),
                Err(reason) => Walk::Broken(broken_link(cert, issuer, reason)),
            };
            match verdict {
                Walk::Trusted | Walk::Collision(_) => return verdict,
                Walk::Broken(d) => {
                    broken.get_or_insert(d);
                }
                Walk::Dead => {}
            }
        }
        broken.map_or(Walk::Dead, Walk::Broken)
    }

    /// As ztp: a certificate with an anchor's serial must be that anchor, so that a
    /// look-alike cannot borrow its standing. `None` when no anchor has its serial.
    fn as_anchor(&self, cert: &CertificateKey) -> Option<Walk> {
        let anchor = self
            .anchors
            .iter()
            .find(|a| a.serial_hex == cert.serial_hex)?;
        Some(if anchor.fingerprint == cert.fingerprint {
            Walk::Trusted
        } else {
            Walk::Collision(Distrust::SerialCollision {
                serial: cert.serial_hex.clone(),
            })
        })
    }
}

fn broken_link(cert: &CertificateKey, issuer: &CertificateKey, reason: String) -> Distrust {
    Distrust::ChainBroken {
        serial: cert.serial_hex.clone(),
        issuer: issuer.serial_hex.clone(),
        reason,
    }
}

/// Reads the certificates of one trust file: DER (one or more certificates one after the
/// other), PEM (every `CERTIFICATE` block), or Base64 of DER (one certificate per line, as a
/// DEP group stores them, or one wrapped over several lines). The error says what is wrong.
pub fn read_certificates(bytes: &[u8]) -> Result<Vec<CertificateKey>, String> {
    let certs = if bytes.first() == Some(&0x30) {
        read_der_sequence(bytes)?
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| "neither DER (starting with a SEQUENCE) nor text (PEM or Base64)")?;
        if text.contains("-----BEGIN") {
            read_pem(text)?
        } else {
            read_base64(text)?
        }
    };
    if certs.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(certs)
}

fn read_der_sequence(bytes: &[u8]) -> Result<Vec<CertificateKey>, String> {
    read_each(
        pem::der_sequence(bytes)?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

fn read_pem(text: &str) -> Result<Vec<CertificateKey>, String> {
    read_each(pem::blocks(text, "CERTIFICATE")?)
}

/// Each DER certificate read; the error names the certificate.
fn read_each(ders: Vec<Vec<u8>>) -> Result<Vec<CertificateKey>, String> {
    ders.iter()
        .enumerate()
        .map(|(i, der)| {
            crypto::read_certificate(der).map_err(|e| format!("certificate {}: {e}", i + 1))
        })
        .collect()
}

fn read_base64(text: &str) -> Result<Vec<CertificateKey>, String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let per_line: Result<Vec<_>, _> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| decode_one(l, i + 1))
        .collect();
    match per_line {
        Ok(certs) => Ok(certs),
        // One certificate wrapped over several lines reads only as a whole.
        Err(e) if lines.len() > 1 => decode_one(&lines.concat(), 1)
            .map(|c| vec![c])
            .map_err(|_| e),
        Err(e) => Err(e),
    }
}

fn decode_one(base64: &str, n: usize) -> Result<CertificateKey, String> {
    let der = pem::base64_body(base64, "certificate", n)?;
    crypto::read_certificate(&der).map_err(|e| format!("certificate {n}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/rksv/generated/"
    );

    fn read(path: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}{path}")).unwrap()
    }

    fn root(n: usize) -> CertificateKey {
        let certs = read_certificates(&read(&format!("keys/dev{n}.crt"))).unwrap();
        assert_eq!(certs.len(), 1);
        certs.into_iter().next().unwrap()
    }

    /// The group certificate and Zertifizierungsstellen of every group of a DEP, in order,
    /// each chain once.
    fn chains(path: &str) -> Vec<(CertificateKey, Vec<CertificateKey>)> {
        let dep: serde_json::Value = serde_json::from_slice(&read(path)).unwrap();
        let mut out: Vec<(CertificateKey, Vec<CertificateKey>)> = Vec::new();
        for g in dep["Belege-Gruppe"].as_array().unwrap() {
            let cert = decode_one(g["Signaturzertifikat"].as_str().unwrap(), 1).unwrap();
            let cas = g["Zertifizierungsstellen"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| decode_one(c.as_str().unwrap(), 1).unwrap())
                .collect();
            if !out.iter().any(|(c, _)| c.fingerprint == cert.fingerprint) {
                out.push((cert, cas));
            }
        }
        out
    }

    const WITH_GROUPS: &str =
        "ztp/regkassen-test-cases-0.7.1-with-groups/TESTSUITE_TEST_SZENARIO_1/open/dep-export.json";

    /// Scenario 1 with groups: device 0 signs with its root certificate, device 1 through one
    /// intermediate, device 2 through two (ztp `certChainLength` [0, 1, 2]).
    #[test]
    fn chains_of_length_0_to_2_lead_to_the_generated_roots() {
        let chains = chains(WITH_GROUPS);
        assert_eq!(chains.len(), 3);
        let store = TrustStore::new(vec![root(0), root(1), root(2)]);
        let mut lengths = Vec::new();
        for (cert, cas) in &chains {
            let pool: Vec<&CertificateKey> = cas.iter().collect();
            assert_eq!(store.check(cert, &pool), Ok(()), "{}", cert.serial_hex);
            lengths.push(cas.len());
        }
        lengths.sort();
        assert_eq!(lengths, [0, 1, 2]);

        // Device 2's certificate without its intermediates: nothing leads to an anchor.
        let (leaf, cas) = chains.iter().find(|(_, cas)| cas.len() == 2).unwrap();
        assert_eq!(
            store.check(leaf, &[]),
            Err(Distrust::Untrusted {
                serial: leaf.serial_hex.clone()
            })
        );
        // With the intermediates but only the other devices' roots trusted.
        let others = TrustStore::new(vec![root(0), root(1)]);
        let pool: Vec<&CertificateKey> = cas.iter().collect();
        assert!(matches!(
            others.check(leaf, &pool),
            Err(Distrust::Untrusted { .. })
        ));
        // An intermediate found by name in the pool is trusted through it, and the root is
        // trusted as itself.
        assert_eq!(store.check(&cas[0], &pool), Ok(()));
        assert_eq!(store.check(&root(2), &[]), Ok(()));
    }

    /// An intermediate with the right name but another key (the same name in another
    /// generated scenario) breaks the chain; the report names both certificates.
    #[test]
    fn an_issuer_of_the_right_name_but_another_key_breaks_the_chain() {
        let s1 = chains(WITH_GROUPS);
        let s4 = chains(&WITH_GROUPS.replace("SZENARIO_1", "SZENARIO_4"));
        let (leaf, _) = s1.iter().find(|(_, cas)| cas.len() == 2).unwrap();
        let (_, foreign) = s4.iter().find(|(_, cas)| cas.len() == 2).unwrap();
        assert_eq!(leaf.issuer_der, foreign[0].subject_der);
        let store = TrustStore::new(vec![root(2)]);
        let pool: Vec<&CertificateKey> = foreign.iter().collect();
        assert_eq!(
            store.check(leaf, &pool),
            Err(Distrust::ChainBroken {
                serial: leaf.serial_hex.clone(),
                issuer: foreign[0].serial_hex.clone(),
                reason: "the issuer's key does not verify the signature".into(),
            })
        );
        // A changed signature byte of the leaf breaks its own link the same way.
        let (leaf, cas) = s1.iter().find(|(_, cas)| cas.len() == 1).unwrap();
        let mut changed = leaf.clone();
        let last = changed.signature.len() - 1;
        changed.signature[last] ^= 1;
        let pool: Vec<&CertificateKey> = cas.iter().collect();
        let store = TrustStore::new(vec![root(1)]);
        assert_eq!(store.check(leaf, &pool), Ok(()));
        assert!(matches!(
            store.check(&changed, &pool),
            Err(Distrust::ChainBroken { .. })
        ));
    }

    /// An anchor and a certificate on the way that share a serial but not their bytes: ztp's
    /// CertificateSerialCollisionException.
    #[test]
    fn a_look_alike_of_an_anchor_is_a_serial_collision() {
        let dep = "ztp/test_cert_untrusted/open/dep-export.json";
        let (leaf, cas) = chains(dep).into_iter().next().unwrap();
        let pool: Vec<&CertificateKey> = cas.iter().collect();
        // The DEP carries the root of device 0: trusted through it.
        assert_eq!(TrustStore::new(vec![root(0)]).check(&leaf, &pool), Ok(()));
        // The root with one byte of its signature changed: same serial, other certificate.
        let mut der = B64
            .decode(
                String::from_utf8(read("keys/dev0.crt"))
                    .unwrap()
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        let last = der.len() - 1;
        der[last] ^= 1;
        let fake = crypto::read_certificate(&der).unwrap();
        assert_ne!(fake.fingerprint, root(0).fingerprint);
        assert_eq!(
            TrustStore::new(vec![fake]).check(&leaf, &pool),
            Err(Distrust::SerialCollision {
                serial: root(0).serial_hex
            })
        );
    }

    /// A P-384 CA with SHA-384 signatures over a P-256 leaf (made with openssl for this test:
    /// `req -x509 -newkey ec:P-384 -sha384` for the CA, `x509 -req -sha384` for the leaf).
    #[test]
    fn p384_issuers_and_sha384_signatures_are_verified() {
        let certs = read_certificates(P384_CHAIN_PEM.as_bytes()).unwrap();
        let [ca, leaf] = certs.as_slice() else {
            panic!("{} certificates", certs.len())
        };
        assert!(ca.key.is_none(), "a P-384 key is not a receipt key");
        assert!(leaf.key.is_some());
        assert_eq!(crypto::issued_by(leaf, ca), Ok(true));
        assert_eq!(crypto::issued_by(ca, ca), Ok(true));
        assert_eq!(crypto::issued_by(leaf, leaf), Ok(false));
        let store = TrustStore::new(vec![ca.clone()]);
        assert_eq!(store.check(leaf, &[]), Ok(()));
        let mut rsa = leaf.clone();
        rsa.signature_algorithm = vec![0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
        let e = crypto::issued_by(&rsa, ca).unwrap_err();
        assert!(e.contains("1.2.840.113549.1.1.11"), "{e}");
    }

    #[test]
    fn trust_files_in_der_pem_and_base64() {
        let pem = String::from_utf8(read("keys/dev0.crt")).unwrap();
        let dev0 = root(0);
        let der = B64
            .decode(
                pem.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        let one_line = B64.encode(&der);
        for (what, bytes) in [
            ("der", der.clone()),
            ("two der", [der.clone(), der.clone()].concat()),
            ("pem", pem.clone().into_bytes()),
            ("base64", one_line.clone().into_bytes()),
            (
                "two lines",
                format!("{one_line}\n\n{one_line}\n").into_bytes(),
            ),
            (
                "wrapped",
                one_line
                    .as_bytes()
                    .chunks(64)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes(),
            ),
        ] {
            let certs = read_certificates(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                certs.iter().all(|c| c.fingerprint == dev0.fingerprint),
                "{what}"
            );
            let n = if what.starts_with("two") { 2 } else { 1 };
            assert_eq!(certs.len(), n, "{what}");
        }
        let two_pem = format!("{pem}{}", String::from_utf8(read("keys/dev1.crt")).unwrap());
        let certs = read_certificates(two_pem.as_bytes()).unwrap();
        assert_eq!(certs[1].serial_hex, "1a2b3c4d5e6f7002");

        for (bytes, says) in [
            (&b""[..], "no certificate"),
            (b"   \n", "no certificate"),
            (b"not base64 at all!", "not Base64"),
            (&der[..der.len() - 3], "not DER"),
            (b"\xff\xfe", "neither DER"),
            (
                b"-----BEGIN CERTIFICATE-----\nMIIB\n",
                "no -----END CERTIFICATE----- line",
            ),
            (b"-----BEGIN PRIVATE KEY-----\n", "no certificate"),
        ] {
            let e = read_certificates(bytes).unwrap_err();
            assert!(e.contains(says), "{e:?} should say {says:?}");
        }
    }

    proptest::proptest! {
        /// Trust files of any bytes are read or refused, never a panic.
        #[test]
        fn arbitrary_trust_files_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = read_certificates(&bytes);
            let _ = read_certificates(&[&[0x30][..], &bytes].concat());
        }
    }

    /// See `p384_issuers_and_sha384_signatures_are_verified`: CA (P-384, self-signed,
    /// ecdsa-with-SHA384) then leaf (P-256, issued by the CA with ecdsa-with-SHA384).
    const P384_CHAIN_PEM: &str = concat!(
        "-----BEGIN CERTIFICATE-----\n",
        "MIIB9jCCAXygAwIBAgICWgEwCgYIKoZIzj0EAwMwOzELMAkGA1UEBhMCQVQxFDAS\n",
        "BgNVBAoMC2Zpc2thbCB0ZXN0MRYwFAYDVQQDDA1QLTM4NCB0ZXN0IENBMB4XDTI2\n",
        "MTIwMzEyMDUyOVoXDTQ2MTEyODEyMDUyOVowOzELMAkGA1UEBhMCQVQxFDASBgNV\n",
        "BAoMC2Zpc2thbCB0ZXN0MRYwFAYDVQQDDA1QLTM4NCB0ZXN0IENBMHYwEAYHKoZI\n",
        "zj0CAQYFK4EEACIDYgAEiPsevRZ0q1aNAMaA2ta9hFNdjqpvpp6qZeWIufhZMs+Y\n",
        "Xe5ecvsAseC9OPCgpEhIOrhf0Um3hdmE6VT2xMSl7QEildpOvCdqFOjETtiQbkc8\n",
        "0lZnNcuzUQTfIiCiMuVao1MwUTAdBgNVHQ4EFgQUSkuEDjbQL5XX5HwruHYUpNxS\n",
        "qJcwHwYDVR0jBBgwFoAUSkuEDjbQL5XX5HwruHYUpNxSqJcwDwYDVR0TAQH/BAUw\n",
        "AwEB/zAKBggqhkjOPQQDAwNoADBlAjBKaKt6OgjqeyeaRefsN6ptobYF1r73kIv3\n",
        "SkuKjqBIwpXRmrieng+02z108DOSu1YCMQCCNPqiEhDXAO5NWPJY44VF2B1i6JSg\n",
        "MyH2xPMioOh5pqeFrDGX559hQmk/8h7zot4=\n",
        "-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n",
        "MIIBgTCCAQcCAloCMAoGCCqGSM49BAMDMDsxCzAJBgNVBAYTAkFUMRQwEgYDVQQK\n",
        "DAtmaXNrYWwgdGVzdDEWMBQGA1UEAwwNUC0zODQgdGVzdCBDQTAeFw0yNjEyMDMx\n",
        "MjA1MjlaFw00NjExMjgxMjA1MjlaMD0xCzAJBgNVBAYTAkFUMRQwEgYDVQQKDAtm\n",
        "aXNrYWwgdGVzdDEYMBYGA1UEAwwPUC0yNTYgdGVzdCBsZWFmMFkwEwYHKoZIzj0C\n",
        "AQYIKoZIzj0DAQcDQgAELSnX11W9UnIiTNKEFf3EdhEYr1ygvQhOfta6Gxe4T3hT\n",
        "lqGWR+YRBUgE8avjDI3CFOX5EasCl2r3NDu/6hE9yTAKBggqhkjOPQQDAwNoADBl\n",
        "AjAFfw1mlVocOcWOiNmdC4yS/a5ombb5NVzl5xOZfVfRwnM3JUirk/UOrex3lPRO\n",
        "mfkCMQDjPEhH35rgQR3VWsbWhXbVZpTMYn5C/5QkZ3qyvv8zKd92aevAjINmuozL\n",
        "QeiQqdk=\n",
        "-----END CERTIFICATE-----\n",
    );
}
