//! What the synthetic shops sell and how each country taxes it.
//!
//! One static table per country: VAT rates with their wire names and fiscal buckets, products
//! with plausible 2026 prices, cashiers, addresses. Keeping this data in one place makes the
//! per-country VAT sets auditable at a glance (tests compare them with what the output shows).

/// A VAT rate as it appears on the wire, with the fiscal slot it feeds.
#[derive(Debug)]
pub(crate) struct Rate {
    /// Whole percent (19 for 19 %).
    pub percent: u32,
    /// The rate as a decimal string (`"0.19"`), used by both wire shapes.
    pub wire: &'static str,
    /// Register-shape `tax.category`; in Italy the Natura code for 0 % lines.
    pub category: &'static str,
    /// v1.1 `taxes[].name`; in Italy the Natura code for 0 % lines (docs/input.md).
    pub name: &'static str,
    /// Germany: DSFinV-K Anhang I processData slot (0 = 19 %, 1 = 7 %, 4 = 0 %).
    /// Austria: RKSV amount field (0 Normal 20 %, 1 Ermaessigt-1 10 %, 2 Ermaessigt-2 13 %,
    /// 3 Null, 4 Besonders). Italy: unused.
    pub slot: usize,
}

/// A product on the shelf.
#[derive(Debug)]
pub(crate) struct Product {
    /// Receipt text.
    pub name: &'static str,
    /// Article number (`product_ref` / `sku_identifier`).
    pub sku: &'static str,
    /// Gross unit price in cents.
    pub price: i64,
    /// Index into the country's `rates`.
    pub rate: usize,
    /// Returnable-bottle deposit per unit in cents (Pfand), 0 when none.
    pub pfand: i64,
    /// Largest quantity a customer takes.
    pub max_qty: i64,
}

/// A special order paid in part up front (Anzahlung) and captured on collection.
#[derive(Debug)]
pub(crate) struct DepositOrder {
    /// The goods collected later.
    pub goods: &'static str,
    /// Their article number.
    pub sku: &'static str,
    /// Receipt text of the down payment line.
    pub deposit_text: &'static str,
    /// Receipt text of the line that offsets the down payment at collection.
    pub redeem_text: &'static str,
    /// Price range in cents.
    pub price: (i64, i64),
    /// Index into the country's `rates`: the rate of the future supply (VAT is due on the
    /// down payment at that rate; DSFinV-K GV_TYP Anzahlungseinstellung).
    pub rate: usize,
}

/// Everything country-specific the generator needs.
#[derive(Debug)]
pub(crate) struct CountryData {
    /// ISO 3166-1 alpha-2.
    pub code: &'static str,
    /// Lower-case code used in ids (`reg_de_01`).
    pub lower: &'static str,
    /// IANA time zone of the shops.
    pub time_zone: &'static str,
    /// All rates; products point into it.
    pub rates: &'static [Rate],
    /// Index of the 0 % rate used for tips and multi-purpose vouchers (not a supply).
    pub special_rate: usize,
    /// The products.
    pub products: &'static [Product],
    /// Special orders for down payments.
    pub deposit_orders: &'static [DepositOrder],
    /// Cashier display names.
    pub cashiers: &'static [&'static str],
    /// (street, postal code, city) of locations.
    pub addresses: &'static [(&'static str, &'static str, &'static str)],
    /// Merchant legal name.
    pub merchant_name: &'static str,
    /// Shop display names.
    pub shop_name: &'static str,
    /// Card schemes seen at the terminal.
    pub card_schemes: &'static [&'static str],
    /// Payment processor names for the v1.1 `processor` field.
    pub processors: &'static [&'static str],
    /// Opening and closing hour (local, whole hours) of the shops; kept within 06–22 so that
    /// local and UTC calendar dates agree for every business timestamp.
    pub hours: (u32, u32),
    /// Texts.
    pub words: &'static Words,
    /// Whether foreign-currency (CHF) cash is accepted (border regions of DE and AT).
    pub accepts_chf: bool,
}

