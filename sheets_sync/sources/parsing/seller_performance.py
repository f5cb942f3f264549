"""GET_V2_SELLER_PERFORMANCE_REPORT JSON (SP-API): one batch per marketplace."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np

from ...errors import ReportFormatError
from ...frames import MARKETPLACE_BY_ID, RawReport, ReportBatch
from .cells import _date_or_none, _float
from .registry import json_layout, kinds

kinds(seller_performance="health")
def _seller_performance(raw: RawReport, doc: dict) -> list[ReportBatch]:
    metrics = doc.get("performanceMetrics")
    if not isinstance(metrics, list) or not metrics:
        raise ReportFormatError(raw.name, "GET_V2_SELLER_PERFORMANCE_REPORT without performanceMetrics entries; "
                                "expected one object per marketplace")
    statuses = {str(s.get("marketplaceId")): s.get("status") for s in doc.get("accountStatuses") or []
                if isinstance(s, dict)}
    out = []
    for pm in metrics:
        if not isinstance(pm, dict):
            continue
        mp_id = str(pm.get("marketplaceId", ""))
        marketplace = MARKETPLACE_BY_ID.get(mp_id)
        notes: list[str] = []
        if marketplace is None:
            shown = repr(mp_id) if re.fullmatch(r"[A-Z0-9]{8,20}", mp_id) else "(not a marketplace id)"
            notes.append(f"marketplaceId {shown} is not US/MX")
        health, more = _health_of(pm, notes)
        froms = [v["from"] for v in health.values() if v.get("from")]
        tos = [v["to"] for v in health.values() if v.get("to")]
        ahr = pm.get("accountHealthRating") or {}
        extras = {"format": "json", "marketplace_id": mp_id, "account_status": statuses.get(mp_id),
                  "ahr_status": ahr.get("ahrStatus", ahr.get("accountHealthRatingStatus")) if isinstance(ahr, dict)
                  else None, "health_more": more}
        out.append(ReportBatch(source=raw.name, kind="seller_performance", family="health", marketplace=marketplace,
                               currency=None, start=min(froms) if froms else None, end=max(tos) if tos else None,
                               health=health, extras=extras, warnings=notes))
    if not out:
        raise ReportFormatError(raw.name, "performanceMetrics has no objects; expected one per marketplace")
    return out


def _window(obj: dict) -> tuple[dt.date | None, dt.date | None]:
    r = obj.get("reportingDateRange") or {}
    if not isinstance(r, dict):
        return None, None
    return _date_or_none(r.get("reportingDateFrom")), _date_or_none(r.get("reportingDateTo"))


def _rate_entry(rate: Any, count: Any, orders: Any, start: Any, end: Any, notes: list[str], label: str) -> dict:
    r, c, n = _float(rate), _float(count), _float(orders)
    if np.isnan(r) and not np.isnan(c) and not np.isnan(n) and n > 0:
        r = c / n
    if not np.isnan(r) and r > 1.0:
        notes.append(f"{label}: rate {r} above 1 read as a percentage")
        r = r / 100.0
    return {"rate": None if np.isnan(r) else float(r), "count": None if np.isnan(c) else int(c),
            "orders": None if np.isnan(n) else int(n), "from": start, "to": end}


def _health_of(pm: dict, notes: list[str]) -> tuple[dict, dict]:
    health: dict[str, dict] = {}
    more: dict[str, dict] = {}
    odr = pm.get("orderDefectRate") or {}
    parts = [odr[k] for k in ("afn", "mfn") if isinstance(odr, dict) and isinstance(odr.get(k), dict)]
    if parts:
        orders = sum(_float(p.get("orderCount")) if not np.isnan(_float(p.get("orderCount"))) else 0.0 for p in parts)

        def total(key: str) -> float:
            return sum(_float((p.get(key) or {}).get("count")) if isinstance(p.get(key), dict)
                       and not np.isnan(_float(p[key].get("count"))) else 0.0 for p in parts)

        wins = [_window(p) for p in parts]
        start = min((w[0] for w in wins if w[0]), default=None)
        end = max((w[1] for w in wins if w[1]), default=None)
        if orders > 0:
            odr_rate: Any = total("orderWithDefects") / orders
        else:      # no counts: the reported rates, averaged
            rates = [_float(p.get("rate")) for p in parts if not np.isnan(_float(p.get("rate")))]
            odr_rate = sum(rates) / len(rates) if rates else None
        health["odr"] = _rate_entry(odr_rate, total("orderWithDefects"), orders, start, end, notes, "odr")
        health["a_to_z_rate"] = _rate_entry(total("claims") / orders if orders > 0 else None, total("claims"), orders,
                                            start, end, notes, "a_to_z_rate")
        more["chargeback_rate"] = _rate_entry(total("chargebacks") / orders if orders > 0 else None,
                                              total("chargebacks"), orders, start, end, notes, "chargeback_rate")
        more["negative_feedback_rate"] = _rate_entry(
            total("negativeFeedback") / orders if orders > 0 else None, total("negativeFeedback"), orders, start, end,
            notes, "negative_feedback_rate")
    specs = (
        ("late_shipment_rate", ("lateShipmentRate",), "lateShipmentCount", "orderCount", health),
        ("cancel_rate", ("preFulfillmentCancellationRate", "prefulfillmentCancelRate"), "cancellationCount",
         "orderCount", health),
        ("valid_tracking_rate", ("validTrackingRate",), "validTrackingCount", "shipmentCount", health),
        ("on_time_delivery_rate", ("onTimeDeliveryRate",), "onTimeDeliveryCount", "shipmentCountWithValidTracking",
         more),
        ("invoice_defect_rate", ("invoiceDefectRate",), None, "orderCount", more),
    )
    for label, keys, count_key, orders_key, target in specs:
        obj = next((pm[k] for k in keys if isinstance(pm.get(k), dict)), None)
        if obj is None:
            continue
        start, end = _window(obj)
        count = obj.get(count_key) if count_key else None
        if label == "invoice_defect_rate" and isinstance(obj.get("invoiceDefect"), dict):
            count = obj["invoiceDefect"].get("count")
        target[label] = _rate_entry(obj.get("rate"), count, obj.get(orders_key), start, end, notes, label)
    missing = [k for k in ("odr", "late_shipment_rate", "cancel_rate", "valid_tracking_rate") if k not in health]
    if missing:
        notes.append(f"not in the report: {', '.join(missing)}")
    return health, more


@json_layout(order=20)
def recognise(raw: RawReport, doc: Any) -> list[ReportBatch] | None:
    if isinstance(doc, dict) and "performanceMetrics" in doc:
        return _seller_performance(raw, doc)
    return None
