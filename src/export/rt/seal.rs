//! The seal fiskal signs its reconstructions with: an RSA key and its certificate from the
//! master data (PEM), signing RSA PKCS#1 v1.5 with SHA-256 (`rsa-sha256`, rt.md §1.5).

use crate::model::masterdata::RtSeal;

/// A loaded seal.
pub struct Seal {
    key: ring::signature::RsaKeyPair,
    certificate: Vec<u8>,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of debug output.
        f.debug_struct("Seal").finish_non_exhaustive()
    }
}

impl Seal {
    /// Reads the master data's seal: a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`)
    /// RSA key and a `CERTIFICATE`, each PEM.
    pub fn from_master_data(s: &RtSeal) -> Result<Seal, String> {
        let (label, der) = pem_block(&s.private_key, &["PRIVATE KEY", "RSA PRIVATE KEY"])
            .ok_or("private_key: no PEM block PRIVATE KEY or RSA PRIVATE KEY")?;
        let key = if label == "PRIVATE KEY" {
            ring::signature::RsaKeyPair::from_pkcs8(&der)
        } else {
            ring::signature::RsaKeyPair::from_der(&der)
        }
        .map_err(|e| {
            format!("private_key: not an RSA key ring accepts (2048 to 8192 bits): {e}")
        })?;
        let (_, certificate) = pem_block(&s.certificate, &["CERTIFICATE"])
            .ok_or("certificate: no PEM block CERTIFICATE")?;
        Ok(Seal { key, certificate })
    }

    /// The certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// RSA PKCS#1 v1.5 SHA-256 over `message`. Deterministic: padding v1.5 has no randomness,
    /// so the generator ring asks for is never consulted.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .expect("signing with a valid RSA key into a buffer of the modulus length");
        sig
    }
}

/// The first PEM block with one of `labels`: its label and decoded bytes.
fn pem_block(text: &str, labels: &[&str]) -> Option<(String, Vec<u8>)> {
    labels.iter().find_map(|label| {
        let first = crate::regime::pem::blocks(text, label)
            .ok()?
            .into_iter()
            .next()?;
        Some((label.to_string(), first))
    })
}

/// The demo seal shipped in `templates/rt/` (public key material: it proves nothing).
pub fn demo() -> RtSeal {
    RtSeal {
        label: Some("fiskal DEMO seal - public test key, not for production".into()),
        private_key: include_str!("../../../templates/rt/demo-seal.key.pem").into(),
        certificate: include_str!("../../../templates/rt/demo-seal.cert.pem").into(),
    }
}