/// Receipt and note texts in the country's language.
#[derive(Debug)]
pub(crate) struct Words {
    /// Tip line text.
    pub tip: &'static str,
    /// Multi-purpose gift card line text.
    pub gift_card: &'static str,
    /// Pfand line text.
    pub pfand: &'static str,
    /// Reasons for returns.
    pub return_reasons: &'static [&'static str],
    /// Reasons for voids.
    pub void_reasons: &'static [&'static str],
    /// Line discount labels.
    pub line_discount_labels: &'static [&'static str],
    /// Free-text receipt notes.
    pub notes: &'static [&'static str],
    /// Opening float note.
    pub float_note: &'static str,
    /// Evening bank deposit note.
    pub bank_note: &'static str,
    /// Petty-cash expense notes.
    pub expense_notes: &'static [&'static str],
    /// Private withdrawal note.
    pub withdrawal_note: &'static str,
    /// Cash adjustment notes: (cash in, cash out).
    pub adjustment_notes: (&'static str, &'static str),
    /// Notes for a cash count discrepancy.
    pub discrepancy_notes: &'static [&'static str],
    /// Note of a closing pull.
    pub closing_pull_note: &'static str,
    /// Opening note.
    pub opening_note: &'static str,
}

static DE_RATES: [Rate; 3] = [
    Rate {
        percent: 19,
        wire: "0.19",
        category: "standard",
        name: "USt 19%",
        slot: 0,
    },
    Rate {
        percent: 7,
        wire: "0.07",
        category: "reduced",
        name: "USt 7%",
        slot: 1,
    },
    Rate {
        percent: 0,
        wire: "0.00",
        category: "not_taxable",
        name: "USt 0%",
        slot: 4,
    },
];

/// DE_RATES as they were from 2020-07-01 to 2020-12-31 (Zweites Corona-Steuerhilfegesetz):
/// 16 % and 5 %, in the same DSFinV-K slots as 19 % and 7 % (dsfinvk.md §5.1).
static DE_RATES_2020: [Rate; 3] = [
    Rate {
        percent: 16,
        wire: "0.16",
        category: "standard",
        name: "USt 16%",
        slot: 0,
    },
    Rate {
        percent: 5,
        wire: "0.05",
        category: "reduced",
        name: "USt 5%",
        slot: 1,
    },
    Rate {
        percent: 0,
        wire: "0.00",
        category: "not_taxable",
        name: "USt 0%",
        slot: 4,
    },
];

/// Germany's second half of 2020, when 16 % and 5 % replaced 19 % and 7 %.
fn de_2020_cut(date: chrono::NaiveDate) -> bool {
    let from = chrono::NaiveDate::from_ymd_opt(2020, 7, 1).expect("valid date");
    let to = chrono::NaiveDate::from_ymd_opt(2020, 12, 31).expect("valid date");
    (from..=to).contains(&date)
}

/// The country's rates on `date`, indexed like `CountryData::rates` (products and orders keep
/// their index; only Germany's second half of 2020 differs).
pub(crate) fn rates_on(country: Country, date: chrono::NaiveDate) -> &'static [Rate] {
    if country == Country::De && de_2020_cut(date) {
        &DE_RATES_2020
    } else {
        country.data().rates
    }
}

static AT_RATES: [Rate; 5] = [
    Rate {
        percent: 20,
        wire: "0.20",
        category: "standard",
        name: "USt 20%",
        slot: 0,
    },
    Rate {
        percent: 10,
        wire: "0.10",
        category: "reduced",
        name: "USt 10%",
        slot: 1,
    },
    Rate {
        percent: 13,
        wire: "0.13",
        category: "reduced_2",
        name: "USt 13%",
        slot: 2,
    },
    Rate {
        percent: 0,
        wire: "0.00",
        category: "exempt",
        name: "USt 0%",
        slot: 3,
    },
    Rate {
        percent: 0,
        wire: "0.00",
        category: "not_taxable",
        name: "USt 0%",
        slot: 3,
    },
];

