//! The replay of an RT seal: the enveloped XML-DSig signature of a daily closing (shared spec
//! `rt.md` §1.5), step by step as the spec lists them.
//!
//! 1. the root's only `ds:Signature` child;
//! 2. the document without it (the enveloped-signature transform);
//! 3. that document in inclusive C14N 1.0, SHA-256, against `DigestValue`;
//! 4. `SignedInfo` canonicalised in its original context (its ancestors' namespaces in
//!    scope), RSA PKCS#1 v1.5 with SHA-256, with the key of the embedded certificate.
//!
//! Digest and signature are judged separately: a changed amount breaks the digest only, a
//! changed `SignedInfo` the signature only. Only what RT seals use is replayed; any other
//! algorithm or reference is reported (RTX012) and left unchecked rather than guessed at.
//! Steps 5 and 6 (chain, CN, validity) are the caller's, with the certificate returned here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

use super::cert::{self, Certificate, Hash};
use super::cor10::{Finding, child_paths};
use super::xml::{self, Document, Element};

/// The XML-DSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Inclusive Canonical XML 1.0, without comments.
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Inclusive Canonical XML 1.0 with comments (a same-document reference `""` has no
/// comments to keep, so as a transform it gives the same bytes).
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// SHA-256 as a digest method.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// RSA PKCS#1 v1.5 with SHA-256 as a signature method.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// Whether a part of the seal verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Recomputed and equal / verified.
    Valid,
    /// Recomputed and different / does not verify.
    Invalid,
    /// Could not be checked (no signature, unsupported algorithm, unreadable value).
    NotChecked,
}

impl Status {
    /// How people read it; failures in capitals so they stand out.
    pub fn word(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Invalid => "INVALID",
            Status::NotChecked => "not checked",
        }
    }
}

/// What the replay established.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The digest of the signed document.
    pub digest: Status,
    /// The signature over SignedInfo.
    pub signature: Status,
    /// The certificate whose key verified the signature or, when none did, the first one.
    pub signer: Option<Certificate>,
    /// The other certificates of KeyInfo, which a chain may pass through.
    pub others: Vec<Certificate>,
    /// The path and line of the signer's X509Certificate element.
    pub signer_at: Option<(String, usize)>,
}

impl Replay {
    fn none() -> Replay {
        Replay {
            digest: Status::NotChecked,
            signature: Status::NotChecked,
            signer: None,
            others: Vec::new(),
            signer_at: None,
        }
    }
}

/// The `ds:` child elements of `parent` named `local`, with their paths.
fn kids<'a>(parent: &'a Element, path: &str, local: &str) -> Vec<(&'a Element, String)> {
    parent
        .elements()
        .zip(child_paths(path, parent))
        .filter(|(e, _)| e.is(DSIG_NS, local))
        .collect()
}

/// The one `ds:` child `local`, or RTX011.
fn need<'a>(
    parent: &'a Element,
    path: &str,
    local: &str,
    out: &mut Vec<Finding>,
) -> Option<(&'a Element, String)> {
    let mut found = kids(parent, path, local);
    match found.len() {
        1 => found.pop(),
        n => {
            out.push(Finding::at(
                "RTX011",
                path,
                parent,
                format!("one ds:{local} in <{}>", parent.qname()),
                if n == 0 {
                    "none".to_string()
                } else {
                    format!("{n}")
                },
            ));
            None
        }
    }
}

/// The Algorithm attribute of the one `ds:` child `local`, or RTX011.
fn algorithm(
    parent: &Element,
    path: &str,
    local: &str,
    out: &mut Vec<Finding>,
) -> Option<(String, String, usize)> {
    let (el, p) = need(parent, path, local, out)?;
    match el.attribute("", "Algorithm") {
        Some(a) => Some((a.to_string(), p, el.line)),
        None => {
            out.push(Finding::at(
                "RTX011",
                &p,
                el,
                "an Algorithm attribute",
                "none",
            ));
            None
        }
    }
}

/// The Base64 content of an element, white space ignored (XML-DSig wraps it at 76).
fn base64(el: &Element, path: &str, what: &str, out: &mut Vec<Finding>) -> Option<Vec<u8>> {
    let compact: String = el.text().split_whitespace().collect();
    match B64.decode(&compact) {
        Ok(bytes) if !bytes.is_empty() => Some(bytes),
        Ok(_) => {
            out.push(Finding::at(
                "RTX011",
                path,
                el,
                format!("{what} in Base64"),
                "nothing",
            ));
            None
        }
        Err(e) => {
            out.push(Finding::at(
                "RTX011",
                path,
                el,
                format!("{what} in Base64"),
                format!("not Base64: {e}"),
            ));
            None
        }
    }
}

