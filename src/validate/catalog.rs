//! The rule catalog: every check fiskal runs, declared once.
//!
//! Each rule has a stable code, a default severity, what it checks, why, and the source that
//! makes it a rule. docs/rules.md is generated from [`RULES`] (a test keeps it current), the
//! configuration refers to these codes, and every finding carries one.

use std::fmt::Write as _;

use crate::model::Severity;

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable code (`TOT003`).
    pub code: &'static str,
    /// Family heading in docs/rules.md.
    pub family: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What the rule checks, in one sentence.
    pub title: &'static str,
    /// Why it matters and how it is computed.
    pub rationale: &'static str,
    /// Where the rule comes from.
    pub source: &'static str,
}

const TOTALS: &str = "Totals and payments";
const VAT: &str = "VAT";
const SESSION: &str = "Register sessions and cash counts";
const SEQUENCE: &str = "Sequences and fiscal counters";
const REFERENCES: &str = "References between operations";
const LIFECYCLE: &str = "Lifecycle and fiscal state";
const INGEST: &str = "Input";
const TSE: &str = "KassenSichV (German TSE)";
const RKSV: &str = "RKSV (Austrian receipts)";
const RT: &str = "RT (Italian documents)";

/// Every rule, in documentation order.
pub static RULES: &[Rule] = &[
    Rule {
        code: "ING001",
        family: INGEST,
        severity: Severity::Error,
        title: "A record could not be read",
        rationale: "Truncated or malformed JSON, wrong types, unknown values, missing fields, invalid decimals, overflowing amounts, mixed currencies, duplicate ids. The record is skipped and listed with file, line, JSON pointer, expected and found; an audit over a history with unreadable records is incomplete.",
        source: "docs/input.md; GoBD Rz. 58 ff. (completeness of records)",
    },
    Rule {
        code: "TOT001",
        family: TOTALS,
        severity: Severity::Error,
        title: "Line arithmetic: quantity × unit price, less line discounts and cart-discount shares, is the line total",
        rationale: "Register shape: subtotal_gross = quantity × unit_price_gross (rounded to the currency's minor unit, half away from zero); total_gross = subtotal − Σ line discounts − Σ cart-discount allocations; total_net and taxable_amount = total_gross − tax. /operations v1.1: total_amount = quantity × unit_price. A line that does not add up cannot be the basis of any total.",
        source: "OpenFiskal API (line item fields); DSFinV-K 2.2 §4.2.1 (Bonpos: POS_BRUTTO = ANZAHL × STK_BR less discounts)",
    },
    Rule {
        code: "TOT002",
        family: TOTALS,
        severity: Severity::Error,
        title: "Each cart discount is fully allocated to the lines",
        rationale: "Register shape: for every cart discount, the cart_discount_allocations naming it sum to its amount, so that per-rate VAT of the discounted lines is right.",
        source: "OpenFiskal API (cart_discounts, cart_discount_allocations); UStG §17 / UStAE 10.3 (discounts reduce the taxable amount per rate)",
    },
    Rule {
        code: "TOT003",
        family: TOTALS,
        severity: Severity::Error,
        title: "The totals are the sums of the lines",
        rationale: "Register shape: subtotal_gross, total_line_discounts, total_cart_discounts, total_gross (less rounding_adjustment), total_net and total_tax equal the sums over the lines, returned exchange lines counting negative. v1.1: Σ line total_amount − Σ cart-level discounts = pretax_amount + tax_amount, and Σ line taxes = tax_amount.",
        source: "OpenFiskal API (totals); DSFinV-K 2.2 Anhang E 13 (printed header amounts are the receipt's amounts)",
    },
    Rule {
        code: "TOT004",
        family: TOTALS,
        severity: Severity::Error,
        title: "The totals block is consistent in itself",
        rationale: "Register shape: total_gross = total_net + total_tax and net_payable = total_gross. v1.1: total_amount = pretax_amount + tax_amount + tip_amount.",
        source: "OpenFiskal API (totals; CreateSaleOperationDto.total_amount = pretax + tax + tip)",
    },
    Rule {
        code: "TOT005",
        family: TOTALS,
        severity: Severity::Error,
        title: "The tax breakdown equals the lines, rate by rate",
        rationale: "Register shape: each tax_breakdown row (rate, category) carries the sums of taxable amount, tax and gross of the lines at that rate, and no rate is missing or extra. Exports per VAT rate (DSFinV-K Bon_USt, RKSV rate buckets, RT Riepilogo) are built from it.",
        source: "DSFinV-K 2.2 §3.1.2.2 (transactions_vat.csv); UStG §14 Abs. 4 Nr. 8",
    },
    Rule {
        code: "PAY001",
        family: TOTALS,
        severity: Severity::Error,
        title: "Payments equal the amount due",
        rationale: "Completed operations only. Register shape: Σ inbound − Σ outbound = net_payable (refunds: Σ outbound − Σ inbound); amounts are net of change. v1.1: Σ payment amounts = total_amount (returns pay out, exchange legs are signed).",
        source: "OpenFiskal API (payments, net_payable; Payment.status); DSFinV-K 2.2 §4.2.6 (Zahlarten sum to the receipt total)",
    },
    Rule {
        code: "PAY002",
        family: TOTALS,
        severity: Severity::Error,
        title: "Payment direction fits the operation",
        rationale: "Sales, deposits and captures take money in, refunds and returns pay out (v1.1: `captured` / `refunded`); an exchange leg's status matches its sign. A reversed direction doubles the error in every cash balance.",
        source: "OpenFiskal API (Payment.direction, Payment.status)",
    },
    Rule {
        code: "PAY003",
        family: TOTALS,
        severity: Severity::Error,
        title: "Cash tendered covers the cash amount",
        rationale: "For cash in the operation's currency, amount_tendered ≥ amount; the change is the difference. Less tendered than paid is impossible at a till.",
        source: "OpenFiskal API (cash.amount_tendered)",
    },
    Rule {
        code: "VAT001",
        family: VAT,
        severity: Severity::Error,
        title: "Line VAT is rate × taxable amount, rounded",
        rationale: "The stated line tax equals round(gross × rate / (1 + rate)) or round(net × rate), rounded half away from zero to the currency's minor unit, within the configured `vat` tolerance (default 0). Both methods are in use at tills; anything else is a computation error. Not checked for v1.1 lines of operations with cart-level discounts: the API does not state their allocation.",
        source: "UStG §10, §12; UStAE 14.5 Abs. 4 (rounding per line allowed); DIN 1333 (commercial rounding); Italian DPR 633/72 art. 16",
    },
    Rule {
        code: "VAT002",
        family: VAT,
        severity: Severity::Error,
        title: "VAT per rate fits the gross where lines cannot be checked one by one",
        rationale: "For /operations v1.1 operations with cart-level discounts the API does not state each line's share of the discount, so VAT001 cannot recompute a line's tax. Per rate, the sum of the line taxes must then lie between the tax contained in the rate's gross less the whole cart discount and the tax contained in its full gross, widened by half a minor unit per line and the `vat` tolerance.",
        source: "UStAE 14.5 Abs. 4; DSFinV-K 2.2 §3.1.2.2",
    },
    Rule {
        code: "VAT003",
        family: VAT,
        severity: Severity::Error,
        title: "The VAT rate is valid in the country on that date",
        rationale: "Germany 19 %, 7 % (16 %, 5 % from 2020-07-01 to 2020-12-31), 0 %; Austria 20 %, 10 %, 13 %, 0 %, and 4.9 % from 2026-07-01; Italy 22 %, 10 %, 5 %, 4 %, 0 % with a Natura code. The country comes from the operation's fiscal regime.",
        source: "UStG §12 and Zweites Corona-Steuerhilfegesetz; AT UStG 1994 §10; IT DPR 633/72 Tabella A",
    },
    Rule {
        code: "VAT004",
        family: VAT,
        severity: Severity::Error,
        title: "Multi-purpose vouchers are sold without VAT",
        rationale: "A gift-card line (Mehrzweckgutschein) carries rate 0 and tax 0: VAT arises when the voucher is redeemed, not when it is sold.",
        source: "UStG §3 Abs. 15 (Mehrzweck-Gutschein); EU Directive 2016/1065; OpenFiskal API (LineItemDto.type gift_card)",
    },
    Rule {
        code: "VAT005",
        family: VAT,
        severity: Severity::Error,
        title: "Italian 0 % lines name their Natura code",
        rationale: "Under RT every 0 % line must say why (N1–N7, e.g. N4 exempt); the daily closing groups amounts by Natura and the Agenzia delle Entrate rejects a 0 % row without one.",
        source: "Agenzia delle Entrate, Tipi Dati per i Corrispettivi 7.0 (Natura); rt.md §1.3",
    },
    Rule {
        code: "SES001",
        family: SESSION,
        severity: Severity::Error,
        title: "Session events come in order",
        rationale: "A register session runs open → adjustments and sales → cash count → close. Nothing but the close may follow the count (the API freezes the session), nothing may follow the close, and every operation bound to a session needs that session to have been opened.",
        source: "OpenFiskal API (session_open … session_close; CreateSessionCashCountOperationDto)",
    },
    Rule {
        code: "SES002",
        family: SESSION,
        severity: Severity::Error,
        title: "Expected closing cash is opening + cash in − cash out + adjustments",
        rationale: "Recomputed from the session's own records: the opening balance, plus cash payments of its completed operations (in +, out −; foreign cash at its amount in the operation currency; voided sales excluded), plus cash adjustments. It must equal the stated expected_closing_amount: a wrong expected amount hides or invents a cash difference.",
        source: "OpenFiskal API (SessionCashCountOperation.expected_closing_amount); DSFinV-K 2.2 §3.3 (Kassenabschluss: cash balance)",
    },
    Rule {
        code: "SES003",
        family: SESSION,
        severity: Severity::Error,
        title: "The cash-count difference is counted − expected",
        rationale: "closing_cashcount_diff must be counted_closing_amount − expected_closing_amount; it is fiscally attested.",
        source: "OpenFiskal API (SessionCashCountOperation.closing_cashcount_diff)",
    },
    Rule {
        code: "SES004",
        family: SESSION,
        severity: Severity::Warning,
        title: "A session opens with the cash the previous one left",
        rationale: "The next opening balance of a register equals the previous counted closing amount plus the closing pull (negative) or top-up. A different float means cash moved between sessions without a record.",
        source: "GoBD Rz. 58 ff. (complete, gap-free records); DSFinV-K 2.2 §3.3",
    },
    Rule {
        code: "SES005",
        family: SESSION,
        severity: Severity::Error,
        title: "Every session is closed",
        rationale: "A session without session_close has no daily closing (Z report); its sales are in no closing an auditor can reconcile.",
        source: "KassenSichV / DSFinV-K 2.2 §3.3 (daily Kassenabschluss); RT DM 7.12.2016 (daily closing)",
    },
    Rule {
        code: "SES006",
        family: SESSION,
        severity: Severity::Warning,
        title: "The business date lies within the session",
        rationale: "business_date should be a local date on which the session was open (from its opening to its closing day, in the source's UTC offset).",
        source: "OpenFiskal API (CreateSessionCloseOperationDto.business_date)",
    },
    Rule {
        code: "SES007",
        family: SESSION,
        severity: Severity::Error,
        title: "One currency per session",
        rationale: "All operations of a session use the currency it opened in; a drawer cannot be counted in two currencies at once.",
        source: "OpenFiskal API (currency on every session operation)",
    },
    Rule {
        code: "SES008",
        family: SESSION,
        severity: Severity::Warning,
        title: "A cash difference is explained",
        rationale: "When the counted amount differs from the expected one, discrepancy_note should say why; unexplained cash differences are what a Kassen-Nachschau asks about first.",
        source: "AO §146b (Kassen-Nachschau); OpenFiskal API (discrepancy_note)",
    },
    Rule {
        code: "SEQ001",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "Sequence numbers have no gaps",
        rationale: "Register-scoped sequence numbers increase by one per operation; a missing number is a missing record.",
        source: "OpenFiskal API (sequence_number: monotonically increasing, register-scoped); AO §146 Abs. 1 (complete records)",
    },
    Rule {
        code: "SEQ002",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "Sequence numbers are unique",
        rationale: "Two operations of one register with the same sequence number mean a record was duplicated or overwritten.",
        source: "OpenFiskal API (sequence_number)",
    },
    Rule {
        code: "SEQ003",
        family: SEQUENCE,
        severity: Severity::Warning,
        title: "Time does not run backwards on a register",
        rationale: "An operation created or started earlier than the operation before it (in sequence order; v1.1 in file order) by more than `clock_seconds` points at a wrong register clock or a back-dated record.",
        source: "KassenSichV §2 (time of the transaction); GoBD Rz. 71 (chronological recording)",
    },
    Rule {
        code: "SEQ004",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "An external order id is completed once",
        rationale: "The same external_id completed twice on one register is the same order booked twice.",
        source: "OpenFiskal API (external_id: the POS's identifier for the upstream order)",
    },
    Rule {
        code: "FIS001",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "Fiscal counters increase",
        rationale: "Per device, in the order of the records: the TSE transaction number, the RKSV receipt number and the RT (daily closing, progressive) number strictly increase. A counter that repeats or falls means records were replayed or reordered.",
        source: "BSI TR-03153 (transaction number); RKSV Anlage Z 4 (receipt chain); rt.md §2.1",
    },
    Rule {
        code: "FIS002",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "RKSV and RT document numbers have no gaps",
        rationale: "RKSV receipts of a cash box count up by one; an RT's progressive number starts at 1 after each daily closing and counts up by one, and daily closings count up by one. A gap is a missing document.",
        source: "RKSV §7, §8 (DEP completeness); DM 7.12.2016 and rt.md §2.1 (ZZZZ-NNNN numbering)",
    },
    Rule {
        code: "FIS003",
        family: SEQUENCE,
        severity: Severity::Warning,
        title: "TSE transaction numbers have no gaps",
        rationale: "A gap in a TSE's transaction numbers means a transaction this history does not contain; a TSE shared by registers outside the input also produces gaps, hence a warning.",
        source: "BSI TR-03153 §9 (transaction counter); DSFinV-K 2.2 §3.1.1 (transactions_tse.csv)",
    },
    Rule {
        code: "TSE001",
        family: TSE,
        severity: Severity::Error,
        title: "The TSE signature verifies",
        rationale: "The FinishTransaction log message is rebuilt from the QR code or the fiscal block (master data filling in key, algorithm and time format) exactly as BSI TR-03151 defines it, and its ECDSA signature is verified offline on the key's curve (P-256, P-384, brainpoolP256r1/P384r1/P512r1). The stated TSE serial must be SHA-256 of the key. The finding lists the problems, every encoding variant tried and the to-be-signed bytes, so a vendor can compare them with the TSE's export.",
        source: "KassenSichV §2; BSI TR-03151 (log message), TR-03111 (ecdsa-plain); DSFinV-K 2.2 Anhang I (QR code)",
    },
    Rule {
        code: "TSE002",
        family: TSE,
        severity: Severity::Error,
        title: "The TSE signed the operation's own amounts",
        rationale: "The Kassenbeleg-V1 processData is rebuilt from the operation: Vorgangstyp (Beleg, AVTraining, AVBelegabbruch; a cash movement is a Beleg with its amount at 0 %; a void is its original negated), gross per VAT slot (19 %, 7 %, 10.7 %, 5.5 %, 0 %; 16 %/5 % in 2020 H2) from the lines, and payments per type (Bar/Unbar) and currency. A valid signature over other amounts proves nothing about this receipt. Not judged: the euro change of foreign cash (no exchange rate in the API), lines at a rate with no slot (VAT003), voids whose original is not in the input.",
        source: "DSFinV-K 2.2 Anhang I (processData Kassenbeleg-V1); KassenSichV §2 Satz 2 (the amounts are part of the secured record)",
    },
    Rule {
        code: "TSE003",
        family: TSE,
        severity: Severity::Error,
        title: "The receipt QR code and the fiscal block agree",
        rationale: "Every value the V0 QR code repeats (clientId, processType, processData, counters, start and log time, algorithm, time format, signature, public key) must equal the fiscal block's; a printed receipt that differs from the stored record is either a different transaction or an altered one. An unreadable QR code or an unreadable TSE field is reported here too.",
        source: "DSFinV-K 2.2 Anhang I (QR code); AEAO zu §146a Nr. 7 (receipt content)",
    },
    Rule {
        code: "TSE004",
        family: TSE,
        severity: Severity::Error,
        title: "TSE signature counters increase",
        rationale: "Per TSE, in the order of the records, the signature counter of each finished transaction is greater than the one before. A TSE counts every signature once; a repeated or falling counter means a replayed, reordered or forged receipt. Gaps are normal (start and update logs, other clients of the TSE sign in between).",
        source: "BSI TR-03153 §9.3 (signature counter); BSI TR-03151 (signatureCounter)",
    },
    Rule {
        code: "TSE005",
        family: TSE,
        severity: Severity::Error,
        title: "A TSE transaction finishes after it starts",
        rationale: "The start log time (QR field 7 or the start event) is not later than the finish log time. Both come from the same TSE clock, so a finish before the start is a wrong or altered record.",
        source: "BSI TR-03153 (StartTransaction precedes FinishTransaction); DSFinV-K 2.2 Anhang I",
    },
    Rule {
        code: "TSE006",
        family: TSE,
        severity: Severity::Warning,
        title: "Signed times match the operation's times",
        rationale: "The start is signed at the operation's start (created_at where no start is given) and the finish at its completion, within `clock_seconds`. A larger offset points at a TSE or register clock that is off, or a record signed long after the sale; the tax office compares both.",
        source: "KassenSichV §2 Satz 2 Nr. 1 and 6 (times of start and end); AEAO zu §146a Nr. 1.11",
    },
    Rule {
        code: "TSE007",
        family: TSE,
        severity: Severity::Warning,
        title: "The signature can be checked",
        rationale: "Verification needs the signature, the public key, the algorithm, the time format and both counters; older API shapes leave the key and algorithm to master data ([[tse]]). Without them the signature is unchecked, which an audit must state.",
        source: "docs/masterdata.md; BSI TR-03151",
    },
    Rule {
        code: "RKS101",
        family: RKSV,
        severity: Severity::Error,
        title: "The receipt's machine-readable code is present and readable",
        rationale: "Every RKSV receipt carries its machine-readable code (verification.qr_data); the signature, chain and counter checks rebuild the signed JWS from it. Beyond the RKSV-family checks here, every receipt of a history goes through the DEP7 checks RKS001–RKS052 (docs/rksv-verify.md) in input order per cash box, exactly as in `fiskal verify dep7`, and their findings name the operation.",
        source: "RKSV §10, Anlage Z 12; spec rksv.md §2.1, §7",
    },
    Rule {
        code: "RKS102",
        family: RKSV,
        severity: Severity::Error,
        title: "The fiscal block says what the code says",
        rationale: "cashbox_id, document_number and certificate_serial of the fiscal block are the code's Kassen-ID, Belegnummer and field 11 (serials compared without regard to case). A block that differs describes another receipt than the one signed.",
        source: "spec rksv.md §2.1; OpenFiskal FiscalInformationRKSV",
    },
    Rule {
        code: "RKS103",
        family: RKSV,
        severity: Severity::Error,
        title: "The receipt's amounts per VAT rate are the operation's",
        rationale: "The code's five gross fields (20 %, 10 %, 13 %, 0 %, Besonders for 19 % and 4.9 %) must equal the operation's gross per rate (returns negative, a void the negated original, cash movements at 0 %, session records a null receipt). A valid signature proves the cash box signed some amounts, not these; the turnover counter is the sum of them.",
        source: "RKSV §8 Abs 1, §10 Abs 2 Z 5; spec rksv.md §2.3, §12 (wrong bucket)",
    },
    Rule {
        code: "RKS104",
        family: RKSV,
        severity: Severity::Error,
        title: "The stated turnover counter is the encrypted one",
        rationale: "The OpenFiskal v1.1 shape states the running turnover counter in the clear (signature.turnover_counter). With the AES key from the master data, the code's encrypted counter decrypts to the same value in cents.",
        source: "RKSV Anlage Z 8/9; spec rksv.md §4.3",
    },
    Rule {
        code: "RKS105",
        family: RKSV,
        severity: Severity::Warning,
        title: "The receipts' signatures can be checked",
        rationale: "The machine-readable code names the certificate serial but carries no key, and the OpenFiskal blocks carry none either: the cash box's certificate or public key comes from the master data ([[rksv]]). Without it the signatures stay unchecked, which an audit must state; said once per cash box, at its first receipt, with the number of receipts concerned.",
        source: "docs/masterdata.md; spec rksv.md §4.1, §7 R10",
    },
    Rule {
        code: "RTD001",
        family: RT,
        severity: Severity::Error,
        title: "The RT document number is ZZZZ-NNNN",
        rationale: "Every documento commerciale is numbered `ZZZZ-NNNN`: the number of the daily closing (azzeramento) it belongs to and its progressive number within that closing, four digits each, zero-padded (\"DOCUMENTO N. 0002-0003\"); the lottery and reso/annullo references quote it in that form. A missing number or another form (unpadded, other separator) is reported. The register shape carries the number only: there an unpadded number (`12-7`) is still read as closing and progressive number, so that the counters count the document. The counters themselves are FIS001/FIS002: per RT, no repeat or fall (a closing that reappears after a later one began), no gap, each closing's documents from 1, closings up by one.",
        source: "rt.md §2.1 (numero documento; lottery XSD pattern `[0-9]{4}\\-[0-9]{4}`), §6",
    },
    Rule {
        code: "RTD002",
        family: RT,
        severity: Severity::Error,
        title: "The document number agrees with the block's closing and progressive numbers",
        rationale: "Where the fiscal block states daily_closing_number and progressive_number besides the printed document_number (the /operations shape), document_number = `{daily_closing_number:04}-{progressive_number:04}`, and neither may be missing. The counters are what FIS001/FIS002 follow and the daily closing is built from; a printed number that says otherwise names another document. (The register shape carries the number only; its counters are read from it.)",
        source: "rt.md §2.1 (mapping to the API fiscal block), §6 (document_number)",
    },
    Rule {
        code: "RTD003",
        family: RT,
        severity: Severity::Warning,
        title: "The document type fits the operation",
        rationale: "A sale, deposit or deposit capture is a sale document (VENDITA), a return a RESO, a void an ANNULLO, an exchange either (one document for its balance). Types are recognised in any letter case, also as SALE, RETURN/REFUND, VOID. The daily closing totals resi and annulli apart from sales (TotaleAmmontareResi, TotaleAmmontareAnnulli), so a mistyped document lands in the wrong total. A warning: the API's names for the types are not documented.",
        source: "rt.md §2.3 (reso, annullo), §1.2 (Riepilogo totals), §6 (document_type: names depend on the API) [UNCERTAIN]",
    },
    Rule {
        code: "RTD004",
        family: RT,
        severity: Severity::Error,
        title: "A reso or annullo refers to an RT document",
        rationale: "The original that an RT return, void or exchange references (references.original_operation_id) carries an RT fiscal block: a reso or annullo quotes the Z number, document number, date and matricola of the documento commerciale it corrects, issued by this RT or another one. An original in the input without an RT document has no number to quote. An original missing from the input, one that is later, and returns beyond what was sold are REF001–REF003.",
        source: "rt.md §2.3 (reference to original; same device?; validator rules)",
    },
    Rule {
        code: "RTD005",
        family: RT,
        severity: Severity::Error,
        title: "An annullo does not follow a reso of the same document",
        rationale: "An annullo cancels the whole document, while a reso takes part of it back: once a completed reso or exchange has taken something back from a document, an annullo of it (later by time, else by input order) would cancel more than remains. A second annullo of one document, and a reso after an annullo, are REF004; a reso beyond what remains is REF003.",
        source: "rt.md §2.3 (amount ≤ remaining amount of the original; an annullo refers to the whole document)",
    },
    Rule {
        code: "RTD006",
        family: RT,
        severity: Severity::Error,
        title: "A lottery code is 8 letters or digits",
        rationale: "The codice lotteria the buyer shows is 8 alphanumeric characters (with its barcode); anything else cannot be a code the lottery issued.",
        source: "rt.md §2.5 (code = 8 alphanumeric chars; API mapping: 8 chars [A-Z0-9])",
    },
    Rule {
        code: "RTD007",
        family: RT,
        severity: Severity::Warning,
        title: "A lottery code is in upper case",
        rationale: "Codes are issued as `[A-Z0-9]`; a code with lower-case letters was probably typed in by hand. A warning: whether the Agenzia accepts either case is not established (the 2019 draft schema allowed `[A-Za-z0-9]`).",
        source: "rt.md §2.5 (8 chars [A-Z0-9] [UNCERTAIN: case]), §7 item 4",
    },
    Rule {
        code: "RTD008",
        family: RT,
        severity: Severity::Error,
        title: "A lottery code only goes with an eligible purchase",
        rationale: "The lotteria degli scontrini takes purchases of at least 1.00 EUR paid entirely electronically (cards, wallets, online; no cash, vouchers or gift cards; payment forms the API does not explain are not held against it): a completed sale document with a lottery code has inbound payments and all of them electronic, and its total (net_payable, else the total) is ≥ 1.00. A reso or annullo carries a lottery code only when its original did.",
        source: "rt.md §2.5 (only purchases ≥ 1 € paid entirely electronically; API mapping: sale or reso/annullo of such a sale), §2.4",
    },
    Rule {
        code: "RTD009",
        family: RT,
        severity: Severity::Error,
        title: "No lottery code on a document with the buyer's tax id",
        rationale: "A documento commerciale that names the buyer's codice fiscale or P.IVA (\"parlante\", for deductions) is excluded from the lottery: a document whose customer has a tax_id carries no lottery code.",
        source: "rt.md §2.5 (not allowed when the DC carries the buyer's CF/P.IVA), §2.2, §6 (customer tax_id_type)",
    },
    Rule {
        code: "RTD010",
        family: RT,
        severity: Severity::Warning,
        title: "The RT serial is a matricola",
        rationale: "rt_serial (register shape: fiscal_unit_id) is the RT's matricola: 11 characters, manufacturer (2), device type (a letter: I for an RT, S for a Server-RT), model (2), serial (6 digits), `^[0-9A-Z]{2}[A-Z][0-9A-Z]{2}[0-9]{6}$`; it is the CN of the certificate that seals the daily closing. Said once per serial, and once per register whose RT blocks name none. A warning: the pattern is derived from observed matricole, not from the official specification.",
        source: "rt.md §2.1 (matricola RT; observed matricole and regex), §6 (rt_serial) [UNCERTAIN]",
    },
    Rule {
        code: "REF001",
        family: REFERENCES,
        severity: Severity::Error,
        title: "Returns, exchanges, voids and captures reference an existing operation",
        rationale: "The referenced operation must be in the input, unless a v1.1 return or exchange names an external original (external_related_operation).",
        source: "OpenFiskal API (references.original_operation_id; related_operation_id / external_related_operation)",
    },
    Rule {
        code: "REF002",
        family: REFERENCES,
        severity: Severity::Error,
        title: "The referenced operation is earlier",
        rationale: "Goods are returned, exchanged or voided after they were sold.",
        source: "OpenFiskal API (references)",
    },
    Rule {
        code: "REF003",
        family: REFERENCES,
        severity: Severity::Error,
        title: "No more is returned than was sold",
        rationale: "Over all completed returns and exchanges of one sale, the returned quantity of each product (by SKU, else description) and the returned gross amount stay within what the sale sold.",
        source: "UStG §17 (correction only of what was charged); DSFinV-K 2.2 §4.2 (Retoure)",
    },
    Rule {
        code: "REF004",
        family: REFERENCES,
        severity: Severity::Error,
        title: "Voids and returns target an operation that can take them",
        rationale: "A void targets a completed operation not voided before; a return or exchange targets a completed, not voided sale.",
        source: "OpenFiskal API (state transitions); DSFinV-K 2.2 §4.1.1 (Storno)",
    },
    Rule {
        code: "REF005",
        family: REFERENCES,
        severity: Severity::Error,
        title: "A reference stays in one currency",
        rationale: "A return, exchange, void or capture uses the currency of the operation it references.",
        source: "OpenFiskal API (currency)",
    },
    Rule {
        code: "LIF001",
        family: LIFECYCLE,
        severity: Severity::Warning,
        title: "No operation is left open",
        rationale: "An operation still open at the end of the period was neither completed nor cancelled: it counts toward no total and no closing.",
        source: "OpenFiskal API (state open → completed / cancelled)",
    },
    Rule {
        code: "LIF002",
        family: LIFECYCLE,
        severity: Severity::Error,
        title: "Completed operations are fiscalised",
        rationale: "On a register whose operations are fiscalised, every completed sale, return, exchange, void, deposit and capture carries a fiscal block, and its fiscal_state is not pending or failed. Training operations are exempt.",
        source: "AO §146a (TSE), RKSV §9, DM 7.12.2016 (RT): every transaction is recorded by the fiscal device",
    },
];