static IT_RATES: [Rate; 7] = [
    Rate {
        percent: 22,
        wire: "0.22",
        category: "standard",
        name: "IVA 22%",
        slot: 0,
    },
    Rate {
        percent: 10,
        wire: "0.10",
        category: "reduced",
        name: "IVA 10%",
        slot: 0,
    },
    Rate {
        percent: 5,
        wire: "0.05",
        category: "reduced",
        name: "IVA 5%",
        slot: 0,
    },
    Rate {
        percent: 4,
        wire: "0.04",
        category: "super_reduced",
        name: "IVA 4%",
        slot: 0,
    },
    // rt.md §1.3: N4 esenti (art. 10), N2 non soggette (vouchers, tips, top-ups).
    Rate {
        percent: 0,
        wire: "0.00",
        category: "N4",
        name: "N4",
        slot: 0,
    },
    Rate {
        percent: 0,
        wire: "0.00",
        category: "N2",
        name: "N2",
        slot: 0,
    },
    // Same wire values as the entry above; a separate index keeps tips and vouchers apart
    // from goods in the catalog.
    Rate {
        percent: 0,
        wire: "0.00",
        category: "N2",
        name: "N2",
        slot: 0,
    },
];

// Rates that are not valid where and when the vat-rate anomaly uses them (VAT003). Their slot
// is where the fiscal blocks put a rate they do not know: DSFinV-K counts the 2020 16 % as the
// general rate (slot 1, dsfinvk.md §5.1), RKSV puts rates outside its four fields into
// Betrag-Satz-Besonders (rksv.md §2.1).
static DE_RATE_16: Rate = Rate {
    percent: 16,
    wire: "0.16",
    category: "standard",
    name: "USt 16%",
    slot: 0,
};
static DE_RATE_12: Rate = Rate {
    percent: 12,
    wire: "0.12",
    category: "standard",
    name: "USt 12%",
    slot: 0,
};
static AT_RATE_16: Rate = Rate {
    percent: 16,
    wire: "0.16",
    category: "special",
    name: "USt 16%",
    slot: 4,
};
static IT_RATE_12: Rate = Rate {
    percent: 12,
    wire: "0.12",
    category: "reduced",
    name: "IVA 12%",
    slot: 0,
};

/// A VAT rate that `country` does not have on `date`: Germany 16 % (valid only from
/// 2020-07-01 to 2020-12-31, so 12 % inside that window), Austria 16 %, Italy 12 %.
pub(crate) fn invalid_rate(country: Country, date: chrono::NaiveDate) -> &'static Rate {
    match country {
        Country::De if de_2020_cut(date) => &DE_RATE_12,
        Country::De => &DE_RATE_16,
        Country::At => &AT_RATE_16,
        Country::It => &IT_RATE_12,
    }
}

macro_rules! products {
    ($($name:literal, $sku:literal, $price:literal, $rate:literal, $pfand:literal, $max:literal;)*) => {
        [$(Product { name: $name, sku: $sku, price: $price, rate: $rate, pfand: $pfand, max_qty: $max }),*]
    };
}