fn unsupported(
    out: &mut Vec<Finding>,
    path: &str,
    line: usize,
    expected: &str,
    found: impl Into<String>,
) {
    out.push(Finding::new("RTX012", path, Some(line), expected, found));
}

/// Replays the seal of `doc`, appending findings RTX010–RTX015 to `out`.
pub fn replay(doc: &Document, out: &mut Vec<Finding>) -> Replay {
    let root = &doc.root;
    let root_path = format!("/{}", root.qname());
    let mut sigs = kids(root, &root_path, "Signature");
    if sigs.len() != 1 {
        out.push(Finding::at(
            "RTX010",
            &root_path,
            root,
            "one ds:Signature child of the root (the device's seal)",
            if sigs.is_empty() {
                "none".to_string()
            } else {
                format!("{}", sigs.len())
            },
        ));
        return Replay::none();
    }
    let Some((sig, sig_path)) = sigs.pop() else {
        return Replay::none();
    };
    let mut replay = Replay::none();
    certificates(sig, &sig_path, out, &mut replay);
    let Some((signed_info, si_path)) = need(sig, &sig_path, "SignedInfo", out) else {
        return replay;
    };
    let c14n = algorithm(signed_info, &si_path, "CanonicalizationMethod", out);
    let method = algorithm(signed_info, &si_path, "SignatureMethod", out);
    replay.digest = digest(doc, sig, signed_info, &si_path, out);

    let with_comments = match c14n {
        Some((a, _, _)) if a == C14N => Some(false),
        Some((a, _, _)) if a == C14N_WITH_COMMENTS => Some(true),
        Some((a, p, line)) => {
            unsupported(out, &p, line, "CanonicalizationMethod C14N 1.0", a);
            None
        }
        None => None,
    };
    let rsa_sha256 = match method {
        Some((a, _, _)) if a == RSA_SHA256 => true,
        Some((a, p, line)) => {
            unsupported(out, &p, line, "SignatureMethod RSA-SHA256", a);
            false
        }
        None => false,
    };
    let value = need(sig, &sig_path, "SignatureValue", out)
        .and_then(|(el, p)| base64(el, &p, "the SignatureValue", out));
    let (Some(with_comments), true, Some(value)) = (with_comments, rsa_sha256, value) else {
        return replay;
    };
    if replay.signer.is_none() {
        return replay;
    }
    let signed = xml::canonicalize_subtree(&[root, sig], signed_info, with_comments);
    replay.signature = signature(&signed, &value, &si_path, signed_info, &mut replay, out);
    replay
}

/// Reads KeyInfo's certificates into `replay` (signer first, the others after); RTX011 when
/// there is none, RTX015 for one that cannot be read.
fn certificates(sig: &Element, sig_path: &str, out: &mut Vec<Finding>, replay: &mut Replay) {
    let mut found = Vec::new();
    let mut n_elements = 0;
    for (key_info, ki_path) in kids(sig, sig_path, "KeyInfo") {
        for (data, d_path) in kids(key_info, &ki_path, "X509Data") {
            for (cert_el, c_path) in kids(data, &d_path, "X509Certificate") {
                n_elements += 1;
                let Some(der) = base64(cert_el, &c_path, "the X509Certificate", out) else {
                    continue;
                };
                match cert::read(&der) {
                    Ok(c) => found.push((c, c_path, cert_el.line)),
                    Err(e) => out.push(Finding::at(
                        "RTX015",
                        &c_path,
                        cert_el,
                        "a DER X.509 certificate",
                        e,
                    )),
                }
            }
        }
    }
    if found.is_empty() {
        // Certificates that are there but unreadable were reported one by one.
        if n_elements == 0 {
            out.push(Finding::at(
                "RTX011",
                sig_path,
                sig,
                "ds:KeyInfo/ds:X509Data/ds:X509Certificate (the device's certificate)",
                "none",
            ));
        }
        return;
    }
    let (first, path, line) = found.remove(0);
    replay.signer = Some(first);
    replay.signer_at = Some((path, line));
    replay.others = found.into_iter().map(|(c, _, _)| c).collect();
}

