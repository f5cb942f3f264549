"""What people type in the team tabs, in any of the three languages, → the canonical (contract) word.

``转化率``, ``Tasa de conversión``, ``CVR`` and ``cvr`` are all the KPI ``cvr``; ``全店`` and ``cuenta`` are the
scope ``account``; ``越低越好`` and ``menos es mejor`` are the direction ``lower``; ``墨西哥`` and ``México`` are
``MX``. The words come from the KPI catalogue (:mod:`sheets_sync.kpis`) and the label catalogues the generated
tabs are shown with (``sheets_sync/i18n/labels_*.yaml``), plus the synonyms below, so what the review shows
can always be typed back.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import Any

from .i18n import LANGUAGES
from .kpis import CATALOG

# Domain → canonical word → other words people type for it (any case; accents optional).
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "scope": {"account": ("账户", "账号", "店铺", "整店", "全店", "cuenta", "tienda"),
              "tier": ("层级", "产品层级", "nivel", "etapa", "etapa del producto"),
              "category": ("类目", "品类", "分类", "categoria", "categoría"),
              "owner": ("负责人", "responsable"), "asin": ("asin",), "sku": ("sku",),
              "portfolio": ("广告组合", "cartera", "portafolio", "portfolio"),
              "campaign": ("广告活动", "campaña", "campana", "campaign"),
              "ad_group": ("广告组", "grupo de anuncios", "ad group", "adgroup", "ad-group"),
              "agent": ("客服人员", "客服个人", "客服专员", "agente", "asesor", "ejecutivo")},
    "direction": {"higher": ("越高越好", "高", "越大越好", "上升", "mas es mejor", "más es mejor", "mayor", "subir",
                             "alto"),
                  "lower": ("越低越好", "低", "越小越好", "下降", "menos es mejor", "menor", "bajar", "bajo")},
    "role": {"ops": ("运营", "operaciones", "operacion", "operación"),
             "ads": ("广告", "广告投放", "publicidad", "anuncios", "ppc"),
             "cs": ("客服", "atencion al cliente", "atención al cliente", "servicio al cliente", "soporte"),
             "warehouse": ("仓储", "仓储物流", "物流", "仓库", "almacen", "almacén", "logistica", "logística"),
             "manager": ("主管", "经理", "负责人", "gerente", "jefe", "director")},
    "marketplace": {"US": ("美国", "美国站", "usa", "eeuu", "ee. uu.", "ee.uu.", "estados unidos", "amazon.com"),
                    "MX": ("墨西哥", "墨西哥站", "mexico", "méxico", "amazon.com.mx"),
                    "MLM": ("美客多", "美客多墨西哥", "美客多墨西哥站", "mercado libre", "mercadolibre",
                            "mercado libre mexico", "mercado libre méxico", "meli"),
                    "WMUS": ("沃尔玛", "沃尔玛美国", "沃尔玛美国站", "walmart", "walmart us", "walmart.com",
                             "walmart eeuu", "walmart estados unidos"),
                    "WMMX": ("沃尔玛墨西哥", "沃尔玛墨西哥站", "walmart mx", "walmart mexico", "walmart méxico",
                             "walmart.com.mx"),
                    "US-ALL": ("美国全部", "美国全渠道", "美国所有店铺", "us all", "us-all", "eeuu todo",
                               "estados unidos todo", "todo eeuu", "todo estados unidos"),
                    "MX-ALL": ("墨西哥全部", "墨西哥全渠道", "墨西哥两个店铺", "墨西哥所有店铺", "mx all", "mx-all",
                               "mexico todo", "méxico todo", "todo mexico", "todo méxico"),
                    "ALL": ("全部", "全部站点", "所有", "所有站点", "todos", "todas", "todo")},
    "tier": {"new": ("新品", "nuevo", "nuevos", "lanzamiento"),
             "mature": ("成熟品", "成熟", "老品", "consolidado", "maduro", "maduros"),
             "clearance": ("清仓", "清货", "liquidacion", "liquidación")},
    "gmv_tax": {"exclude": ("不含税", "sin iva", "sin impuestos", "excluir"),
                "include": ("含税", "con iva", "con impuestos", "incluir")},
    "gmv_refunds": {"gross": ("不扣除", "不扣退款", "brutos", "bruto"), "net": ("扣除", "扣除退款", "netos", "neto")},
}
# Label-catalogue prefixes that name the same domains (the review shows these words; they can be typed back).
_LABEL_DOMAINS = {"scope": "scope", "direction": "direction", "role": "role", "tier": "tier",
                  "marketplace": "marketplace"}


def _norm(text: Any) -> str:
    s = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return re.sub(r"\s+", " ", s)


def _plain(text: str) -> str:
    """Without accents: ``categoría`` → ``categoria``."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")


@cache
def _table(domain: str) -> dict[str, str]:
    from .localize import labels

    out: dict[str, str] = {}

    def add(word: str, canonical: str) -> None:
        for w in {_norm(word), _plain(_norm(word))}:
            if w:
                out.setdefault(w, canonical)

    for canonical, words in SYNONYMS.get(domain, {}).items():
        add(canonical, canonical)
        for w in words:
            add(w, canonical)
    for lang in LANGUAGES:
        for key, text in labels(lang).items():
            prefix, _, name = key.partition(".")
            if _LABEL_DOMAINS.get(prefix) == domain and "{" not in text:
                canonical = {"all": "ALL"}.get(name, name)
                add(text, canonical)
    return out


def normalise_language(value: Any) -> str | None:
    """``zh`` / ``zh-CN`` / ``中文`` / ``Chinese`` → ``zh`` (and es, en alike); None when not a language."""
    s = str(value or "").strip().lower().replace("_", "-")
    if not s:
        return None
    aliases = {"zh": ("zh", "中文", "chinese", "简体中文", "汉语", "cn", "chino"),
               "es": ("es", "español", "espanol", "spanish", "西班牙语"),
               "en": ("en", "english", "英文", "英语", "inglés", "ingles")}
    base = s.split("-")[0]
    for lang, words in aliases.items():
        if s in words or base in words:
            return lang
    return None


def canonical(domain: str, text: Any) -> str:
    """The canonical word for ``text`` in ``domain``; the text lower-cased (upper-cased for marketplaces) when
    it is none of the known words, so the caller's own check reports it."""
    if type(text) is str:        # 20,000 Targets rows hold a few dozen distinct words: each is looked up once
        return _canonical_text(domain, text)
    return _canonical(domain, text)


@lru_cache(maxsize=4096)
def _canonical_text(domain: str, text: str) -> str:
    return _canonical(domain, text)


def _canonical(domain: str, text: Any) -> str:
    s = _norm(text)
    hit = _table(domain).get(s) or _table(domain).get(_plain(s))
    if hit:
        return hit
    return s.upper() if domain == "marketplace" else s


@cache
def _kpis() -> dict[str, str]:
    out: dict[str, str] = {}
    for key, k in CATALOG.items():
        names = {key, key.replace("_", " "), k.zh, k.es}
        for name in list(names):
            names.add(re.sub(r"\s*[(（].*?[)）]\s*", " ", name).strip())   # 清关时效 (MX) → 清关时效
        for name in names:
            for w in {_norm(name), _plain(_norm(name))}:
                if w:
                    out.setdefault(w, key)
    return out


def kpi_key(text: Any) -> str:
    """The KPI key for a key or any of its labels (``转化率`` → ``cvr``); the lower-cased text when unknown."""
    s = _norm(text)
    return _kpis().get(s) or _kpis().get(_plain(s)) or s


__all__ = ["SYNONYMS", "canonical", "kpi_key", "normalise_language"]