/// The rule with this code: a validation rule, or one of the DEP7 checks, which histories go
/// through as well (regime::rksv::check).
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.code == code)
        .or_else(|| crate::regime::rksv::dep::check(code))
}

/// docs/rules.md, generated.
pub fn markdown() -> String {
    render_markdown(
        "# Rules\n\n<!-- Generated from src/validate/catalog.rs by `cargo test` (catalog::tests::docs_rules_md_is_current); do not edit. -->\n\nEvery check fiskal runs, with its code, default severity, what it checks, why, and its source.\nSeverities can be changed and rules disabled in `fiskal.toml` (docs/config.md).\n",
        RULES,
        "rule",
    )
}

/// A catalog as Markdown: `header`, then per family a table of codes (the column named
/// `noun`) and a section per entry. Shared by every catalog fiskal documents (the validation
/// rules here, the DSFinV-K export checks), so their documents read alike.
pub fn render_markdown(header: &str, entries: &[Rule], noun: &str) -> String {
    let mut s = String::from(header);
    let mut family = "";
    for r in entries {
        if r.family != family {
            family = r.family;
            let _ = write!(
                s,
                "\n## {family}\n\n| code | severity | {noun} |\n|---|---|---|\n"
            );
            for x in entries.iter().filter(|x| x.family == family) {
                let _ = writeln!(
                    s,
                    "| [{}](#{}) | {} | {} |",
                    x.code,
                    x.code.to_lowercase(),
                    x.severity,
                    x.title
                );
            }
        }
        let _ = write!(
            s,
            "\n### {}\n\n**{}** ({}). {}\n\nSource: {}\n",
            r.code, r.title, r.severity, r.rationale, r.source
        );
    }
    s
}