static DE_PRODUCTS: [Product; 26] = products![
    "Brötchen", "DE-BAK-001", 45, 1, 0, 8;
    "Vollkornbrot 750 g", "DE-BAK-002", 349, 1, 0, 1;
    "Butter 250 g", "DE-DAI-001", 229, 1, 0, 2;
    "Vollmilch 1 l", "DE-DAI-002", 119, 1, 0, 4;
    "Gouda jung 400 g", "DE-DAI-003", 399, 1, 0, 1;
    "Joghurt Natur 500 g", "DE-DAI-004", 89, 1, 0, 3;
    "Äpfel Elstar 1 kg", "DE-VEG-001", 249, 1, 0, 2;
    "Bananen 1 kg", "DE-VEG-002", 179, 1, 0, 1;
    "Tomaten 500 g", "DE-VEG-003", 199, 1, 0, 2;
    "Kaffee gemahlen 500 g", "DE-GRO-001", 699, 1, 0, 2;
    "Eier Freiland 10 Stk.", "DE-GRO-002", 329, 1, 0, 1;
    "Spaghetti 500 g", "DE-GRO-003", 129, 1, 0, 3;
    "Tageszeitung", "DE-PRE-001", 250, 1, 0, 1;
    "Taschenbuch Roman", "DE-PRE-002", 1400, 1, 0, 1;
    "Mineralwasser 1,5 l", "DE-BEV-001", 59, 0, 25, 6;
    "Pils 0,5 l", "DE-BEV-002", 99, 0, 8, 6;
    "Apfelschorle 1 l", "DE-BEV-003", 119, 0, 25, 4;
    "Rotwein Spätburgunder 0,75 l", "DE-BEV-004", 699, 0, 0, 2;
    "Kaffee Crema to go", "DE-CAF-001", 290, 0, 0, 2;
    "Spülmittel 500 ml", "DE-HOU-001", 149, 0, 0, 1;
    "Küchenrolle 4 Rollen", "DE-HOU-002", 299, 0, 0, 1;
    "Zahnpasta 75 ml", "DE-HOU-003", 195, 0, 0, 2;
    "Batterien AA 4 Stk.", "DE-HOU-004", 499, 0, 0, 1;
    "Duschgel 250 ml", "DE-HOU-005", 145, 0, 0, 2;
    "Blumenstrauß Tulpen", "DE-FLO-001", 599, 1, 0, 1;
    "Feuerzeug", "DE-HOU-006", 120, 0, 0, 1;
];

static AT_PRODUCTS: [Product; 25] = products![
    "Semmel", "AT-BAK-001", 39, 1, 0, 10;
    "Schwarzbrot 1 kg", "AT-BAK-002", 329, 1, 0, 1;
    "Vollmilch 1 l", "AT-DAI-001", 129, 1, 0, 4;
    "Teebutter 250 g", "AT-DAI-002", 249, 1, 0, 2;
    "Emmentaler 250 g", "AT-DAI-003", 379, 1, 0, 1;
    "Äpfel Gala 1 kg", "AT-VEG-001", 229, 1, 0, 2;
    "Erdäpfel festkochend 2 kg", "AT-VEG-002", 299, 1, 0, 1;
    "Eier Bodenhaltung 10 Stk.", "AT-GRO-001", 349, 1, 0, 1;
    "Tageszeitung", "AT-PRE-001", 220, 1, 0, 1;
    "Wiener Schnitzel", "AT-GAS-001", 1590, 1, 0, 2;
    "Mineralwasser 1,5 l", "AT-BEV-001", 69, 0, 25, 6;
    "Märzen 0,5 l", "AT-BEV-002", 119, 0, 25, 6;
    "Almdudler 0,5 l", "AT-BEV-003", 149, 0, 25, 4;
    "Grüner Veltliner 0,75 l", "AT-BEV-004", 799, 0, 0, 2;
    "Melange", "AT-CAF-001", 390, 0, 0, 2;
    "Spülmittel 500 ml", "AT-HOU-001", 159, 0, 0, 1;
    "Taschentücher 10 Pkg.", "AT-HOU-002", 189, 0, 0, 2;
    "Zahnpasta 75 ml", "AT-HOU-003", 209, 0, 0, 2;
    "Blumenstrauß Rosen", "AT-FLO-001", 1290, 2, 0, 1;
    "Zimmerpflanze Ficus", "AT-FLO-002", 990, 2, 0, 1;
    "Hundefutter 1 kg", "AT-PET-001", 499, 2, 0, 2;
    "Brennholz 15 kg", "AT-HOU-004", 890, 2, 0, 1;
    "Briefmarke Inland", "AT-POS-001", 95, 3, 0, 5;
    "Briefmarke EU", "AT-POS-002", 180, 3, 0, 3;
    "Melange to go", "AT-CAF-002", 350, 0, 0, 2;
];

