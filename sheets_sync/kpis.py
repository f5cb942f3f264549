"""The KPI catalog (docs/workbook.md, "KPI catalog") as data.

``num``/``den`` name base metrics (see :mod:`sheets_sync.frames`); a KPI with ``den`` is a ratio of sums,
one without is a sum. ``special`` KPIs (inventory, margin, health, manual) are computed by name in
:mod:`sheets_sync.compute.actuals`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kpi:
    key: str
    zh: str
    es: str
    direction: str          # "higher" / "lower"
    kind: str               # outcome / process / cx / inventory / compliance
    controls: tuple[str, ...]
    scope: str = "any"      # "any" or "account"
    num: str | None = None
    den: str | None = None
    unit: str = "count"     # money / count / percent / ratio / days / flag / hours / rank / number
    special: str | None = None   # "inventory", "margin", "health", "manual"
    fbm_only: bool = False

    @property
    def additive(self) -> bool:
        """Sums that grow with the days of the period, so they are paced."""
        return self.den is None and self.special is None

    @property
    def is_percent(self) -> bool:
        return self.unit == "percent"


def _k(key, zh, es, direction, kind, controls, **kw) -> Kpi:
    return Kpi(key, zh, es, direction, kind, tuple(controls.split()), **kw)


CATALOG: dict[str, Kpi] = {k.key: k for k in [
    _k("gmv", "销售额", "Ventas (GMV)", "higher", "outcome", "ops manager", num="gmv", unit="money"),
    _k("units", "销量", "Unidades", "higher", "outcome", "ops", num="units"),
    _k("orders", "订单量", "Pedidos", "higher", "outcome", "ops", num="orders"),
    _k("aov", "客单价", "Ticket promedio", "higher", "outcome", "ops", num="gmv", den="orders", unit="money"),
    _k("sessions", "流量", "Sesiones", "higher", "process", "ops ads", num="sessions"),
    _k("cvr", "转化率", "Tasa de conversión", "higher", "process", "ops", num="units", den="sessions", unit="percent"),
    _k("buy_box_pct", "购物车占有率", "% de Buy Box", "higher", "process", "ops",
       num="buy_box_views", den="page_views", unit="percent"),
    _k("ad_spend", "广告花费", "Gasto en publicidad", "lower", "process", "ads", num="ad_spend", unit="money"),
    _k("ad_sales", "广告销售额", "Ventas por publicidad", "higher", "outcome", "ads", num="ad_sales", unit="money"),
    _k("acos", "ACoS", "ACoS", "lower", "process", "ads", num="ad_spend", den="ad_sales", unit="percent"),
    _k("roas", "ROAS", "ROAS", "higher", "process", "ads", num="ad_sales", den="ad_spend", unit="ratio"),
    _k("tacos", "TACoS", "TACoS", "lower", "process", "ads manager", num="ad_spend", den="gmv", unit="percent"),
    _k("cpc", "CPC", "CPC", "lower", "process", "ads", num="ad_spend", den="ad_clicks", unit="money"),
    _k("ctr", "点击率", "CTR", "higher", "process", "ads", num="ad_clicks", den="ad_impressions", unit="percent"),
    _k("ad_impressions", "广告曝光", "Impresiones de anuncios", "higher", "process", "ads", num="ad_impressions"),
    _k("ad_clicks", "广告点击量", "Clics en anuncios", "higher", "process", "ads", num="ad_clicks"),
    _k("ad_orders", "广告订单量", "Pedidos por publicidad", "higher", "outcome", "ads", num="ad_orders"),
    _k("ad_units", "广告销量", "Unidades por publicidad", "higher", "outcome", "ads", num="ad_units"),
    _k("ad_cvr", "广告转化率", "Tasa de conversión de anuncios", "higher", "process", "ads",
       num="ad_orders", den="ad_clicks", unit="percent"),
    _k("return_rate", "退货率", "Tasa de devoluciones", "lower", "cx", "ops cs",
       num="units_returned", den="units", unit="percent"),
    _k("refund_rate", "退款率", "Tasa de reembolsos", "lower", "cx", "ops cs",
       num="units_refunded", den="units", unit="percent"),
    _k("fba_share", "Prime/FBA 覆盖率", "Participación FBA", "higher", "process", "warehouse ops",
       num="fba_units", den="order_units", unit="percent"),
    _k("days_of_cover", "库存可售天数", "Días de inventario", "lower", "inventory", "warehouse ops",
       unit="days", special="inventory"),
    _k("stockout_asins", "断货 ASIN 数", "ASIN sin stock", "lower", "inventory", "warehouse ops",
       unit="count", special="inventory"),
    _k("inventory_turnover", "库存周转率", "Rotación de inventario", "higher", "inventory", "warehouse ops",
       unit="ratio", special="inventory"),
    _k("net_margin", "净利润率", "Margen neto", "higher", "outcome", "manager ops", unit="percent", special="margin"),
    _k("unit_logistics_cost", "单位物流成本", "Costo logístico unitario", "lower", "outcome", "warehouse",
       unit="money", special="margin"),
    _k("odr", "订单缺陷率", "Tasa de defectos (ODR)", "lower", "cx", "cs", scope="account", unit="percent",
       special="health"),
    _k("a_to_z_rate", "A-to-Z 纠纷率", "Tasa de reclamos A-to-Z", "lower", "cx", "cs", scope="account",
       unit="percent", special="health"),
    _k("late_shipment_rate", "迟发率", "Tasa de envíos tardíos", "lower", "cx", "warehouse", scope="account",
       unit="percent", special="health", fbm_only=True),
    _k("cancel_rate", "取消率", "Tasa de cancelación", "lower", "cx", "warehouse", scope="account",
       unit="percent", special="health", fbm_only=True),
    _k("valid_tracking_rate", "有效追踪率", "Tasa de seguimiento válido", "higher", "cx", "warehouse", scope="account",
       unit="percent", special="health", fbm_only=True),
    # Mercado Libre México (sheets_sync/stores.py says which store has which KPI).
    _k("avg_price", "平均售价", "Precio promedio", "higher", "outcome", "ops", num="gmv", den="units", unit="money"),
    _k("visits", "美客多访问量", "Visitas", "higher", "process", "ops ads", num="visits"),
    _k("visit_conversion", "美客多访问转化率", "Conversión de visitas", "higher", "process", "ops",
       num="orders", den="visits", unit="percent"),
    _k("full_share", "美客多 Full 发货占比", "Participación Full", "higher", "process", "warehouse ops",
       num="full_units", den="units", unit="percent"),
    _k("ml_claims_rate", "美客多投诉率", "Tasa de reclamos", "lower", "cx", "cs", scope="account",
       unit="percent", special="health"),
    _k("ml_cancellations_rate", "美客多取消率", "Tasa de cancelaciones", "lower", "cx", "warehouse ops",
       scope="account", unit="percent", special="health"),
    _k("ml_delayed_handling_rate", "美客多延迟发货率", "Despachos con demora", "lower", "cx", "warehouse",
       scope="account", unit="percent", special="health"),
    _k("ml_reputation_level", "美客多信誉等级", "Nivel de reputación (color)", "higher", "cx", "cs ops manager",
       scope="account", unit="number", special="health"),
    _k("mercadolider_level", "MercadoLíder 等级", "Nivel MercadoLíder", "higher", "cx", "manager ops",
       scope="account", unit="number", special="health"),
    # Walmart (sheets_sync/stores.py says which marketplace has which KPI).
    _k("wfs_share", "WFS 覆盖率", "Participación WFS", "higher", "process", "warehouse ops",
       num="fba_units", den="order_units", unit="percent"),
    _k("page_views", "页面浏览量", "Vistas de página", "higher", "process", "ops ads", num="page_views"),
    _k("page_view_conversion", "浏览转化率", "Conversión de vistas", "higher", "process", "ops",
       num="units", den="page_views", unit="percent"),
    _k("wm_on_time_delivery_rate", "沃尔玛准时送达率", "Entregas a tiempo (Walmart)", "higher", "cx", "warehouse",
       scope="account", unit="percent", special="health"),
    _k("wm_valid_tracking_rate", "沃尔玛有效追踪率", "Seguimiento válido (Walmart)", "higher", "cx", "warehouse",
       scope="account", unit="percent", special="health"),
    _k("wm_cancellation_rate", "沃尔玛取消率", "Tasa de cancelación (Walmart)", "lower", "cx", "warehouse ops",
       scope="account", unit="percent", special="health"),
    _k("wm_refund_rate", "沃尔玛退款率（平台考核）", "Tasa de reembolsos (Walmart)", "lower", "cx", "cs ops",
       scope="account", unit="percent", special="health"),
    # Manual KPIs (Manual Actuals tab).
    _k("listing_update_rate", "Listing 更新完成率", "Listings actualizados", "higher", "process", "ops",
       unit="percent", special="manual"),
    _k("cs_reply_24h_rate", "24 小时回复率", "Respuestas en 24 h", "higher", "cx", "cs", unit="percent",
       special="manual"),
    _k("negative_review_handling_hours", "差评处理时效", "Horas para atender reseñas negativas", "lower", "cx",
       "cs", unit="hours", special="manual"),
    _k("cs_first_reply_hours", "首次响应时长", "Horas hasta la primera respuesta", "lower", "cx", "cs",
       unit="hours", special="manual"),
    _k("cs_cases_handled", "处理工单数", "Casos atendidos", "higher", "process", "cs", unit="count",
       special="manual"),
    _k("cs_rating", "客服评分", "Calificación de la atención", "higher", "cx", "cs", unit="number",
       special="manual"),
    _k("ad_tests_launched", "广告测试数量", "Pruebas de anuncios", "higher", "process", "ads", unit="count",
       special="manual"),
    _k("bsr", "BSR 排名", "Ranking BSR", "lower", "outcome", "ops", unit="rank", special="manual"),
    _k("review_count", "评论数", "Número de reseñas", "higher", "cx", "ops", unit="count", special="manual"),
    _k("review_growth", "评论增长率", "Crecimiento de reseñas", "higher", "cx", "ops", unit="percent",
       special="manual"),
    _k("rating", "评分", "Calificación", "higher", "cx", "ops", unit="number", special="manual"),
    _k("customs_clearance_days", "清关时效 (MX)", "Días de despacho aduanal", "lower", "process", "warehouse",
       unit="days", special="manual"),
    _k("cfdi_invoice_rate", "本地发票开具率 (MX, CFDI)", "Facturas CFDI emitidas", "higher", "compliance",
       "manager", unit="percent", special="manual"),
    _k("rfc_status_ok", "RFC 税号状态 (MX)", "RFC vigente", "higher", "compliance", "manager", unit="flag",
       special="manual"),
    _k("fda_registration_ok", "FDA 注册 (US)", "Registro FDA", "higher", "compliance", "manager", unit="flag",
       special="manual"),
    _k("return_label_compliance", "退货标签合规率 (US)", "Etiquetas de devolución conformes", "higher",
       "compliance", "warehouse", unit="percent", special="manual"),
    _k("event_stock_readiness", "大促备货达成率", "Inventario listo para eventos", "higher", "inventory",
       "warehouse", unit="percent", special="manual"),
]}

ROLES = ("ops", "ads", "cs", "warehouse", "manager")
SCOPES = ("account", "tier", "category", "owner", "asin", "sku", "portfolio", "campaign", "ad_group", "agent")
CAMPAIGN_SCOPES = ("portfolio", "campaign", "ad_group")
# What the Ads reports carry per campaign and ad group: a KPI over these (and TACoS, whose gmv is the sales of the
# campaign's advertised ASINs) can be measured at a campaign scope.
AD_METRICS = ("ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions")


def campaign_measurable(key: str) -> bool:
    """An ads KPI the campaign reports measure (manual KPIs are measured wherever Manual Actuals say)."""
    kpi = CATALOG[key]
    if kpi.special == "manual":
        return True
    return kpi.special is None and kpi.num in AD_METRICS and (kpi.den is None or kpi.den in (*AD_METRICS, "gmv"))
TIERS = ("new", "mature", "clearance")


def label(key: str, language: str) -> str:
    """The KPI's name in the Settings language: ``gmv`` / ``销售额`` / ``Ventas (GMV)`` (the name sellers use,
    without the English key: the key stays in the Targets row the finding points to)."""
    kpi = CATALOG.get(key)
    if kpi is None or language == "en":
        return key
    return kpi.zh if language == "zh" else kpi.es