/// Fails when the generated document `path` (relative to the crate) differs from `want`;
/// with `FISKAL_UPDATE_DOCS` set it writes `want` instead. `test` names the calling test for
/// the message. Every catalog's "docs are current" test goes through here.
#[cfg(test)]
pub(crate) fn assert_generated_doc(path: &str, want: &str, test: &str) {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let have = std::fs::read_to_string(&full).unwrap_or_default();
    if have != want {
        if std::env::var_os("FISKAL_UPDATE_DOCS").is_some() {
            std::fs::write(&full, want).unwrap();
        } else {
            panic!("{path} is out of date: run `FISKAL_UPDATE_DOCS=1 cargo test {test}`");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for r in RULES {
            assert!(seen.insert(r.code), "duplicate code {}", r.code);
            assert_eq!(r.code.len(), 6, "{}", r.code);
            assert!(
                r.code[3..].bytes().all(|b| b.is_ascii_digit()),
                "{}",
                r.code
            );
            assert!(
                !r.rationale.is_empty() && !r.source.is_empty(),
                "{}",
                r.code
            );
        }
    }

    /// docs/rules.md is generated from the catalog; run with FISKAL_UPDATE_DOCS=1 to rewrite it.
    #[test]
    fn docs_rules_md_is_current() {
        assert_generated_doc("docs/rules.md", &markdown(), "docs_rules_md_is_current");
    }
}
