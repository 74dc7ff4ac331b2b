"""Writes a register-shape operation history as DSFinV-K with the PyPI `dsfinvk` package.

The comparison side of bench/dsfinvk_vs_pypi.sh. It reads the same NDJSON files `fiskal export
dsfinvk` reads and writes, per register, the Einzelaufzeichnung tables that carry the history
(transactions, transactions_vat, lines, lines_vat, datapayment, transactions_tse) with one
closing per business day (UTC date). That is less than fiskal writes (fiskal also writes the
master-data and closing tables and aggregates), so the measured ratio understates fiskal's
advantage rather than overstating it.

Usage: python pypi_dsfinvk_writer.py IN_DIR OUT_DIR INDEX_XML DTD
"""

import json
import os
import sys
from datetime import datetime
from decimal import Decimal

from dsfinvk.collection import Collection
from dsfinvk.models import (
    Bonkopf,
    Bonkopf_USt,
    Bonkopf_Zahlarten,
    Bonpos,
    Bonpos_USt,
    TSE_Transaktionen,
)

UST = {"0.19": 1, "0.07": 2, "0.16": 21, "0.05": 22}


def cents(v):
    return Decimal(v) / 100


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def export_register(path, out_dir, index_xml, dtd):
    coll = Collection()
    day_numbers = {}
    register = None
    for line in open(path, encoding="utf-8"):
        op = json.loads(line)
        register = op["register_id"]
        fiscal = op.get("fiscal") or {}
        if fiscal.get("regime") != "tse" or op["state"] == "open":
            continue
        day = op["created_at"][:10]
        z_nr = day_numbers.setdefault(day, len(day_numbers) + 1)
        z_time = datetime.fromisoformat(day + "T23:59:59+00:00")
        key = dict(Z_KASSE_ID=register, Z_ERSTELLUNG=z_time, Z_NR=z_nr, BON_ID=op["id"])
        data = op.get("data") or {}
        sign = -1 if op["type"] == "refund" else 1
        lines = data.get("line_items") or data.get("new_line_items") or []
        gross = sum(l["total_gross"] for l in lines) * sign
        if op["type"] == "cash_movement":
            gross = data.get("amount", 0)
        coll.add(Bonkopf(
            BON_NR=op.get("sequence_number", 0),
            BON_TYP=fiscal.get("document_type", "Beleg"),
            BON_START=ts(op["created_at"]),
            BON_ENDE=ts(op.get("completed_at") or op["created_at"]),
            BEDIENER_ID=(op.get("cashier") or {}).get("id", ""),
            UMS_BRUTTO=cents(gross),
            **key,
        ))
        per_key = {}
        for i, l in enumerate(lines, 1):
            tax = l["tax"]
            k = UST.get(tax["rate"], 5)
            g = cents(l["total_gross"] * sign)
            n = cents(l.get("total_net", l["total_gross"]) * sign)
            coll.add(Bonpos(
                POS_ZEILE=str(i),
                ARTIKELTEXT=l["description"],
                GV_TYP="Umsatz",
                ART_NR=l.get("product_ref", ""),
                MENGE=Decimal(l["quantity"]) * sign,
                STK_BR=cents(l["unit_price_gross"]),
                **key,
            ))
            coll.add(Bonpos_USt(POS_ZEILE=str(i), UST_SCHLUESSEL=k, POS_BRUTTO=g,
                                POS_NETTO=n, POS_UST=g - n, **key))
            b = per_key.setdefault(k, [Decimal(0), Decimal(0)])
            b[0] += g
            b[1] += n
        for k, (g, n) in sorted(per_key.items()):
            coll.add(Bonkopf_USt(UST_SCHLUESSEL=k, BON_BRUTTO=g, BON_NETTO=n, BON_UST=g - n, **key))
        for p in data.get("payments") or []:
            amount = cents(p["amount"]) * (-1 if p["direction"] == "outbound" else 1)
            coll.add(Bonkopf_Zahlarten(
                ZAHLART_TYP="Bar" if p["method"] == "cash" else "Unbar",
                ZAHLART_NAME=p["method"],
                ZAHLWAEH_CODE=p.get("currency", "EUR"),
                BASISWAEH_BETRAG=amount,
                **key,
            ))
        end = fiscal.get("end_event") or {}
        qr = ((fiscal.get("verification") or {}).get("qr_data") or "").split(";")
        if end and len(qr) == 12:
            coll.add(TSE_Transaktionen(
                TSE_ID=1,
                TSE_TANR=end["transaction_counter"],
                TSE_TA_START=qr[6],
                TSE_TA_ENDE=qr[7],
                TSE_TA_VORGANGSART=end.get("process_type", ""),
                TSE_TA_SIGZ=int(qr[5]),
                TSE_TA_SIG=end.get("signature", ""),
                TSE_VORGANGSDATEN=end.get("process_data", ""),
                **key,
            ))
    if register is not None:
        coll.write(os.path.join(out_dir, register + ".zip"), index_xml, dtd)


def main():
    in_dir, out_dir, index_xml, dtd = sys.argv[1:5]
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(os.listdir(in_dir)):
        if name.endswith(".ndjson"):
            export_register(os.path.join(in_dir, name), out_dir, index_xml, dtd)


if __name__ == "__main__":
    main()