static IT_PRODUCTS: [Product; 26] = products![
    "Pane casereccio 500 g", "IT-BAK-001", 240, 3, 0, 1;
    "Latte fresco 1 l", "IT-DAI-001", 169, 3, 0, 3;
    "Mozzarella di bufala 250 g", "IT-DAI-002", 389, 3, 0, 2;
    "Parmigiano Reggiano 300 g", "IT-DAI-003", 749, 3, 0, 1;
    "Spaghetti 500 g", "IT-GRO-001", 119, 3, 0, 4;
    "Olio extravergine 1 l", "IT-GRO-002", 899, 3, 0, 1;
    "Mele Golden 1 kg", "IT-VEG-001", 219, 3, 0, 2;
    "Pomodori pelati 400 g", "IT-GRO-003", 99, 3, 0, 4;
    "Cornetto", "IT-BAR-001", 130, 1, 0, 4;
    "Caffè espresso", "IT-BAR-002", 120, 1, 0, 3;
    "Cappuccino", "IT-BAR-003", 160, 1, 0, 2;
    "Tramezzino", "IT-BAR-004", 290, 1, 0, 2;
    "Zucchero 1 kg", "IT-GRO-004", 149, 1, 0, 1;
    "Uova fresche 6 pz", "IT-GRO-005", 259, 1, 0, 1;
    "Basilico fresco", "IT-VEG-002", 129, 2, 0, 2;
    "Rosmarino fresco", "IT-VEG-003", 119, 2, 0, 1;
    "Acqua minerale 1,5 l", "IT-BEV-001", 49, 0, 0, 6;
    "Vino Chianti 0,75 l", "IT-BEV-002", 890, 0, 0, 2;
    "Birra 0,33 l", "IT-BEV-003", 139, 0, 0, 6;
    "Detersivo piatti 750 ml", "IT-HOU-001", 199, 0, 0, 1;
    "Dentifricio 75 ml", "IT-HOU-002", 229, 0, 0, 2;
    "Pile AA 4 pz", "IT-HOU-003", 549, 0, 0, 1;
    "Gratta e Vinci", "IT-LOT-001", 500, 4, 0, 2;
    "Francobollo posta ordinaria", "IT-POS-001", 125, 4, 0, 4;
    "Ricarica telefonica 10 EUR", "IT-TEL-001", 1000, 5, 0, 1;
    "Ricarica telefonica 20 EUR", "IT-TEL-002", 2000, 5, 0, 1;
];

static DE_ORDERS: [DepositOrder; 2] = [
    DepositOrder {
        goods: "Hochzeitstorte 3-stöckig",
        sku: "DE-ORD-001",
        deposit_text: "Anzahlung Hochzeitstorte",
        redeem_text: "Verrechnung Anzahlung",
        price: (18_000, 32_000),
        rate: 1,
    },
    DepositOrder {
        goods: "Präsentkorb Feinkost",
        sku: "DE-ORD-002",
        deposit_text: "Anzahlung Präsentkorb",
        redeem_text: "Verrechnung Anzahlung",
        price: (6_000, 15_000),
        rate: 0,
    },
];

static AT_ORDERS: [DepositOrder; 2] = [
    DepositOrder {
        goods: "Hochzeitstorte Sacher",
        sku: "AT-ORD-001",
        deposit_text: "Anzahlung Hochzeitstorte",
        redeem_text: "Verrechnung Anzahlung",
        price: (16_000, 30_000),
        rate: 1,
    },
    DepositOrder {
        goods: "Geschenkkorb Delikatessen",
        sku: "AT-ORD-002",
        deposit_text: "Anzahlung Geschenkkorb",
        redeem_text: "Verrechnung Anzahlung",
        price: (5_000, 14_000),
        rate: 0,
    },
];