/// Steps 2–3: the Reference, its transforms and digest method, and the digest itself.
fn digest(
    doc: &Document,
    sig: &Element,
    signed_info: &Element,
    si_path: &str,
    out: &mut Vec<Finding>,
) -> Status {
    let refs = kids(signed_info, si_path, "Reference");
    let [(reference, r_path)] = refs.as_slice() else {
        if refs.is_empty() {
            out.push(Finding::at(
                "RTX011",
                si_path,
                signed_info,
                "one ds:Reference",
                "none",
            ));
        } else {
            unsupported(
                out,
                si_path,
                signed_info.line,
                "one ds:Reference (URI=\"\")",
                format!("{}", refs.len()),
            );
        }
        return Status::NotChecked;
    };
    let mut ok = true;
    match reference.attribute("", "URI") {
        Some("") => {}
        other => {
            unsupported(
                out,
                r_path,
                reference.line,
                "Reference URI=\"\" (the whole document)",
                other.map_or("no URI".into(), |u| format!("URI={u:?}")),
            );
            ok = false;
        }
    }
    let transforms: Vec<String> = kids(reference, r_path, "Transforms")
        .iter()
        .flat_map(|(t, tp)| kids(t, tp, "Transform"))
        .map(|(t, _)| {
            t.attribute("", "Algorithm")
                .unwrap_or("(no Algorithm)")
                .to_string()
        })
        .collect();
    let accepted = match transforms.as_slice() {
        [e] => e == ENVELOPED,
        [e, c] => e == ENVELOPED && (c == C14N || c == C14N_WITH_COMMENTS),
        _ => false,
    };
    if !accepted {
        unsupported(
            out,
            r_path,
            reference.line,
            "Transforms: enveloped-signature, optionally then C14N 1.0",
            if transforms.is_empty() {
                "none".to_string()
            } else {
                transforms.join(", ")
            },
        );
        ok = false;
    }
    match algorithm(reference, r_path, "DigestMethod", out) {
        Some((a, _, _)) if a == SHA256 => {}
        Some((a, p, line)) => {
            unsupported(out, &p, line, "DigestMethod SHA-256", a);
            ok = false;
        }
        None => ok = false,
    }
    let stored = need(reference, r_path, "DigestValue", out)
        .and_then(|(el, p)| base64(el, &p, "the DigestValue", out).map(|v| (v, el, p)));
    let Some((stored, el, p)) = stored else {
        return Status::NotChecked;
    };
    if !ok {
        return Status::NotChecked;
    }
    // The enveloped-signature transform removes the Signature element that holds it; the
    // reference "" is the document without comments (XML-DSig §4.3.3.3), canonicalised.
    let bytes = xml::canonicalize_document(doc, Some(sig), false);
    let computed = Sha256::digest(&bytes);
    if computed.as_slice() == stored.as_slice() {
        Status::Valid
    } else {
        out.push(Finding::at(
            "RTX013",
            &p,
            el,
            format!(
                "DigestValue {} (SHA-256 of the canonical document without its signature)",
                B64.encode(computed)
            ),
            format!("DigestValue {}", B64.encode(&stored)),
        ));
        Status::Invalid
    }
}

