//! The COR10 XML of a closing, written in canonical form (inclusive C14N 1.0: namespace
//! declarations before attributes, each sorted; no empty-element tags; no declaration inside the
//! signed content) so that the enveloped signature's digest is SHA-256 of exactly the text
//! written, less the `ds:Signature` element.

use std::fmt::Write as _;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::{Closing, Key, Row, Seal};

const NS_DATI: &str = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/dati/v1.0";
const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The signed XML of `c`.
pub fn render(c: &Closing, seal: &Seal) -> Vec<u8> {
    let mut body = String::with_capacity(4096);
    let _ = writeln!(
        body,
        "<p:DatiCorrispettivi xmlns:ds=\"{NS_DS}\" xmlns:p=\"{NS_DATI}\" versione=\"COR10\">"
    );
    body.push_str("  <Trasmissione>\n");
    // The transmission counter: fiskal sends nothing, so it takes the closing number, as many
    // devices do (rt.md §1.4).
    let _ = writeln!(body, "    <Progressivo>{}</Progressivo>", c.z.max(1));
    body.push_str("    <Formato>COR10</Formato>\n  </Trasmissione>\n");
    if let Some(t) = c.last_document {
        let _ = writeln!(
            body,
            "  <DataOraRilevazione>{}</DataOraRilevazione>",
            t.0.format("%Y-%m-%dT%H:%M:%S%:z")
        );
    }
    body.push_str("  <DatiRT>\n");
    for (key, sums) in &c.sums {
        let row = Row::of(key, sums);
        body.push_str("    <Riepilogo>\n");
        match &row.key {
            Key::Rate(std::cmp::Reverse(rate)) => {
                let _ = writeln!(
                    body,
                    "      <IVA>\n        <AliquotaIVA>{}</AliquotaIVA>\n        <Imposta>{}</Imposta>\n      </IVA>",
                    amount(*rate),
                    amount(row.imposta.unwrap_or_default())
                );
            }
            Key::Natura(n) => {
                let _ = writeln!(body, "      <Natura>{}</Natura>", escape(n));
            }
        }
        let _ = writeln!(
            body,
            "      <Ammontare>{}</Ammontare>",
            amount(row.ammontare)
        );
        let _ = writeln!(
            body,
            "      <ImportoParziale>{}</ImportoParziale>",
            amount(row.importo_parziale)
        );
        if !row.resi.is_zero() {
            let _ = writeln!(
                body,
                "      <TotaleAmmontareResi>{}</TotaleAmmontareResi>",
                amount(row.resi)
            );
        }
        if !row.annulli.is_zero() {
            let _ = writeln!(
                body,
                "      <TotaleAmmontareAnnulli>{}</TotaleAmmontareAnnulli>",
                amount(row.annulli)
            );
        }
        body.push_str("    </Riepilogo>\n");
    }
    let _ = writeln!(
        body,
        "    <Totali>\n      <NumeroDocCommerciali>{}</NumeroDocCommerciali>\n      <PagatoContanti>{}</PagatoContanti>\n      <PagatoElettronico>{}</PagatoElettronico>\n    </Totali>",
        c.documents,
        amount(c.cash),
        amount(c.electronic)
    );
    body.push_str("  </DatiRT>\n  ");
    const TAIL: &str = "\n</p:DatiCorrispettivi>";

    // Enveloped signature: the digest is over the document without the Signature element.
    let mut unsigned = Vec::with_capacity(body.len() + TAIL.len());
    unsigned.extend_from_slice(body.as_bytes());
    unsigned.extend_from_slice(TAIL.as_bytes());
    let digest = STANDARD.encode(Sha256::digest(&unsigned));
    let signed_info = |ns: &str| {
        format!(
            "<ds:SignedInfo{ns}>\n      <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"></ds:CanonicalizationMethod>\n      <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"></ds:SignatureMethod>\n      <ds:Reference URI=\"\">\n        <ds:Transforms>\n          <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>\n        </ds:Transforms>\n        <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></ds:DigestMethod>\n        <ds:DigestValue>{digest}</ds:DigestValue>\n      </ds:Reference>\n    </ds:SignedInfo>"
        )
    };
    // C14N of SignedInfo as a subset renders the namespaces in scope from its ancestors (the
    // root declares both), sorted by prefix.
    let canonical = signed_info(&format!(" xmlns:ds=\"{NS_DS}\" xmlns:p=\"{NS_DATI}\""));
    let value = STANDARD.encode(seal.sign(canonical.as_bytes()));
    let certificate = STANDARD.encode(seal.certificate());
    let mut out = String::with_capacity(unsigned.len() + 4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&body);
    let _ = write!(
        out,
        "<ds:Signature>\n    {}\n    <ds:SignatureValue>{value}</ds:SignatureValue>\n    <ds:KeyInfo>\n      <ds:X509Data>\n        <ds:X509Certificate>{certificate}</ds:X509Certificate>\n      </ds:X509Data>\n    </ds:KeyInfo>\n  </ds:Signature>",
        signed_info("")
    );
    out.push_str(TAIL);
    out.push('\n');
    out.into_bytes()
}

/// `Amount2DecimalType`: two decimals, `.` separator; never `-0.00`.
pub(super) fn amount(d: Decimal) -> String {
    if d.is_zero() {
        return "0.00".into();
    }
    format!("{:.2}", d.round_dp(2))
}

/// Character content escaped as C14N writes it.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\r', "&#xD;")
}