static IT_ORDERS: [DepositOrder; 2] = [
    DepositOrder {
        goods: "Torta nuziale",
        sku: "IT-ORD-001",
        deposit_text: "Acconto torta nuziale",
        redeem_text: "Storno acconto",
        price: (15_000, 28_000),
        rate: 1,
    },
    DepositOrder {
        goods: "Cesto regalo gastronomia",
        sku: "IT-ORD-002",
        deposit_text: "Acconto cesto regalo",
        redeem_text: "Storno acconto",
        price: (5_000, 12_000),
        rate: 0,
    },
];

static DE_WORDS: Words = Words {
    tip: "Trinkgeld",
    gift_card: "Geschenkgutschein",
    pfand: "Pfand",
    return_reasons: &["Artikel defekt", "Kunde unzufrieden", "Falscher Artikel"],
    void_reasons: &["Fehlbuchung", "Falscher Preis", "Kunde hat abgebrochen"],
    line_discount_labels: &["MHD-Rabatt", "Aktion", "Mitarbeiterrabatt"],
    notes: &[
        "Lieferung morgen",
        "Kunde zahlt passend",
        "Rechnung gewünscht",
    ],
    float_note: "Wechselgeld Kassenstart",
    bank_note: "Einzahlung Bank",
    expense_notes: &["Briefmarken", "Reinigungsmittel", "Büromaterial"],
    withdrawal_note: "Privatentnahme Inhaber",
    adjustment_notes: ("Wechselgeld nachgefüllt", "Abschöpfung in Tresor"),
    discrepancy_notes: &[
        "Wechselgeld falsch herausgegeben",
        "Münzrolle fehlt",
        "Zählfehler",
    ],
    closing_pull_note: "Abschöpfung Tresor",
    opening_note: "Kassenstart",
};

static AT_WORDS: Words = Words {
    tip: "Trinkgeld",
    gift_card: "Geschenkgutschein",
    pfand: "Pfand",
    return_reasons: &["Ware beschädigt", "Kunde unzufrieden", "Umtausch"],
    void_reasons: &["Fehlbuchung", "Falscher Preis", "Storno auf Kundenwunsch"],
    line_discount_labels: &["Abverkauf", "Aktion", "Personalrabatt"],
    notes: &["Zustellung vereinbart", "Rechnung erbeten", "Stammkunde"],
    float_note: "Wechselgeld Kassenstart",
    bank_note: "Einzahlung Bank",
    expense_notes: &["Porto", "Putzmittel", "Büromaterial"],
    withdrawal_note: "Privatentnahme",
    adjustment_notes: ("Wechselgeld nachgefüllt", "Abschöpfung in Tresor"),
    discrepancy_notes: &["Rückgeld falsch", "Münzen fehlen", "Zählfehler"],
    closing_pull_note: "Abschöpfung Tresor",
    opening_note: "Kassenöffnung",
};

static IT_WORDS: Words = Words {
    tip: "Mancia",
    gift_card: "Carta regalo",
    pfand: "Cauzione",
    return_reasons: &["Merce difettosa", "Reso cliente", "Articolo errato"],
    void_reasons: &[
        "Errore di battitura",
        "Prezzo errato",
        "Annullato su richiesta",
    ],
    line_discount_labels: &["Sconto scadenza", "Promozione", "Sconto dipendente"],
    notes: &[
        "Consegna a domicilio",
        "Cliente abituale",
        "Fattura richiesta",
    ],
    float_note: "Fondo cassa",
    bank_note: "Versamento in banca",
    expense_notes: &["Francobolli", "Prodotti pulizia", "Cancelleria"],
    withdrawal_note: "Prelievo titolare",
    adjustment_notes: ("Integrazione fondo cassa", "Prelievo in cassaforte"),
    discrepancy_notes: &["Resto errato", "Monete mancanti", "Errore di conteggio"],
    closing_pull_note: "Prelievo in cassaforte",
    opening_note: "Apertura cassa",
};