/// Step 4: which certificate's key verifies `value` over the canonical SignedInfo. A key that
/// verifies becomes the signer.
fn signature(
    signed: &[u8],
    value: &[u8],
    si_path: &str,
    signed_info: &Element,
    replay: &mut Replay,
    out: &mut Vec<Finding>,
) -> Status {
    let Some(first) = replay.signer.clone() else {
        return Status::NotChecked;
    };
    let candidates: Vec<Certificate> = std::iter::once(first.clone())
        .chain(replay.others.iter().cloned())
        .collect();
    let mut unusable = None;
    for (i, c) in candidates.iter().enumerate() {
        let Some(key) = &c.key else {
            unusable.get_or_insert(format!("the certificate's key is {}", c.key_description()));
            continue;
        };
        match key.verify(Hash::Sha256, signed, value) {
            Ok(true) => {
                if i > 0 {
                    replay.others = candidates
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, c)| c.clone())
                        .collect();
                    replay.signer = Some(c.clone());
                }
                return Status::Valid;
            }
            Ok(false) => {}
            Err(reason) => {
                unusable.get_or_insert(reason);
            }
        }
    }
    let (cert_path, cert_line) = replay
        .signer_at
        .clone()
        .unwrap_or_else(|| (si_path.to_string(), signed_info.line));
    if let (Some(reason), None) = (&unusable, &first.key) {
        out.push(Finding::new(
            "RTX015",
            cert_path,
            Some(cert_line),
            "an RSA key",
            reason.clone(),
        ));
        return Status::NotChecked;
    }
    if let (Some(reason), true) = (&unusable, candidates.len() == 1) {
        out.push(Finding::new(
            "RTX015",
            cert_path,
            Some(cert_line),
            "an RSA key of 2048 to 8192 bits",
            reason.clone(),
        ));
        return Status::NotChecked;
    }
    out.push(Finding::new(
        "RTX014",
        si_path,
        Some(signed_info.line),
        format!(
            "a SignatureValue that verifies with the key of {} ({}, RSA-SHA256 over the canonical SignedInfo)",
            first.subject,
            first.key_description()
        ),
        format!(
            "one that does not (SHA-256 of the canonical SignedInfo: {})",
            hex(&Sha256::digest(signed))
        ),
    ));
    Status::Invalid
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATI: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/rt/samples/dati/"
    );

    pub(crate) const SAMPLES: [&str; 3] = [
        "RT_7CIMG990005_24_02_2020__16_16_07_5.xml",
        "RT_192.168.1.133_13_04_2017__15_54_46_16.xml",
        "rt_lug_2020.xml",
    ];

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DATI}{name}")).unwrap()
    }

    fn run(bytes: &[u8]) -> (Replay, Vec<Finding>) {
        let doc = xml::parse(bytes).unwrap();
        let mut out = Vec::new();
        let r = replay(&doc, &mut out);
        (r, out)
    }

    #[test]
    fn every_device_signed_sample_replays() {
        for name in SAMPLES {
            let (r, out) = run(&sample(name));
            assert_eq!(
                (r.digest, r.signature),
                (Status::Valid, Status::Valid),
                "{name}: {out:#?}"
            );
            assert_eq!(out, vec![], "{name}");
            assert!(r.others.is_empty());
        }
    }

    #[test]
    fn the_signer_is_the_embedded_device_certificate() {
        let cn = |name: &str| {
            run(&sample(name))
                .0
                .signer
                .unwrap()
                .common_name()
                .map(str::to_string)
        };
        assert_eq!(cn(SAMPLES[0]).as_deref(), Some("7CIMG990005"));
        assert_eq!(cn(SAMPLES[1]).as_deref(), Some("80M08002493"));
        assert_eq!(cn(SAMPLES[2]).as_deref(), Some("72MAA000001"));
        let (r, _) = run(&sample(SAMPLES[0]));
        assert_eq!(
            r.signer_at.unwrap().0,
            "/p:DatiCorrispettivi/ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate"
        );
    }

    /// One digit of Ammontare changed (8.20 → 8.21): the digest fails, the signature over
    /// SignedInfo still verifies, and the finding gives both digests.
    #[test]
    fn a_changed_amount_breaks_the_digest_only() {
        let text = String::from_utf8(sample(SAMPLES[0])).unwrap();
        let changed = text.replacen(
            "<Ammontare>8.20</Ammontare>",
            "<Ammontare>8.21</Ammontare>",
            1,
        );
        assert_ne!(text, changed);
        let (r, out) = run(changed.as_bytes());
        assert_eq!((r.digest, r.signature), (Status::Invalid, Status::Valid));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].code, "RTX013");
        assert_eq!(
            out[0].path,
            "/p:DatiCorrispettivi/ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue"
        );
        assert_eq!(
            out[0].found,
            "DigestValue YeBjqv+FmSqC9fLlznQh62rmRZj0V+t4JIpWlczVwsg="
        );
        assert!(
            out[0].expected.starts_with("DigestValue ") && !out[0].expected.contains("YeBjqv"),
            "{}",
            out[0].expected
        );
    }

    /// A change inside SignedInfo (here the digest value itself) breaks the signature, and
    /// the digest no longer matches the changed value either.
    #[test]
    fn a_changed_signed_info_breaks_the_signature() {
        let text = String::from_utf8(sample(SAMPLES[2])).unwrap();
        let changed = text.replace(
            "6Pl5E6b6YRfyewuLSabLL7jNrYjbIomgP0NnYqWaW4Q=",
            "7Pl5E6b6YRfyewuLSabLL7jNrYjbIomgP0NnYqWaW4Q=",
        );
        let (r, out) = run(changed.as_bytes());
        assert_eq!((r.digest, r.signature), (Status::Invalid, Status::Invalid));
        let codes: Vec<&str> = out.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["RTX013", "RTX014"]);
        assert!(
            out[1].expected.contains("CN=72MAA000001"),
            "{}",
            out[1].expected
        );
        assert!(out[1].expected.contains("RSA 2048"), "{}", out[1].expected);
    }

    /// SignedInfo is canonicalised in context: the sample 7CIMG declares ds on the root, so
    /// its canonical SignedInfo carries the root's three namespaces. Signing it without them
    /// would not verify.
    #[test]
    fn signed_info_carries_the_namespaces_in_scope() {
        let doc = xml::parse(&sample(SAMPLES[0])).unwrap();
        let sig = doc.root.child(DSIG_NS, "Signature").unwrap();
        let si = sig.child(DSIG_NS, "SignedInfo").unwrap();
        let c14n =
            String::from_utf8(xml::canonicalize_subtree(&[&doc.root, sig], si, false)).unwrap();
        assert!(c14n.starts_with(
            "<ds:SignedInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:p=\"http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/dati/v1.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"></ds:CanonicalizationMethod>"
        ), "{c14n}");
    }

    #[test]
    fn unsigned_and_doubly_signed_files_are_rtx010() {
        let text = String::from_utf8(sample(SAMPLES[2])).unwrap();
        let start = text.find("<ds:Signature").unwrap();
        let end = text.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let unsigned = format!("{}{}", &text[..start], &text[end..]);
        let (r, out) = run(unsigned.as_bytes());
        assert_eq!(
            (r.digest, r.signature),
            (Status::NotChecked, Status::NotChecked)
        );
        assert_eq!(
            out.iter()
                .map(|f| (f.code, f.found.as_str()))
                .collect::<Vec<_>>(),
            [("RTX010", "none")]
        );
        let twice = format!("{}{}{}", &text[..end], &text[start..end], &text[end..]);
        let (_, out) = run(twice.as_bytes());
        assert_eq!(
            out.iter()
                .map(|f| (f.code, f.found.as_str()))
                .collect::<Vec<_>>(),
            [("RTX010", "2")]
        );
    }

    #[test]
    fn other_algorithms_are_reported_not_replayed() {
        let text = String::from_utf8(sample(SAMPLES[2])).unwrap();
        let sha1 = text
            .replace(SHA256, "http://www.w3.org/2000/09/xmldsig#sha1")
            .replace(RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
        let (r, out) = run(sha1.as_bytes());
        assert_eq!(
            (r.digest, r.signature),
            (Status::NotChecked, Status::NotChecked)
        );
        let found: Vec<(&str, &str)> = out.iter().map(|f| (f.code, f.found.as_str())).collect();
        assert_eq!(
            found,
            [
                ("RTX012", "http://www.w3.org/2000/09/xmldsig#sha1"),
                ("RTX012", "http://www.w3.org/2000/09/xmldsig#rsa-sha1")
            ]
        );
        let exclusive = text.replace(
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
        );
        let (r, out) = run(exclusive.as_bytes());
        assert_eq!(r.digest, Status::NotChecked);
        // The signature is over the changed SignedInfo, so it fails too; the transform is
        // what is named.
        assert_eq!(out[0].code, "RTX012");
        assert!(out[0].found.ends_with("xml-exc-c14n#"), "{}", out[0].found);
    }

    /// An explicit C14N 1.0 transform after enveloped-signature gives the same digest (the
    /// 2017 CNR sample's form): only the signature fails, as SignedInfo changed.
    #[test]
    fn an_explicit_c14n_transform_is_accepted() {
        let text = String::from_utf8(sample(SAMPLES[2])).unwrap();
        let explicit = text.replace(
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
        );
        let (r, out) = run(explicit.as_bytes());
        assert_eq!((r.digest, r.signature), (Status::Valid, Status::Invalid));
        assert_eq!(out.iter().map(|f| f.code).collect::<Vec<_>>(), ["RTX014"]);
    }

    #[test]
    fn missing_parts_and_bad_base64_are_rtx011_and_junk_certificates_rtx015() {
        let text = String::from_utf8(sample(SAMPLES[2])).unwrap();
        let no_value = text.replace("<ds:SignatureValue>Z9w1", "<ds:SignatureValue>!!Z9w1");
        let (r, out) = run(no_value.as_bytes());
        assert_eq!((r.digest, r.signature), (Status::Valid, Status::NotChecked));
        assert_eq!(out.iter().map(|f| f.code).collect::<Vec<_>>(), ["RTX011"]);
        assert!(out[0].found.starts_with("not Base64"), "{}", out[0].found);

        let start = text.find("<ds:KeyInfo>").unwrap();
        let end = text.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
        let no_key = format!("{}{}", &text[..start], &text[end..]);
        let (r, out) = run(no_key.as_bytes());
        assert_eq!((r.digest, r.signature), (Status::Valid, Status::NotChecked));
        assert_eq!(
            out.iter()
                .map(|f| (f.code, f.found.as_str()))
                .collect::<Vec<_>>(),
            [("RTX011", "none")]
        );

        let junk = text.replace("<ds:X509Certificate>MIIF", "<ds:X509Certificate>AAAA");
        let (r, out) = run(junk.as_bytes());
        assert_eq!(r.signature, Status::NotChecked);
        assert_eq!(out.iter().map(|f| f.code).collect::<Vec<_>>(), ["RTX015"]);
    }
}