static DE: CountryData = CountryData {
    code: "DE",
    lower: "de",
    time_zone: "Europe/Berlin",
    rates: &DE_RATES,
    special_rate: 2,
    products: &DE_PRODUCTS,
    deposit_orders: &DE_ORDERS,
    cashiers: &["Maria R.", "Jonas K.", "Aylin Y.", "Peter S."],
    addresses: &[
        ("Kastanienallee 12", "10435", "Berlin"),
        ("Schanzenstraße 41", "20357", "Hamburg"),
        ("Leopoldstraße 88", "80802", "München"),
        ("Ehrenstraße 7", "50672", "Köln"),
        ("Karl-Liebknecht-Straße 30", "04107", "Leipzig"),
    ],
    merchant_name: "Beispiel Markt GmbH",
    shop_name: "Beispiel Markt",
    card_schemes: &["girocard", "visa", "mastercard", "maestro"],
    processors: &["sumup", "adyen", "payone"],
    hours: (8, 20),
    words: &DE_WORDS,
    accepts_chf: true,
};

static AT: CountryData = CountryData {
    code: "AT",
    lower: "at",
    time_zone: "Europe/Vienna",
    rates: &AT_RATES,
    special_rate: 4,
    products: &AT_PRODUCTS,
    deposit_orders: &AT_ORDERS,
    cashiers: &["Lukas H.", "Sophie B.", "Anna W."],
    addresses: &[
        ("Neubaugasse 25", "1070", "Wien"),
        ("Herrengasse 9", "8010", "Graz"),
        ("Landstraße 44", "4020", "Linz"),
        ("Getreidegasse 15", "5020", "Salzburg"),
        ("Maria-Theresien-Straße 3", "6020", "Innsbruck"),
    ],
    merchant_name: "Musterhandel GmbH",
    shop_name: "Musterhandel",
    card_schemes: &["maestro", "visa", "mastercard"],
    processors: &["hobex", "adyen", "sumup"],
    hours: (7, 19),
    words: &AT_WORDS,
    accepts_chf: true,
};

static IT: CountryData = CountryData {
    code: "IT",
    lower: "it",
    time_zone: "Europe/Rome",
    rates: &IT_RATES,
    special_rate: 6,
    products: &IT_PRODUCTS,
    deposit_orders: &IT_ORDERS,
    cashiers: &["Giulia R.", "Marco B.", "Francesca L."],
    addresses: &[
        ("Via Torino 21", "20123", "Milano"),
        ("Via del Corso 112", "00186", "Roma"),
        ("Via Garibaldi 8", "10122", "Torino"),
        ("Via dell'Indipendenza 40", "40121", "Bologna"),
        ("Via dei Calzaiuoli 5", "50122", "Firenze"),
    ],
    merchant_name: "Alimentari Rossi di Mario Rossi",
    shop_name: "Alimentari Rossi",
    card_schemes: &["bancomat", "visa", "mastercard"],
    processors: &["nexi", "satispay", "sumup"],
    hours: (8, 20),
    words: &IT_WORDS,
    accepts_chf: false,
};

/// The three fiscal countries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Country {
    /// Germany, KassenSichV (TSE).
    De,
    /// Austria, RKSV.
    At,
    /// Italy, RT.
    It,
}

impl Country {
    /// The country's static data.
    pub(crate) fn data(self) -> &'static CountryData {
        match self {
            Country::De => &DE,
            Country::At => &AT,
            Country::It => &IT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_point_at_supply_rates_only() {
        for c in [Country::De, Country::At, Country::It] {
            let d = c.data();
            for p in d.products {
                assert!(p.rate < d.rates.len(), "{}", p.name);
                assert_ne!(
                    p.rate, d.special_rate,
                    "{}: tips/vouchers rate is not for goods",
                    p.name
                );
                assert!(p.price > 0 && p.max_qty >= 1);
            }
            for o in d.deposit_orders {
                assert!(d.rates[o.rate].percent > 0);
            }
            // Shops never open before 06:00 or close after 22:00 local (see `hours`).
            assert!(d.hours.0 >= 6 && d.hours.1 <= 21);
        }
    }
}
